"""Batched model prediction for merging: faces in, swapped faces and masks out, on the model's device."""

from __future__ import annotations

import contextlib
from typing import Iterator

import cv2
import numpy as np
import torch

from doppel.core.device import autocast_dtype
from doppel.merge.render import MergeFace, Prediction, needs_dst_mask
from doppel.merge.settings import MergeSettings


def default_batch(resolution: int) -> int:
    """Faces per model call: larger batches use the cores better; memory grows with resolution squared."""
    return 32 if resolution <= 64 else 16 if resolution <= 128 else 8


def forward_workers(device: torch.device) -> int:
    """Forward passes to run at once: two on a CPU with two or more threads, else one.

    On the CPU the model shares the cores with decoding, rendering and encoding. One forward pass
    over all cores waits at an OpenMP barrier after every operation: when another thread holds one
    of the cores, the pass stalls (spin-waiting) until it gets it back. Two passes on half the
    threads each have no barrier between them, so the cores stay busy whichever thread runs.
    """
    return 2 if device.type == "cpu" and torch.get_num_threads() >= 2 else 1


class Predictor:
    """Runs `model.swap` (and, for learned-dst masks, the dst reconstruction) on batches of faces."""

    def __init__(self, model, settings: MergeSettings, xseg_model=None, batch_size: int | None = None):
        self.model = model.eval()
        self.batch_size = max(1, int(batch_size or default_batch(model.resolution)))
        self.device = next(model.parameters()).device
        self.resolution = model.resolution
        self.face_type = model.face_type
        self.settings = settings
        self.xseg_model = xseg_model
        self._morph = settings.morph if getattr(model, "has_morph", False) else None
        self.workers = forward_workers(self.device)
        # Faces per model call in the merge pipeline. Single-threaded CPU passes cost the same per
        # face at 4 faces as at 32 (measured at 64 and 128 px), and small chunks keep the merge's
        # tail short (the last chunk's forward pass overlaps nothing): on the CPU a batch is split
        # into two chunks per worker. Elsewhere a chunk is the whole batch.
        self.chunk = self.batch_size if self.workers == 1 else max(1, self.batch_size // (2 * self.workers))
        # channels_last is faster for convolutions on CUDA and on CPU (oneDNN): about 1.3x at 64 px on 2 cores.
        self.model = self.model.to(memory_format=torch.channels_last)

    @contextlib.contextmanager
    def merge_threads(self) -> Iterator[None]:
        """Thread settings while `workers` forward passes run beside rendering (restored after).

        With two CPU workers each gets half of torch's threads, and OpenCV works on the calling
        thread only: its thread pool would hand each small warp or blur to threads that compete
        with the model for the same cores.
        """
        if self.workers == 1:
            yield
            return
        old_torch, old_cv = torch.get_num_threads(), cv2.getNumThreads()
        torch.set_num_threads(max(1, old_torch // self.workers))
        cv2.setNumThreads(1)
        try:
            yield
        finally:
            torch.set_num_threads(old_torch)
            cv2.setNumThreads(old_cv)

    def _autocast(self):
        # fp32 on the CPU: bf16 would round the face to 1/128 near white (two levels of 255), and
        # the CPU merge is not held back by the model.
        dtype = autocast_dtype(self.device, "fp32" if self.device.type == "cpu" else "auto")
        if dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=dtype)

    def predict(self, faces: list[MergeFace]) -> list[Prediction]:
        out: list[Prediction] = []
        for i in range(0, len(faces), self.batch_size):
            out.extend(self._predict_batch(faces[i : i + self.batch_size]))
        return out

    @torch.inference_mode()
    def _predict_batch(self, faces: list[MergeFace]) -> list[Prediction]:
        batch = torch.from_numpy(np.stack([f.image for f in faces])).permute(0, 3, 1, 2)
        batch = batch.to(self.device, non_blocking=True).contiguous(memory_format=torch.channels_last)
        with self._autocast():
            rgb, mask = self.model.swap(batch, morph=self._morph) if self._morph is not None else self.model.swap(batch)
            dst_mask = self.model(batch, batch, need_swap=False).dst_mask if needs_dst_mask(self.settings) else None
        # One transfer back to the host per batch.
        rgb_np = rgb.float().clamp_(0, 1).permute(0, 2, 3, 1).cpu().numpy()
        mask_np = mask.float().clamp_(0, 1)[:, 0].cpu().numpy() if mask is not None else None
        dst_np = dst_mask.float().clamp_(0, 1)[:, 0].cpu().numpy() if dst_mask is not None else None
        preds = [
            Prediction(
                rgb=np.ascontiguousarray(rgb_np[i]),
                mask=None if mask_np is None else mask_np[i],
                dst_mask=None if dst_np is None else dst_np[i],
            )
            for i in range(len(faces))
        ]
        if self.xseg_model is not None and "xseg-prd" in self.settings.mask_mode:
            from doppel.masks.xseg_io import predict_masks

            images = [(p.rgb * 255.0 + 0.5).astype(np.uint8) for p in preds]
            for p, m in zip(preds, predict_masks(self.xseg_model, images)):
                p.xseg = m
        return preds
