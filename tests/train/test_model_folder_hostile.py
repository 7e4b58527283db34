"""model.json and train_state.json with wrong types: `doppel train` (and `export-dfm`, which reads
model.json alone) refuses with one line naming the file, never a traceback; nothing is written."""

from __future__ import annotations

import json
import shutil

import pytest

from doppel.train.checkpoint import read_checkpoint
from hostile_helpers import assert_one_line_error, assert_refused_naming, doppel, restore_rng_and_reset


def _edit(path, change):
    record = json.loads(path.read_text())
    change(record)
    path.write_text(json.dumps(record))


def _set(key, value):
    return lambda d: d.__setitem__(key, value)


def _set_in(outer, key, value):
    return lambda d: d[outer].__setitem__(key, value)


MODEL_JSON = {
    "name_is_number": _set("name", 5),
    "options_is_text": _set("options", "abc"),
    "options_is_list": _set("options", [1, 2]),
    "option_value_is_object": _set_in("options", "resolution", {"px": 64}),
    "weights_is_text": _set("weights", "model.safetensors"),
    "weights_bytes_is_text": _set_in("weights", "bytes", "12"),
    "weights_sha_is_number": _set_in("weights", "sha256", 12),
    "weights_file_is_a_path": _set_in("weights", "file", "../../elsewhere.safetensors"),
    "format_version_is_text": _set("format_version", "2"),
}

TRAIN_STATE = {
    "iteration_is_text": _set("iteration", "12"),
    "iteration_is_negative": _set("iteration", -5),
    "salt_is_text": _set("salt", "x"),
    "elapsed_is_nan": lambda d: d.__setitem__("elapsed_seconds", float("nan")),
    "extra_is_text": _set("extra", "abc"),
    "optimizers_is_list": _set("optimizers", []),
    "optimizer_scalars_is_text": lambda d: d["optimizers"]["model"].__setitem__("scalars", "x"),
    "modules_is_text": _set("modules", "disc"),
    "rng_is_text": _set("rng", "x"),
    "numpy_rng_too_short": _set_in("rng", "numpy", ["MT19937", 3]),
    "numpy_rng_position_is_text": lambda d: d["rng"]["numpy"].__setitem__(1, "3"),
    "python_rng_state_too_short": lambda d: d["rng"]["python"].__setitem__(1, [1, 2, 3]),
    "python_rng_version_is_list": lambda d: d["rng"]["python"].__setitem__(0, [3]),
}


@pytest.fixture
def model_dir(untrained_model_dir, tmp_path):
    dest = tmp_path / "model"
    shutil.copytree(untrained_model_dir, dest)
    for name in ("src", "dst"):
        (tmp_path / name).mkdir()
    return dest


def _train(monkeypatch, capsys, model_dir):
    root = model_dir.parent
    return doppel(monkeypatch, capsys, "train", "--src", root / "src", "--dst", root / "dst", "--model", model_dir, "--iterations", "1",
                  "--workers", "0", "--no-progress")


def _files(folder):
    return {p.relative_to(folder): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _refused_naming(model_dir, name):
    assert_refused_naming(lambda: read_checkpoint(model_dir), name)


@pytest.mark.parametrize("case", sorted(MODEL_JSON))
def test_model_json_with_wrong_types_is_refused_naming_it(model_dir, case):
    _edit(model_dir / "model.json", MODEL_JSON[case])
    _refused_naming(model_dir, "model.json")


@pytest.mark.parametrize("case", sorted(TRAIN_STATE))
def test_train_state_with_wrong_types_is_refused_naming_it(model_dir, case):
    _edit(model_dir / "train_state.json", TRAIN_STATE[case])
    _refused_naming(model_dir, "train_state.json")


@pytest.mark.parametrize("file, case", [("model.json", "options_is_text"), ("model.json", "weights_is_text"),
                                        ("train_state.json", "salt_is_text"), ("train_state.json", "extra_is_text")])
def test_train_command_refuses_in_one_line_and_writes_nothing(model_dir, file, case, monkeypatch, capsys):
    _edit(model_dir / file, (MODEL_JSON if file == "model.json" else TRAIN_STATE)[case])
    before = _files(model_dir)
    assert_one_line_error(_train(monkeypatch, capsys, model_dir), file)
    assert _files(model_dir) == before


@pytest.mark.parametrize("text", ["[1, 2]", "[" * 100_000 + "]" * 100_000])
def test_export_refuses_model_json_that_is_not_an_object(model_dir, text, tmp_path, monkeypatch, capsys):
    (model_dir / "model.json").write_text(text)
    assert_one_line_error(doppel(monkeypatch, capsys, "export-dfm", model_dir, tmp_path / "out.dfm"), "model.json")


def test_a_valid_checkpoint_still_loads_and_its_rng_restores(untrained_model_dir):
    loaded = read_checkpoint(untrained_model_dir)
    assert loaded.state.iteration == 3 and "model" in loaded.optimizers
    restore_rng_and_reset(loaded.rng)
