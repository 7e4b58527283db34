"""`doppel xseg train`: teach the segmenter the faces a user labelled.

Trains on every face that carries `xseg_polygons` in the given folders (source and destination
together, as in DeepFaceLab), with unlabelled faces of the same folders as random backgrounds.
Resumes from the model folder; writes `xseg_status.json` for the studio; stops cleanly (saving)
when `xseg.STOP` appears in the model folder.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from doppel.core.atomic import write_json
from doppel.core.device import autocast_dtype, pick_device
from doppel.core.errors import DoppelError, NoMetadataError
from doppel.core.images import list_images, read_image
from doppel.core.metadata import read_metadata
from doppel.masks import xseg_io
from doppel.masks.xseg_augment import augment
from doppel.core.face_mask import label_mask
from doppel.masks.xseg_options import XSegConfig, XSegTrainOptions
from doppel.media.progress import progress_bar

STATUS_FILE = "xseg_status.json"
STOP_FILE = "xseg.STOP"
MAX_BACKGROUNDS = 200


@dataclass(frozen=True)
class XSegTrainResult:
    model_dir: Path
    labelled_faces: int
    iteration: int
    loss: float
    stopped: bool  # True when a STOP request ended the run early


@dataclass(frozen=True)
class _Sample:
    image: np.ndarray  # BGR uint8 at the training resolution
    mask: np.ndarray  # float32 at the training resolution


def load_samples(faces_dirs: list[Path], resolution: int) -> tuple[list[_Sample], list[np.ndarray]]:
    """Labelled faces as training samples, and unlabelled ones (a bounded share) as backgrounds."""
    samples, backgrounds = [], []
    for folder in faces_dirs:
        for path in list_images(folder):
            try:
                meta = read_metadata(path)
            except NoMetadataError:
                continue
            mask = label_mask(meta, resolution)
            if mask is None and len(backgrounds) >= MAX_BACKGROUNDS:
                continue
            image = cv2.resize(read_image(path), (resolution, resolution), interpolation=cv2.INTER_AREA)
            if mask is None:
                backgrounds.append(image)
            else:
                samples.append(_Sample(image, mask))
    return samples, backgrounds or [s.image for s in samples]


def _loss(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """BCE for every pixel plus soft Dice for the overlap as a whole (robust to small faces)."""
    bce = F.binary_cross_entropy_with_logits(logits, target)
    p = torch.sigmoid(logits)
    dice = 1 - (2 * (p * target).sum((1, 2, 3)) + 1) / (p.sum((1, 2, 3)) + target.sum((1, 2, 3)) + 1)
    return bce + dice.mean()


def train_xseg(
    faces_dirs: str | Path | list[str | Path],
    model_dir: str | Path,
    options: XSegTrainOptions = XSegTrainOptions(),
    config: XSegConfig = XSegConfig(),
    progress: bool = True,
) -> XSegTrainResult:
    """Train (or resume) the XSeg model in `model_dir` on the labelled faces of `faces_dirs`."""
    dirs = [Path(d) for d in (faces_dirs if isinstance(faces_dirs, (list, tuple)) else [faces_dirs])]
    model_dir = Path(model_dir)
    device = pick_device(options.device)
    if xseg_io.exists(model_dir):
        model = xseg_io.load_xseg(model_dir, device)
    else:
        with torch.random.fork_rng(devices=[]):  # seeded weights, without touching the caller's RNG
            torch.manual_seed(options.seed)
            model = xseg_io.new_xseg(config, device)
    res = model.config.resolution
    samples, backgrounds = load_samples(dirs, res)
    if not samples:
        raise DoppelError(
            "no labelled faces (XSeg polygons) in these folders",
            dirs[0],
            hint="Label a few faces in 'doppel studio' (XSeg tab), or start from 'doppel xseg label DIR'",
        )
    model_dir.mkdir(parents=True, exist_ok=True)
    (model_dir / STOP_FILE).unlink(missing_ok=True)
    net = model.net.train().to(memory_format=torch.channels_last)
    opt = torch.optim.Adam(net.parameters(), lr=options.lr)
    rng = np.random.default_rng(options.seed + model.iteration)
    amp = autocast_dtype(device)
    autocast = torch.autocast(device.type, dtype=amp) if amp else contextlib.nullcontext()
    status = {"labelled_faces": len(samples), "target": options.iterations}

    def save() -> None:
        xseg_io.save_xseg(model, model_dir, {"labelled_faces": len(samples)})

    loss_value, stopped = float("nan"), False
    last_save = last_status = t0 = time.monotonic()
    it0 = model.iteration
    with progress_bar("xseg train", options.iterations, progress, completed=model.iteration) as bar:
        while model.iteration < options.iterations:
            batch = [
                augment(samples[i].image, samples[i].mask, backgrounds[rng.integers(len(backgrounds))], rng)
                for i in rng.integers(len(samples), size=options.batch_size)
            ]
            x = xseg_io.to_batch([b[0] for b in batch], res, device)
            y = torch.from_numpy(np.stack([b[1] for b in batch]))[:, None].to(device, non_blocking=True)
            with autocast:
                logits = net(x)
            loss = _loss(logits.float(), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            model.iteration += 1
            now = time.monotonic()
            if model.iteration % 10 == 0 or model.iteration == options.iterations:
                loss_value = float(loss.detach())  # one host sync every 10 steps, not every step
                bar.update(model.iteration, f"loss {loss_value:.4f}")
            if now - last_status > 2.0:
                last_status = now
                speed = (model.iteration - it0) / max(now - t0, 1e-6)
                write_json(model_dir / STATUS_FILE, {**status, "iteration": model.iteration, "loss": loss_value, "it_s": speed, "running": True})
                if (model_dir / STOP_FILE).exists():
                    stopped = True
                    break
            if now - last_save > options.save_every:
                save()
                last_save = now
    save()
    (model_dir / STOP_FILE).unlink(missing_ok=True)
    write_json(model_dir / STATUS_FILE, {**status, "iteration": model.iteration, "loss": loss_value, "running": False})
    net.eval()
    return XSegTrainResult(model_dir, len(samples), model.iteration, loss_value, stopped)
