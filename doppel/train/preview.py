"""Preview grid: one row per face, columns src, src recon, dst, dst recon, swap (dst -> src)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import torch

from doppel.core.images import write_image

COLUMNS = ("src", "src recon", "dst", "dst recon", "swap")


def _to_uint8(t: torch.Tensor) -> np.ndarray:
    return (t.detach().float().clamp(0, 1).permute(0, 2, 3, 1).cpu().numpy() * 255).round().astype(np.uint8)


def preview_grid(src: torch.Tensor, src_recon: torch.Tensor, dst: torch.Tensor, dst_recon: torch.Tensor, swap: torch.Tensor, label: str = "") -> np.ndarray:
    """BGR uint8 image: rows of [src, src recon, dst, dst recon, swap], with a header line."""
    cols = [_to_uint8(t) for t in (src, src_recon, dst, dst_recon, swap)]
    rows = [np.concatenate([c[i] for c in cols], axis=1) for i in range(cols[0].shape[0])]
    grid = np.concatenate(rows, axis=0)
    size = cols[0].shape[1]
    header = np.full((22, grid.shape[1], 3), 32, np.uint8)
    scale = 0.4 * min(1.0, size / 96)  # keep the labels inside narrow columns
    for j, name in enumerate(COLUMNS):
        cv2.putText(header, name, (j * size + 2, 15), cv2.FONT_HERSHEY_SIMPLEX, scale, (230, 230, 230), 1, cv2.LINE_AA)
    if label:
        footer = np.full((18, grid.shape[1], 3), 32, np.uint8)
        cv2.putText(footer, label, (3, 13), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (230, 230, 230), 1, cv2.LINE_AA)
        return np.concatenate([header, grid, footer], axis=0)
    return np.concatenate([header, grid], axis=0)


def write_preview(folder: Path, grid: np.ndarray, iteration: int, keep_history: bool) -> Path:
    """previews/latest.png (atomic), and previews/it00001234.png when keeping the history."""
    folder = Path(folder)
    latest = folder / "latest.png"
    write_image(latest, grid)
    if keep_history:
        write_image(folder / f"it{iteration:08d}.png", grid)
    return latest
