"""Shared test fixtures: real footage from ../shared/data, never copied into the repo."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("DOPPEL_DATA", ROOT.parent / "shared" / "data"))
CLIPS = DATA / "clips"
SRC_CLIP = CLIPS / "src_woman_a.mp4"
DST_CLIP = CLIPS / "dst_woman_b.mp4"

# Fuzz tests: a quick, repeatable profile for CI (the default) and a long random one for local runs:
#   HYPOTHESIS_PROFILE=long pytest tests -k fuzz
settings.register_profile("ci", max_examples=200, deadline=None, derandomize=True, database=None,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
settings.register_profile("long", max_examples=5000, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

# Tests run on CPU with few threads so that the suite behaves the same on a 2-core CI machine.
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")


@pytest.fixture(scope="session")
def data_dir() -> Path:
    if not DATA.is_dir():
        pytest.fail(f"{DATA}: the shared test data is missing (set DOPPEL_DATA or clone beside ../shared)")
    return DATA


def extract_cached(clip: Path, out: Path, key: str, **options) -> Path:
    """Extract `clip` into `out`. With DOPPEL_TEST_FACES set, the faces are kept there under `key` and
    copied from there next time: the numpy-2 test environment has no mediapipe and reads the faces that
    the main environment extracted (scripts/test fills the cache first)."""
    import json
    import shutil

    cache = os.environ.get("DOPPEL_TEST_FACES")
    kept = Path(cache) / key if cache else None
    if kept is not None and (kept / "alignments.json").exists():
        shutil.copytree(kept, out, dirs_exist_ok=True)
        alignments = json.loads((out / "alignments.json").read_text())
        alignments["source"] = str(clip)  # the same cut of the same clip, wherever this run wrote it
        (out / "alignments.json").write_text(json.dumps(alignments))
        return out
    from doppel.faces.extract import ExtractOptions, extract

    extract(clip, out, ExtractOptions(**options), progress=False)
    if kept is not None:
        shutil.copytree(out, kept.with_suffix(".part"), dirs_exist_ok=True)
        kept.with_suffix(".part").replace(kept)
    return out


def _extract_faceset(clip: Path, out: Path, frames: int, size: int) -> Path:
    every_n = max(1, 400 // frames)
    return extract_cached(clip, out, f"{clip.stem}-{frames}x{every_n}-{size}", size=size, max_frames=frames, every_n=every_n)


@pytest.fixture(scope="session")
def src_faces(data_dir, tmp_path_factory) -> Path:
    """About 40 aligned whole-face 128 px faces of the default source clip, spread over the clip."""
    return _extract_faceset(SRC_CLIP, tmp_path_factory.mktemp("src_faces"), 40, 128)


@pytest.fixture(scope="session")
def dst_faces(data_dir, tmp_path_factory) -> Path:
    """About 40 aligned whole-face 128 px faces of the default destination clip (with alignments.json)."""
    return _extract_faceset(DST_CLIP, tmp_path_factory.mktemp("dst_faces"), 40, 128)


@pytest.fixture(scope="module")
def fuzz_dir(tmp_path_factory) -> Path:
    """A folder for the files a fuzz test writes (each example overwrites the last)."""
    return tmp_path_factory.mktemp("fuzz")


@pytest.fixture(scope="session")
def untrained_model_dir(tmp_path_factory) -> Path:
    """A real, untrained model folder of a tiny SAEHD (model.json, weights, training state); copy it before changing it."""
    from hostile_helpers import tiny_checkpoint

    return tiny_checkpoint(tmp_path_factory.mktemp("tiny_model") / "model")


def _crops(clip, n: int, size: int):
    import cv2
    import numpy as np
    import torch

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
def real_pair(data_dir):
    """(src, dst): 4 real 64 px BGR frames of each default clip, N,3,64,64 in [0, 1] (model and loss tests)."""
    return _crops(data_dir / "clips" / "src_woman_a.mp4", 4, 64), _crops(data_dir / "clips" / "dst_woman_b.mp4", 4, 64)
