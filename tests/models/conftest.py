"""Real frames for model tests: centre crops of the default clips, resized to the model size."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch


def _crops(clip, n: int, size: int) -> torch.Tensor:
    from doppel.media.reader import read_frames

    images = []
    for frame in read_frames(clip, every_n=37):
        h, w = frame.image.shape[:2]
        s = min(h, w) * 3 // 5  # the clips are head-and-shoulders: the middle holds the face
        y0, x0 = (h - s) // 2 - s // 8, (w - s) // 2
        crop = frame.image[max(0, y0):y0 + s, x0:x0 + s]
        images.append(cv2.resize(crop, (size, size), interpolation=cv2.INTER_AREA))
        if len(images) == n:
            break
    arr = np.stack(images).astype(np.float32) / 255.0
    return torch.from_numpy(arr).permute(0, 3, 1, 2).contiguous()


@pytest.fixture(scope="session")
def real_pair(data_dir) -> tuple[torch.Tensor, torch.Tensor]:
    """(src, dst): 4 real 64 px BGR frames of each default clip, N,3,64,64 in [0, 1]."""
    return _crops(data_dir / "clips" / "src_woman_a.mp4", 4, 64), _crops(data_dir / "clips" / "dst_woman_b.mp4", 4, 64)



@pytest.fixture(scope="session")
def real_faces(src_faces, dst_faces) -> dict:
    """4 aligned real faces per identity at 64 and 96 px, from the shared extraction fixtures."""
    from models_helpers import load_faces

    return {size: {"src": load_faces(src_faces, 4, size), "dst": load_faces(dst_faces, 4, size)} for size in (64, 96)}
