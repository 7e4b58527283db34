"""Tiny training settings for CPU tests: 64 px (the smallest SAEHD allows), the smallest dims, batch 2.
One model thread: on a shared 2-core machine, two OpenMP threads fighting other processes run ~8x slower."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

TINY = dict(resolution=64, ae_dims=32, e_dims=16, d_dims=16, d_mask_dims=16, batch_size=2, lr=5e-4)


def run_options(**changes):
    from doppel.train.config import RunOptions

    base = dict(workers=0, threads=1, progress=False, preview_every=0, autosave_minutes=0, backup_hours=0, val_every=1000)
    base.update(changes)
    return RunOptions(**base)


@pytest.fixture(scope="module")
def trained_model(src_faces, dst_faces, tmp_path_factory) -> Path:
    """A tiny model trained for 2 iterations (copy it before changing it)."""
    from doppel.train.trainer import train

    folder = tmp_path_factory.mktemp("trained") / "model"
    train(src_faces, dst_faces, folder, "saehd", TINY, run_options(iterations=2))
    return folder


@pytest.fixture
def model_copy(trained_model, tmp_path) -> Path:
    dest = tmp_path / "model"
    shutil.copytree(trained_model, dest)
    return dest
