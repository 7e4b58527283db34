"""benchmarks/quality.py's plumbing (no training here): pairs, options passed through, the table."""

from __future__ import annotations

import argparse
import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def quality():
    spec = importlib.util.spec_from_file_location("quality_benchmark", ROOT / "benchmarks" / "quality.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_check_pairs_share_no_clip_with_tune_pairs(quality, data_dir):
    tuned = {clip for pair in quality.TUNE_PAIRS.values() for clip in pair}
    checked = {clip for pair in quality.CHECK_PAIRS.values() for clip in pair}
    assert tuned and checked and not tuned & checked
    assert all(quality.clip_path(c).is_file() for c in tuned | checked)


MODEL_FLAGS = ("resolution", "batch_size", "archi", "face_type", "ae_dims", "e_dims", "d_dims", "d_mask_dims")


def _args(**given):
    """The parsed command line with only `given` set."""
    return argparse.Namespace(**({k: None for k in MODEL_FLAGS} | {"model_type": None, "train_arg": []} | given))


def test_model_flags_and_train_args_go_where_doppel_train_takes_them(quality):
    assert set(quality.MODEL_FLAGS) == set(MODEL_FLAGS)
    model_type, options, run = quality.model_setup(
        _args(resolution=96, batch_size=4, train_arg=["lr=3e-5", "uniform-yaw=true", "seed=3"]), "cpu")
    from doppel.models.registry import make_options

    assert model_type == "saehd-cpu"  # what `doppel swap` trains on a CPU
    resolved = make_options(model_type, **options)
    assert resolved.resolution == 96 and resolved.batch_size == 4
    assert resolved.ae_dims == 64 and resolved.random_warp is False  # the rest of the CPU default kept
    assert resolved.lr == 3e-5 and resolved.uniform_yaw is True
    assert run == {"seed": 3}
    from doppel.core.errors import DoppelError

    with pytest.raises(DoppelError, match="unknown option 'no_such_knob'"):
        quality.model_setup(_args(train_arg=["no_such_knob=1"]), "cpu")
    with pytest.raises(SystemExit, match="KEY=VALUE"):
        quality.parse_train_args(["lr"])


def test_table_prints_every_column_and_missing_values(quality):
    row = {"start": "scratch", "minutes": 5.0, "iterations": 120, "s_per_it": 2.5, "distance": 0.61, "under_0_6": 0.4,
           "detail": 0.3, "pose_error": 2.0, "expression_error": 0.05, "jitter_ratio": 1.2, "psnr_outside": None}
    lines = quality.table([row]).splitlines()
    assert lines[0].split() == ["start", "min", "iter", "s/it", "dist", "<0.6", "detail", "pose°", "expr", "jitter", "PSNR", "out"]
    assert lines[2].split() == ["scratch", "5.0", "120", "2.50", "0.610", "40%", "0.30", "2.0", "0.050", "1.20", "n/a"]


def test_checkpoints_are_sorted_budgets_and_nonsense_is_refused(quality):
    assert quality.checkpoint_targets("30,5,10,5") == [5.0, 10.0, 30.0]
    for bad in ("5,x", "", "0,10"):
        with pytest.raises(SystemExit, match="checkpoints"):
            quality.checkpoint_targets(bad)
