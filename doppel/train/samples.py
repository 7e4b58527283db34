"""Training batches: which faces to draw, colour transfer, augmentation, and the worker processes.

The batch of iteration k is a pure function of (seed, k): its random numbers come from generators
seeded with both. So the order of batches does not depend on how many worker processes made them,
and resuming at iteration k needs no sampler state beyond the seed: exact resume for free.

On CPU the workers do everything (1 thread each) while the main process trains. On CUDA the
workers only pick and recolour faces (uint8), and `augment` runs batched on the GPU (grid_sample).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from doppel.train.augment import AugmentSettings, augment
from doppel.train.faceset import TrainingFaces

YAW_BINS = 128
SIDES = ("src", "dst")


@dataclass(frozen=True)
class SampleSettings:
    batch_size: int
    src: AugmentSettings = field(default_factory=AugmentSettings)
    dst: AugmentSettings = field(default_factory=AugmentSettings)
    uniform_yaw: bool = False
    ct_mode: str | None = None  # recolour src samples toward random dst faces
    seed: int = 0


def yaw_bins(yaw: np.ndarray, bins: int = YAW_BINS) -> list[np.ndarray]:
    """Face indices grouped into `bins` equal yaw ranges (empty bins dropped)."""
    lo, hi = float(yaw.min()), float(yaw.max())
    if hi - lo < 1e-6:
        return [np.arange(len(yaw))]
    which = np.minimum(((yaw - lo) / (hi - lo) * bins).astype(np.int64), bins - 1)
    return [np.flatnonzero(which == b) for b in range(bins) if np.any(which == b)]


def pick(rng: np.random.Generator, n_faces: int, count: int, bins: list[np.ndarray] | None) -> np.ndarray:
    if bins is None:
        return rng.integers(0, n_faces, count)
    chosen = rng.integers(0, len(bins), count)
    return np.array([bins[b][rng.integers(0, len(bins[b]))] for b in chosen], np.int64)


def _to_tensor(images: np.ndarray, masks: np.ndarray, ems: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
    img = torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2)
    msk = torch.from_numpy(np.stack([masks, ems], axis=1))
    return img, msk


class _SharedFaces:
    """A faceset's arrays as shared-memory tensors: worker processes receive handles, not copies."""

    def __init__(self, faces: TrainingFaces):
        self.images = torch.from_numpy(faces.images).share_memory_()
        self.masks = torch.from_numpy(faces.masks).share_memory_()
        self.em_masks = torch.from_numpy(faces.em_masks).share_memory_()

    def __len__(self) -> int:
        return self.images.shape[0]

    def take(self, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        i = torch.from_numpy(idx)
        return self.images[i].numpy(), self.masks[i].numpy(), self.em_masks[i].numpy()


class BatchSource(torch.utils.data.Dataset):
    """`source[k]` is the batch of iteration k. With `augment_here=False` it returns raw uint8 faces
    (and the per-batch generator seed), to be augmented on the training device by `finish_batch`."""

    def __init__(self, src: TrainingFaces, dst: TrainingFaces, settings: SampleSettings, augment_here: bool = True, salt: int = 0, rank: int = 0):
        self.settings = settings
        self.augment_here, self.salt, self.rank = augment_here, salt, rank
        self.faces = {"src": _SharedFaces(src)}
        self.faces["dst"] = self.faces["src"] if dst is src else _SharedFaces(dst)
        self.bins = {
            "src": yaw_bins(src.yaw) if settings.uniform_yaw else None,
            "dst": yaw_bins(dst.yaw) if settings.uniform_yaw else None,
        }

    def __len__(self) -> int:
        return 2**62

    def seeds(self, k: int) -> list[int]:
        return [self.settings.seed, k, self.salt, self.rank]

    def raw(self, k: int) -> dict:
        rng = np.random.default_rng(self.seeds(k))
        n = self.settings.batch_size
        out: dict = {}
        for side in SIDES:
            faces = self.faces[side]
            images, masks, ems = faces.take(pick(rng, len(faces), n, self.bins[side]))
            if side == "src" and self.settings.ct_mode:
                images = self._color_transfer(images, masks, rng)
            out[f"{side}_image"], out[f"{side}_masks"] = _to_tensor(images, masks, ems)
        out["seed"] = torch.tensor(int(rng.integers(0, 2**62)))
        return out

    def _color_transfer(self, images: np.ndarray, masks: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        from doppel.imaging.color import color_transfer

        dst = self.faces["dst"]
        refs, ref_masks, _ = dst.take(rng.integers(0, len(dst), len(images)))
        out = np.empty_like(images)
        for i in range(len(images)):
            target = images[i].astype(np.float32) / 255.0
            ref = refs[i].astype(np.float32) / 255.0
            moved = color_transfer(self.settings.ct_mode, target, ref, masks[i] / 255.0, ref_masks[i] / 255.0)
            out[i] = np.clip(np.round(moved * 255.0), 0, 255).astype(np.uint8)
        return out

    def __getitem__(self, k: int) -> dict:
        raw = self.raw(k)
        return finish_batch(raw, self.settings) if self.augment_here else raw


def finish_batch(raw: dict, settings: SampleSettings, device: torch.device | None = None) -> dict:
    """Augment a raw batch (on `device`, else where it lies): model inputs, targets and masks in [0,1]."""
    if "src_input" in raw:
        return raw
    gen = torch.Generator().manual_seed(int(raw["seed"]))
    out = {}
    for side, aug in (("src", settings.src), ("dst", settings.dst)):
        image = raw[f"{side}_image"]
        masks = raw[f"{side}_masks"]
        if device is not None:
            image = image.to(device, non_blocking=True)
            masks = masks.to(device, non_blocking=True)
        image = image.float().div_(255.0)
        masks = masks.float().div_(255.0)
        inp, target, m = augment(image, masks, aug, gen, hsv=(side == "src"))
        out[f"{side}_input"] = inp
        out[f"{side}_target"] = target
        out[f"{side}_mask"] = m[:, 0:1]
        out[f"{side}_em_mask"] = m[:, 1:2]
    return out


def plain_batch(faces: TrainingFaces, index: np.ndarray, side: str) -> dict:
    """Un-augmented faces (for validation and previews): input == target."""
    image, masks = _to_tensor(faces.images[index], faces.masks[index], faces.em_masks[index])
    image = image.float() / 255.0
    masks = masks.float() / 255.0
    return {f"{side}_input": image, f"{side}_target": image, f"{side}_mask": masks[:, 0:1], f"{side}_em_mask": masks[:, 1:2]}


def _worker_init(_worker_id: int) -> None:
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the main process's business
    torch.set_num_threads(1)  # the main process owns the cores for the model
    try:
        import cv2

        cv2.setNumThreads(1)
    except ImportError:
        pass


def batch_loader(source: BatchSource, start: int, workers: int, prefetch: int = 2, pin_memory: bool = False):
    """Iterator over (k, batch) for k = start, start+1, ... made by `workers` processes (0 = inline)."""
    indices = range(start, 2**62)
    if workers <= 0:
        return ((k, source[k]) for k in indices)
    loader = torch.utils.data.DataLoader(
        source,
        batch_size=None,
        sampler=indices,
        num_workers=workers,
        worker_init_fn=_worker_init,
        prefetch_factor=prefetch,
        persistent_workers=False,
        # spawn, not fork: a process that already runs threads (mediapipe, OpenMP, cv2) can deadlock
        # a forked child; the facesets travel as shared-memory handles, so spawning stays cheap
        multiprocessing_context="spawn",
        pin_memory=pin_memory,
    )
    return zip(indices, loader)
