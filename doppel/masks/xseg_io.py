"""Saving, loading and running an XSeg model: `xseg.json` (config, iteration, checksum) beside
`xseg.safetensors`. No pickle; a truncated or edited weights file is refused."""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import cv2
import numpy as np
import torch
from safetensors.torch import load as load_safetensors
from safetensors.torch import save as save_safetensors

from doppel import __version__
from doppel.core import schema
from doppel.core.atomic import write_bytes, write_json
from doppel.core.device import pick_device
from doppel.core.errors import DoppelError
from doppel.masks.xseg_net import XSegNet
from doppel.masks.xseg_options import XSegConfig

CONFIG_FILE = "xseg.json"
WEIGHTS_FILE = "xseg.safetensors"


@dataclass
class XSegModel:
    """A network with what it needs to be used and resumed."""

    net: XSegNet
    config: XSegConfig
    iteration: int = 0
    sha256: str = ""

    @property
    def device(self) -> torch.device:
        return next(self.net.parameters()).device


def exists(model_dir: str | Path) -> bool:
    return (Path(model_dir) / CONFIG_FILE).is_file()


def new_xseg(config: XSegConfig = XSegConfig(), device: torch.device | str | None = None) -> XSegModel:
    dev = device if isinstance(device, torch.device) else pick_device(device)
    return XSegModel(XSegNet(config).to(dev), config)


def save_xseg(model: XSegModel, model_dir: str | Path, extra: dict | None = None) -> None:
    """Weights first, then the JSON naming their checksum. A crash between the two leaves a pair whose
    checksums disagree, which load_xseg refuses: a half-updated model is never used silently."""
    model_dir = Path(model_dir)
    state = {k: v.detach().float().cpu().contiguous() for k, v in model.net.state_dict().items()}
    data = save_safetensors(state)
    model.sha256 = hashlib.sha256(data).hexdigest()
    write_bytes(model_dir / WEIGHTS_FILE, data)
    write_json(
        model_dir / CONFIG_FILE,
        {
            "name": "xseg",
            "config": asdict(model.config),
            "iteration": model.iteration,
            "doppel": __version__,
            "sha256": model.sha256,
            **(extra or {}),
        },
    )


def load_xseg(model_dir: str | Path, device: torch.device | str | None = None) -> XSegModel:
    """Load an XSeg model in eval mode; DoppelError when it is missing, truncated or tampered with."""
    model_dir = Path(model_dir)
    cfg_path, w_path = model_dir / CONFIG_FILE, model_dir / WEIGHTS_FILE
    if not cfg_path.is_file():
        raise DoppelError("no XSeg model here", model_dir, hint="Train one with 'doppel xseg train'")
    hint = "Retrain the XSeg model"
    info = schema.read_object(cfg_path, "XSeg model description", hint)
    try:
        known = {f.name for f in fields(XSegConfig)}
        config = XSegConfig(**{k: v for k, v in schema.field(info, "config", schema.obj).items() if k in known})
        iteration = schema.field(info, "iteration", schema.integer, 0, default=0)
        schema.field(info, "sha256", schema.sha256)
    except DoppelError as e:  # SchemaError, or XSegConfig's own check of a value
        raise schema.damaged("XSeg model description", e, cfg_path, hint) from None
    try:
        data = w_path.read_bytes()
    except OSError as e:
        raise DoppelError("XSeg weights are missing", w_path, hint="Retrain the XSeg model") from e
    digest = hashlib.sha256(data).hexdigest()
    if digest != info["sha256"]:
        raise DoppelError("XSeg weights do not match their checksum (truncated or changed)", w_path, hint="Retrain the XSeg model")
    dev = device if isinstance(device, torch.device) else pick_device(device)
    net = XSegNet(config)
    try:
        net.load_state_dict(load_safetensors(data))
    except (RuntimeError, ValueError) as e:
        raise DoppelError(f"XSeg weights do not fit the model ({e})", w_path) from e
    net.to(dev).eval()
    return XSegModel(net, config, iteration, digest)


def to_batch(images: list[np.ndarray], resolution: int, device: torch.device) -> torch.Tensor:
    """BGR uint8 images (any size) -> N,3,R,R float tensor in [0, 1] on `device`."""
    arr = np.stack([cv2.resize(im, (resolution, resolution), interpolation=cv2.INTER_AREA) for im in images])
    t = torch.from_numpy(arr).to(device, non_blocking=True)
    return t.permute(0, 3, 1, 2).float().div_(255.0).contiguous(memory_format=torch.channels_last)


@torch.inference_mode()
def predict_masks(model: XSegModel, images: list[np.ndarray], batch_size: int = 32) -> list[np.ndarray]:
    """Masks (float32 HxW in [0, 1], each at its image's size) for BGR uint8 face images."""
    model.net.eval()
    out: list[np.ndarray] = []
    res = model.config.resolution
    for i in range(0, len(images), batch_size):
        chunk = images[i : i + batch_size]
        probs = torch.sigmoid(model.net(to_batch(chunk, res, model.device)).float())[:, 0].cpu().numpy()
        for im, p in zip(chunk, probs):
            h, w = im.shape[:2]
            out.append(cv2.resize(p, (w, h), interpolation=cv2.INTER_LINEAR) if (h, w) != p.shape else p)
    return out
