"""alignments.json and merge settings with wrong types: refused with one line naming the file."""

from __future__ import annotations

import json

import pytest

from doppel.core.alignments import Alignments
from doppel.core.errors import DoppelError
from doppel.merge.settings import MergeSettings
from hostile_helpers import assert_one_line_error, assert_refused_naming, doppel, nested

GOOD_INDEX = {"source": "dst.mp4", "faces_dir": ".", "fps": 30.0, "width": 64, "height": 64, "complete": True, "schema": 1,
              "frames": [{"index": 0, "timestamp": 0.0, "faces": ["000000_0.jpg"]}, {"index": 1, "timestamp": None, "faces": []}]}


def _index(**changes):
    d = json.loads(json.dumps(GOOD_INDEX))
    d.update(changes)
    return d


def _frame(**changes):
    return _index(frames=[{**GOOD_INDEX["frames"][0], **changes}])


ALIGNMENTS = {
    "whole_file_is_a_list": [GOOD_INDEX],
    "whole_file_is_text": "frames",
    "frames_is_text": _index(frames="0,1,2"),
    "frames_are_numbers": _index(frames=[1, 2]),
    "frame_is_a_list": _index(frames=[[0, 0.0, ["a.jpg"]]]),
    "frame_index_is_text": _frame(index="3"),
    "frame_index_is_negative": _frame(index=-1),
    "faces_is_text": _frame(faces="000000_0.jpg"),
    "face_name_is_object": _frame(faces=[{"name": "a.jpg"}]),
    "face_name_is_a_path": _frame(faces=["../../elsewhere/a.jpg"]),
    "timestamp_is_text": _frame(timestamp="0:01"),
    "source_is_number": _index(source=5),
    "faces_dir_is_list": _index(faces_dir=["."]),
    "fps_is_text": _index(fps="30"),
    "complete_is_text": _index(complete="yes"),
    "width_is_float": _index(width=64.5),
    "schema_is_text": _index(schema="2"),
    "nested_deeply": _index(source=nested(100)),
}


def test_alignments_nested_past_the_stack_are_refused(tmp_path):
    path = tmp_path / "alignments.json"
    path.write_text('{"frames": ' + "[" * 100_000 + "]" * 100_000 + "}")
    with pytest.raises(DoppelError, match="alignments.json"):
        Alignments.load(path)


def test_a_good_index_still_loads(tmp_path):
    path = tmp_path / "alignments.json"
    path.write_text(json.dumps(GOOD_INDEX))
    index = Alignments.load(path)
    assert index.frames[0].faces == ["000000_0.jpg"] and index.fps == 30.0 and index.complete
    index.save(tmp_path / "again.json")
    assert Alignments.load(tmp_path / "again.json") == index


SETTINGS = {
    "settings_is_a_list": [1, 2],
    "erode_is_text": {"erode": "a lot"},
    "erode_is_list": {"settings": {"erode": [1]}},
    "mode_is_number": {"mode": 5},
    "masked_hist_match_is_object": {"masked_hist_match": {"on": True}},
    "nested_past_the_limit": {"settings": {"mode": nested(100)}},
}


FILES = {"alignments.json": (Alignments.load, ALIGNMENTS), "out.merge.json": (MergeSettings.load, SETTINGS)}


@pytest.mark.parametrize("name, case", [(name, case) for name, (_, cases) in FILES.items() for case in sorted(cases)])
def test_wrong_types_are_refused_naming_the_file(tmp_path, name, case):
    load, cases = FILES[name]
    path = tmp_path / name
    path.write_text(json.dumps(cases[case]))
    assert_refused_naming(lambda: load(path), name)


def test_merge_refuses_settings_nested_past_the_stack(tmp_path, monkeypatch, capsys):
    config = tmp_path / "deep.merge.json"
    config.write_text('{"settings": ' + "[" * 100_000 + "]" * 100_000 + "}")
    r = doppel(monkeypatch, capsys, "merge", "--model", tmp_path / "model", "--dst", tmp_path / "dst", "-o", tmp_path / "out.mp4", "--config", config)
    assert_one_line_error(r, "deep.merge.json")


@pytest.mark.parametrize("case", ["frames_are_numbers", "faces_is_text"])
def test_merge_refuses_alignments_with_wrong_types(untrained_model_dir, tmp_path, case, monkeypatch, capsys):
    aligned = tmp_path / "aligned"
    aligned.mkdir()
    (aligned / "alignments.json").write_text(json.dumps(ALIGNMENTS[case]))
    (tmp_path / "dst").mkdir()
    r = doppel(monkeypatch, capsys, "merge", "--model", untrained_model_dir, "--dst", tmp_path / "dst", "--aligned", aligned, "-o", tmp_path / "out.mp4",
               "--device", "cpu")
    assert_one_line_error(r, "alignments.json")
    assert not (tmp_path / "out.mp4").exists()
