"""`doppel pair-check` on real faces: self coverage, a frontal-only source, a mirrored source."""

from __future__ import annotations

import shutil
from pathlib import Path

import cv2
import pytest
from typer.testing import CliRunner

from doppel.cli import app
from doppel.core.errors import DoppelError
from doppel.core.images import list_images, read_face, write_image
from doppel.evaluate.pair_check import PairCheckOptions, pair_check
from doppel.faces.extract import ExtractOptions, extract
from doppel.media.reader import read_frames

FAST_CLIP = "man_f_fast_motion.mp4"  # the one shared clip that turns its head both ways (about -18° to +21° yaw)
EVERY_N = 4


@pytest.fixture(scope="module")
def turning_faces(data_dir, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("turning_faces")
    extract(data_dir / "clips" / FAST_CLIP, out, ExtractOptions(size=96, every_n=EVERY_N), progress=False)
    return out


def _yaws(folder: Path) -> dict[str, float]:
    return {p.name: read_face(p).meta.pose.yaw for p in list_images(folder)}


def _subset(src: Path, names, dest: Path) -> Path:
    dest.mkdir()
    for name in names:
        shutil.copy(src / name, dest / name)
    return dest


def test_destination_against_itself_is_fully_covered(dst_faces, tmp_path):
    result = CliRunner().invoke(app, ["pair-check", "--src", str(dst_faces), "--dst", str(dst_faces), "--report", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "covered: 100 % of destination frames; face shape: similar width (fine)" in result.output
    assert (tmp_path / "coverage.png").stat().st_size > 0 and (tmp_path / "report.md").exists()
    assert not (tmp_path / "missing.png").exists()


def test_frontal_only_source_leaves_the_turned_frames_uncovered(turning_faces, tmp_path):
    yaws = _yaws(turning_faces)
    frontal = [n for n, y in yaws.items() if abs(y) < 4]
    turned = {n for n, y in yaws.items() if abs(y) > 10}
    assert len(frontal) >= 10 and len(turned) >= 6, yaws  # the clip is what the test needs
    src = _subset(turning_faces, frontal, tmp_path / "frontal")
    report = pair_check(src, turning_faces, PairCheckOptions(pose_tolerance=6))
    by_pose = {v.name: v for v in report.missing if v.reason == "pose"}
    assert turned <= set(by_pose), f"turned frames not listed: {sorted(turned - set(by_pose))}"
    assert all(abs(yaws[n]) >= 4 for n in by_pose)  # nothing frontal is blamed on pose
    for name, v in by_pose.items():
        assert v.detail.startswith("turned right" if yaws[name] > 0 else "turned left"), v
    assert "turned right beyond" in report.summary and "turned left beyond" in report.summary
    assert report.covered_share <= 1 - len(turned) / len(yaws)


def test_mirrored_source_covers_the_mirrored_yaw_range(turning_faces, data_dir, tmp_path):
    yaws = _yaws(turning_faces)
    left = [n for n, y in yaws.items() if y <= -12]
    right = [n for n, y in yaws.items() if y >= 12]
    assert len(left) >= 3 and len(right) >= 3, yaws
    # Mirror the left-turned frames themselves and extract them again, as a user would.
    wanted = {read_face(turning_faces / n).meta.source.frame_index for n in left}
    frames = tmp_path / "mirrored_frames"
    for frame in read_frames(data_dir / "clips" / FAST_CLIP, every_n=EVERY_N):
        if frame.index in wanted:
            write_image(frames / f"{frame.index:05d}.png", cv2.flip(frame.image, 1))
    mirrored = tmp_path / "mirrored_faces"
    extract(frames, mirrored, ExtractOptions(size=96), progress=False)
    assert min(_yaws(mirrored).values()) >= 8  # they now turn right

    dst = _subset(turning_faces, right, tmp_path / "dst_right")
    plain = pair_check(_subset(turning_faces, left, tmp_path / "src_left"), dst)
    assert all(not v.covered and v.reason == "pose" for v in plain.verdicts)
    assert "turned right beyond" in plain.summary
    flipped = pair_check(mirrored, dst)
    assert not [v for v in flipped.verdicts if v.reason == "pose"]


def test_folder_without_face_metadata_is_refused(dst_faces, tmp_path):
    plain = tmp_path / "plain"
    write_image(plain / "frame.jpg", cv2.imread(str(list_images(dst_faces)[0])))  # pixels only, no metadata
    with pytest.raises(DoppelError, match="none of the 1 images in the source faceset carries face metadata") as e:
        pair_check(plain, dst_faces)
    assert str(plain) in str(e.value)


def test_cli_bad_folder_is_one_line_and_exit_code_2(dst_faces, tmp_path):
    import subprocess
    import sys

    missing = tmp_path / "no_such_faceset"
    proc = subprocess.run([sys.executable, "-m", "doppel.cli", "pair-check", "--src", str(missing), "--dst", str(dst_faces)],
                          capture_output=True, text=True)
    assert proc.returncode == 2
    lines = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and str(missing) in lines[0] and "not a folder" in lines[0]
