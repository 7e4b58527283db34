"""Merge settings as JSON and as CLI flags; the preview path; errors a user can act on."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from doppel.core.errors import DoppelError
from doppel.core.images import read_image
from doppel.media.reader import read_frames
from doppel.merge.settings import MergeSettings, config_path_for, merge_settings_fields



class _Result:
    def __init__(self, returncode: int, stdout: str, stderr: str):
        self.returncode, self.stdout, self.stderr = returncode, stdout, stderr


def _doppel(capsys, *args: str) -> _Result:
    """Run the real `doppel` entry point in-process (its error handling included)."""
    from doppel.cli import main

    old = sys.argv
    sys.argv = ["doppel", *args]
    code = 0
    try:
        main()
    except SystemExit as e:
        code = int(e.code or 0)
    finally:
        sys.argv = old
    captured = capsys.readouterr()
    return _Result(code, captured.out, captured.err)


def test_settings_round_trip_and_validation(tmp_path):
    s = MergeSettings(mode="seamless", erode=-30, masked_hist_match=False, color_transfer="sot-m")
    path = tmp_path / "out.mp4.merge.json"
    s.save(path)
    assert MergeSettings.load(path) == s
    assert config_path_for(tmp_path / "out.mp4") == path
    with pytest.raises(DoppelError, match="--erode 999 is out of range"):
        MergeSettings(erode=999)
    with pytest.raises(DoppelError, match="unknown merge settings: bogus"):
        MergeSettings.from_dict({"bogus": 1})
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(DoppelError, match="bad.json"):
        MergeSettings.load(bad)
    names = {f["name"]: f for f in merge_settings_fields()}
    assert names["blur"]["min"] == 0 and names["blur"]["max"] == 400
    assert "seamless" in names["mode"]["choices"]


def test_cli_preview_saves_settings_and_config_overrides(capsys, tiny_model_dir, dst_clip, dst_aligned, tmp_path):
    config = tmp_path / "tuned.json"
    MergeSettings(mode="overlay", blur=50, color_transfer="lct").save(config)
    png = tmp_path / "look.png"
    r = _doppel(capsys, "merge", "--model", str(tiny_model_dir), "--dst", str(dst_clip), "--aligned", str(dst_aligned),
                "--config", str(config), "--erode", "20", "--frame", "4", "--preview", str(png))
    assert r.returncode == 0, r.stderr
    saved = json.loads(config_path_for(png).read_text())["settings"]
    assert saved["blur"] == 50 and saved["erode"] == 20 and saved["color_transfer"] == "lct"
    image = read_image(png)
    frame = next(iter(read_frames(dst_clip, start=4))).image
    assert image.shape == frame.shape and (image != frame).any()


def test_cli_errors_are_one_line(capsys, tiny_model_dir, dst_clip, tmp_path):
    r = _doppel(capsys, "merge", "--model", str(tiny_model_dir), "--dst", str(dst_clip), "--aligned", str(tmp_path),
                "-o", str(tmp_path / "o.mp4"))
    assert r.returncode == 2
    assert "alignments.json" in r.stderr and "doppel extract" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    r = _doppel(capsys, "merge", "--model", str(tmp_path), "--dst", str(dst_clip), "--mode", "nonsense", "-o", "x.mp4")
    assert r.returncode == 2 and "--mode must be one of" in r.stderr
    assert not (tmp_path / "o.mp4").exists()
