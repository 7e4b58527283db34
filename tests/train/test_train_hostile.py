"""Training against a hostile user: a model folder that lost its model.json, a full disk during a save,
leftovers of a killed save. One line naming the folder, exit 2, the trained work intact."""

from __future__ import annotations

import errno
from pathlib import Path

from doppel.train import checkpoint as ckpt
from tests.cli_helpers import one_error_line, run_doppel
from tests.train.conftest import TINY

FLAGS = ["--threads", "1", "--workers", "0", "--no-progress", "--val-share", "0", "--preview-every", "0",
         "--autosave-minutes", "0", "--backup-hours", "0"]


def _train(monkeypatch, capsys, src, dst, model: Path, *extra: str) -> tuple[int, str, str]:
    return run_doppel(monkeypatch, capsys, "train", "--src", src, "--dst", dst, "--model", model, *FLAGS, *extra)


def _files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_a_model_folder_without_model_json_is_never_trained_over(src_faces, dst_faces, model_copy, monkeypatch, capsys):
    (model_copy / ckpt.MODEL_JSON).unlink()
    before = _files(model_copy)
    code, _, err = _train(monkeypatch, capsys, src_faces, dst_faces, model_copy, "--iterations", "3")
    line = one_error_line(err)
    assert code == 2 and str(model_copy) in line and "model.json is missing" in line and "--new" in line
    assert _files(model_copy) == before

    # --new: a new model, the old work in the trash (restorable).
    tiny = [x for k, v in TINY.items() for x in (f"--{k.replace('_', '-')}", str(v))]
    code, out, err = _train(monkeypatch, capsys, src_faces, dst_faces, model_copy, "--new", "--iterations", "1", *tiny)
    assert code == 0, err
    assert "_trash" in out and ckpt.read_checkpoint(model_copy).state.iteration == 1
    trashed = {p.read_bytes() for p in (model_copy / "_trash").iterdir()}
    assert before[ckpt.MODEL_WEIGHTS] in trashed and before[ckpt.STATE_TENSORS] in trashed


def test_a_full_disk_during_a_save_is_one_line_and_keeps_the_last_checkpoint(src_faces, dst_faces, model_copy, monkeypatch, capsys):
    it = ckpt.read_checkpoint(model_copy).state.iteration

    def no_space(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(ckpt, "save_file", no_space)
    code, _, err = _train(monkeypatch, capsys, src_faces, dst_faces, model_copy, "--iterations", str(it + 1))
    line = one_error_line(err)
    assert code == 2 and "disk full while writing the checkpoint" in line and str(model_copy) in line
    monkeypatch.undo()
    assert ckpt.read_checkpoint(model_copy).state.iteration == it  # still loads (from last_good/ if need be)
    assert not [p for p in model_copy.rglob(".*.part*")]


def test_leftovers_of_a_killed_save_are_removed_and_reported(model_copy, capsys):
    (model_copy / ".model.x1y2.part.safetensors").write_bytes(b"\0" * 3_000_000)
    (model_copy / ".train_state.x1y2.part.json").write_bytes(b"{")
    assert ckpt.has_checkpoint(model_copy)
    assert "removed 2 leftover temporary files of an interrupted run (3.0 MB)" in capsys.readouterr().err
    assert not [p for p in model_copy.rglob(".*.part*")]
