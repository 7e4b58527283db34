"""Merge fixtures: a short cut of the real destination clip (with its audio), its aligned faces,
and a tiny SAEHD trained for a few steps on real source and destination faces."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from tests.conftest import DST_CLIP

CLIP_FRAMES = 20
MODEL_RES = 64


@pytest.fixture(scope="session")
def dst_clip(data_dir, tmp_path_factory) -> Path:
    """The first 20 frames of dst_woman_b.mp4 with its audio (no provenance, so it is the real footage)."""
    from doppel.media.reader import read_frames
    from doppel.media.writer import VideoWriter

    out = tmp_path_factory.mktemp("merge_dst") / "dst.mp4"
    with VideoWriter(out, like=DST_CLIP, codec="h264", crf=10, audio_from=DST_CLIP, provenance=False) as w:
        for frame in read_frames(DST_CLIP):
            if frame.index >= CLIP_FRAMES:
                break
            w.write(frame.image, frame.timestamp)
    return out


@pytest.fixture(scope="session")
def dst_aligned(dst_clip) -> Path:
    from tests.conftest import extract_cached

    return extract_cached(dst_clip, dst_clip.parent / "aligned", f"dst-cut{CLIP_FRAMES}-128", size=128)


def _faces(folder: Path, size: int) -> torch.Tensor:
    from doppel.core.images import list_images, read_image

    images = [cv2.resize(read_image(p), (size, size), interpolation=cv2.INTER_AREA) for p in list_images(folder)]
    return torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).float() / 255.0


@pytest.fixture(scope="session")
def tiny_model_dir(src_faces, dst_aligned, tmp_path_factory) -> Path:
    """SAEHD df 64 px with small dims, trained a few steps (MSE) on real faces, saved and reloaded."""
    from doppel.models.io import save_model
    from doppel.models.registry import create_model

    torch.manual_seed(0)
    model = create_model("saehd", resolution=MODEL_RES, face_type="wf", archi="df", ae_dims=32, e_dims=16,
                         d_dims=16, d_mask_dims=16)
    src, dst = _faces(src_faces, MODEL_RES)[:16], _faces(dst_aligned, MODEL_RES)[:16]
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    model.train()
    for step in range(12):
        i = torch.randint(0, len(src), (4,))
        j = torch.randint(0, len(dst), (4,))
        out = model(src[i], dst[j], need_swap=False)
        loss = ((out.src_rgb - src[i]) ** 2).mean() + ((out.dst_rgb - dst[j]) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    folder = tmp_path_factory.mktemp("tiny_model")
    save_model(model, folder)
    return folder


@pytest.fixture(scope="session")
def tiny_model(tiny_model_dir):
    from doppel.models.io import load_model

    return load_model(tiny_model_dir, device="cpu")
