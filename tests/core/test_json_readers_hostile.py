"""Every JSON (and TOML) file doppel reads from disk, each damaged three ways: nested far too deep,
well-formed with wrong types, and not UTF-8. Each reader answers with one line naming the file, or,
where its design is to redo or ignore a damaged file (stage markers, status files, the recorded input
of an extraction folder), with that fallback: never another exception."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable, NamedTuple

import cv2
import numpy as np
import pytest

from hostile_helpers import assert_one_line_error, assert_refused_naming, doppel

DEEP = b"[" * 100_000
NOT_UTF8 = b'{"name": "\xff\xfe\xfd"}'
REFUSED = object()  # the reader must raise a one-line DoppelError naming the file


class Reader(NamedTuple):
    file: str  # the damaged file, relative to the test folder
    read: Callable[[Path], Any]  # reads it through the public function (or the studio handler)
    wrong_types: bytes  # well-formed, with a wrong-typed field the reader uses
    fallback: Any = REFUSED  # what the reader gives instead of an error, where its design is to redo or ignore


def _json(value: Any) -> bytes:
    return json.dumps(value).encode()


def _rename(root: Path) -> Any:
    from doppel.curate.rename import finish_pending_renames

    return finish_pending_renames(root)


def _trash(root: Path) -> Any:
    from doppel.core.trash import read_journal

    return read_journal(root)


def _config(root: Path, name: str) -> Any:
    from doppel.train.config import read_config

    return read_config(root / name)


def _xseg(root: Path) -> Any:
    from doppel.masks.xseg_io import load_xseg

    return load_xseg(root / "xseg", device="cpu")


def _extract(root: Path) -> Any:
    from doppel.faces.extract import extract

    image = root / "one.png"
    cv2.imwrite(str(image), np.zeros((32, 32, 3), np.uint8))
    return extract(image, root / "out", progress=False)


def _recorded_input(root: Path) -> Any:
    from doppel.faces.same_source import recorded_input

    return recorded_input(root / "out")


def _marker(root: Path) -> Any:
    from doppel.core.workspace import Workspace
    from doppel.pipeline.swap import _read_marker

    return _read_marker(Workspace(root), "train")


def _studio(root: Path):
    from doppel.studio.server import Studio

    return Studio(root=root.resolve())


def _request(**query):
    from doppel.studio.http import Request

    return Request("GET", "/", query, {})


def _train_status(root: Path) -> Any:
    from doppel.studio import api_train

    return api_train.status(_studio(root), _request(model="model"))["status"]


def _train_options(root: Path) -> Any:
    from doppel.studio import api_train

    options = api_train.status(_studio(root), _request(model="model"))["options"]
    assert options["model_type"] is None and "model/model.json" in options["error"], options
    assert str(root) not in options["error"]
    return None


def _xseg_status(root: Path) -> Any:
    from doppel.studio import api_xseg

    return api_xseg.status(_studio(root), _request())["progress"]


def _fix_options(root: Path) -> Any:
    from doppel.studio.api_fix import _extract_options

    return _extract_options(root / "aligned")


READERS = {
    "rename journal": Reader(".doppel_rename.json", _rename,
                             _json({"phase": "moving", "renames": [["a.jpg", 5, "b.jpg"]]})),
    "trash journal": Reader("_trash/journal.json", _trash,
                            _json({"entries": [{"original": "a.jpg", "trashed": "a.jpg", "time": 5, "reason": "x"}]})),
    "train config (JSON)": Reader("config.json", lambda root: _config(root, "config.json"),
                                  _json({"src": ["a", "b"], "iterations": 10})),
    "train config (TOML)": Reader("config.toml", lambda root: _config(root, "config.toml"), b"src = [1, 2]\n"),
    "XSeg model": Reader("xseg/xseg.json", _xseg, _json({"config": {"resolution": "big"}, "sha256": "0" * 64})),
    "extract.json": Reader("out/extract.json", _extract, _json({"options": {"size": [512]}})),
    "recorded input": Reader("out/extract.json", _recorded_input, _json(["x.mp4"]), fallback=None),
    "swap stage marker": Reader(".swap/train.done", _marker, _json({"key": {}, "facts": {"iterations": "many"}}),
                                fallback=None),
    "studio: training status": Reader("model/status.json", _train_status, _json(["training"]), fallback=None),
    "studio: model.json": Reader("model/model.json", _train_options,
                                 _json({"format": "doppel-model", "name": 5, "options": {}}), fallback=None),
    "studio: XSeg status": Reader("xseg/xseg_status.json", _xseg_status, _json("running"), fallback=None),
    "studio: fix options": Reader("aligned/extract.json", _fix_options, _json({"options": {"size": "big"}})),
}
DAMAGE = {"deep": DEEP, "wrong types": None, "not UTF-8": NOT_UTF8}


@pytest.mark.parametrize("damage", DAMAGE)
@pytest.mark.parametrize("reader", READERS)
def test_damaged_file_is_one_line_or_fallback(tmp_path, reader, damage):
    r = READERS[reader]
    path = tmp_path / r.file
    path.parent.mkdir(parents=True, exist_ok=True)
    content = DAMAGE[damage]
    path.write_bytes(r.wrong_types if content is None else content)
    if r.fallback is REFUSED:
        line = assert_refused_naming(lambda: r.read(tmp_path), path.name)
        assert "Traceback" not in line
    else:
        assert r.read(tmp_path) == r.fallback


def test_train_config_deep_toml_is_refused(tmp_path):
    from doppel.train.config import read_config

    path = tmp_path / "config.toml"
    path.write_text("a = " + "[" * 100_000)
    assert_refused_naming(lambda: read_config(path), "config.toml")


def test_train_cli_names_a_damaged_config(tmp_path, monkeypatch, capsys):
    path = tmp_path / "config.json"
    path.write_bytes(_json({"src": {"a": 1}}))
    result = doppel(monkeypatch, capsys, "train", "--src", tmp_path, "--model", tmp_path / "m", "--config", path)
    assert_one_line_error(result, "config.json")


def test_intact_files_still_read(tmp_path):
    """The checks refuse damage, not the files doppel writes."""
    from doppel.core.atomic import write_json
    from doppel.core.trash import read_journal
    from doppel.train.config import read_config

    write_json(tmp_path / "_trash" / "journal.json",
               {"schema": 1, "entries": [{"original": "a.jpg", "trashed": "a.jpg", "time": "t", "reason": "r", "frame": 3}]})
    assert read_journal(tmp_path)[0].frame == 3
    (tmp_path / "c.toml").write_text('src = "faces"\n[model]\nresolution = 64\n')
    assert read_config(tmp_path / "c.toml") == {"src": "faces", "resolution": 64}
    write_json(tmp_path / ".swap" / "train.done", {"key": {"a": 1}, "facts": {"iterations": 5, "status": "done"}, "detail": "d"})
    assert _marker(tmp_path)["facts"]["iterations"] == 5
    write_json(tmp_path / "model" / "status.json", {"state": "training", "pid": 10 ** 30})
    assert _train_status(tmp_path)["alive"] is False


def test_damaged_rename_journal_path_is_refused(tmp_path):
    """A journal naming a path outside the folder never moves a file there."""
    from doppel.curate.rename import finish_pending_renames

    (tmp_path / ".doppel_rename.json").write_bytes(_json({"phase": "moving", "renames": [["a.jpg", ".t.jpg", "../b.jpg"]]}))
    assert_refused_naming(lambda: finish_pending_renames(tmp_path), ".doppel_rename.json")
