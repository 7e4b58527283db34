"""Training runs on real faces (tiny model, CPU): loss falls, validation is logged, resume is exact,
bad checkpoints are refused, NaN is rolled back, fixed options stay fixed."""

from __future__ import annotations

import csv
import json
import math

import pytest
import torch

from doppel.core.errors import DoppelError
from doppel.train import checkpoint as ckpt
from doppel.train.trainer import train

from conftest import TINY, run_options


def _losses(folder):
    with open(folder / "history.csv", newline="") as f:
        return {int(r["iteration"]): r for r in csv.DictReader(f)}


def test_loss_falls_and_validation_is_logged(src_faces, dst_faces, tmp_path):
    folder = tmp_path / "model"
    opts = dict(TINY, random_warp=False)
    result = train(src_faces, dst_faces, folder, "saehd", opts,
                   run_options(iterations=12, val_every=4, preview_every=12, val_share=0.1))
    assert result.iteration == 12 and result.stop_reason == "target"
    rows = _losses(folder)
    assert sorted(rows) == list(range(1, 13))
    train_loss = [float(rows[i]["loss"]) for i in range(1, 13)]
    assert sum(train_loss[-3:]) / 3 < sum(train_loss[:3]) / 3 * 0.97
    val = [float(rows[i]["val_loss"]) for i in (4, 8, 12)]
    assert all(math.isfinite(v) for v in val) and val[-1] < val[0]
    assert rows[5]["val_loss"] == ""  # only every val_every iterations
    assert (folder / "previews" / "latest.png").stat().st_size > 1000
    assert (folder / "history.png").exists()
    status = json.loads((folder / "status.json").read_text())
    assert status["iteration"] == 12 and status["state"] == "stopped" and status["val_loss"] == pytest.approx(val[-1])
    from doppel.models import load_model

    model = load_model(folder)  # what merge loads: a complete model on its own
    rgb, mask = model.swap(torch.rand(1, 3, 64, 64))
    assert rgb.shape == (1, 3, 64, 64) and mask.shape == (1, 1, 64, 64)


def test_resume_gives_the_same_losses_as_one_run(src_faces, dst_faces, tmp_path):
    straight, split = tmp_path / "straight", tmp_path / "split"
    train(src_faces, dst_faces, straight, "saehd", TINY, run_options(iterations=4, seed=7))
    train(src_faces, dst_faces, split, "saehd", TINY, run_options(iterations=2, seed=7))
    assert ckpt.read_checkpoint(split).state.iteration == 2
    result = train(src_faces, dst_faces, split, None, {}, run_options(iterations=4, seed=7))
    assert result.iteration == 4
    a, b = _losses(straight), _losses(split)
    assert sorted(b) == [1, 2, 3, 4]
    for i in (3, 4):
        assert float(a[i]["loss"]) == pytest.approx(float(b[i]["loss"]), abs=1e-6, rel=1e-6)
    wa = ckpt.load_file(str(straight / ckpt.MODEL_WEIGHTS))
    wb = ckpt.load_file(str(split / ckpt.MODEL_WEIGHTS))
    assert max(float((wa[k] - wb[k]).abs().max()) for k in wa) < 1e-6


def test_fixed_options_cannot_change_on_resume(model_copy, src_faces, dst_faces):
    with pytest.raises(DoppelError, match="cannot change on resume: resolution"):
        train(src_faces, dst_faces, model_copy, None, {"resolution": 128}, run_options(iterations=3))
    with pytest.raises(DoppelError, match="holds a saehd model"):
        train(src_faces, dst_faces, model_copy, "quick96", {}, run_options(iterations=3))


def test_stop_request_saves_and_exits(model_copy, src_faces, dst_faces):
    (model_copy / "STOP").touch()
    result = train(src_faces, dst_faces, model_copy, None, {}, run_options(iterations=50))
    assert result.stop_reason == "stop-request" and result.iteration == 2
    assert not (model_copy / "STOP").exists()
    assert json.loads((model_copy / "status.json").read_text())["stop_reason"] == "stop-request"


@pytest.mark.parametrize("damage", ["truncate-weights", "tamper-weights", "tamper-state", "truncate-state"])
def test_damaged_checkpoint_is_refused(model_copy, src_faces, dst_faces, damage):
    name = ckpt.MODEL_WEIGHTS if damage.endswith("weights") else ckpt.STATE_TENSORS
    path = model_copy / name
    data = bytearray(path.read_bytes())
    if damage.startswith("truncate"):
        data = data[: len(data) // 2]
    else:
        data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    before = (model_copy / "history.csv").read_bytes()
    with pytest.raises(DoppelError, match="checksum|truncated|does not match"):
        ckpt.read_checkpoint(model_copy)
    with pytest.raises(DoppelError):
        train(src_faces, dst_faces, model_copy, None, {}, run_options(iterations=4))
    assert (model_copy / "history.csv").read_bytes() == before  # nothing was touched
    assert path.read_bytes() == bytes(data)


def test_interrupted_save_falls_back_to_last_good(model_copy, src_faces, dst_faces):
    # a save cut off half-way: the marker is there and the new weights do not match the state
    (model_copy / ckpt.SAVING_MARKER).write_text("{}")
    (model_copy / ckpt.MODEL_WEIGHTS).write_bytes(b"half a file")
    loaded = ckpt.read_checkpoint(model_copy)
    assert loaded.fell_back and loaded.state.iteration in (0, 2)


@pytest.mark.parametrize("sync_every", [1, 3])
def test_nan_loss_rolls_back(src_faces, dst_faces, tmp_path, monkeypatch, capsys, sync_every):
    """sync_every 3 is how CUDA runs: losses are read every few steps, so the NaN step was applied."""
    from doppel.train import losses, trainer

    monkeypatch.setattr(trainer, "sync_interval", lambda device: sync_every)

    real = losses.saehd_generator_loss
    calls = {"n": 0}

    def poisoned(out, batch, options, discriminators=None):
        total, parts = real(out, batch, options, discriminators)
        calls["n"] += 1
        if calls["n"] == 3:  # the third step's loss is NaN
            return total * float("nan"), parts
        return total, parts

    monkeypatch.setattr(losses, "saehd_generator_loss", poisoned)
    folder = tmp_path / "model"
    result = train(src_faces, dst_faces, folder, "saehd", TINY, run_options(iterations=4, val_share=0, progress=True))
    assert result.rollbacks == 1 and result.iteration == 4
    assert "rolled back to the checkpoint of iteration 0" in capsys.readouterr().out
    rows = _losses(folder)
    assert sorted(rows) == [1, 2, 3, 4] and all(math.isfinite(float(r["loss"])) for r in rows.values())
    weights = ckpt.load_file(str(folder / ckpt.MODEL_WEIGHTS))
    assert all(torch.isfinite(w).all() for w in weights.values())
    assert ckpt.read_checkpoint(folder).state.rollbacks == 1


def test_backup_request_copies_a_valid_checkpoint(model_copy, src_faces, dst_faces):
    (model_copy / "BACKUP").touch()
    result = train(src_faces, dst_faces, model_copy, None, {}, run_options(iterations=3))
    assert result.iteration == 3 and not (model_copy / "BACKUP").exists()
    backups = list((model_copy / "backups").iterdir())
    assert len(backups) == 1 and backups[0].name.endswith("-it00000003")
    assert ckpt.read_checkpoint(backups[0]).state.iteration == 3
    for old in range(3):  # only the newest `backups_keep` stay
        ckpt.backup(model_copy, 3, keep=2)
    assert len(list((model_copy / "backups").iterdir())) == 2
