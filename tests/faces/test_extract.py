"""End-to-end extraction on real clips: detection rate, files and metadata, alignments, bad input, resume."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from doppel.core.alignments import Alignments
from doppel.core.errors import DoppelError, NoMetadataError
from doppel.core.images import list_images, read_face
from doppel.core.metadata import read_metadata, strip_metadata
from doppel.faces.extract import ExtractOptions, extract
from doppel.media.reader import TruncatedVideoError

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("clip", ["src_woman_a.mp4", "dst_woman_b.mp4"])
def test_faces_found_in_98_percent_of_frames(data_dir, tmp_path, clip):
    # Every other frame keeps the tracking path in use; the slow test below runs every frame.
    result = extract(data_dir / "clips" / clip, tmp_path, ExtractOptions(size=64, every_n=2), progress=False)
    assert result.frames_seen >= 220
    assert result.frames_without_face <= 0.02 * result.frames_seen
    index = Alignments.load(tmp_path / "alignments.json")
    assert index.complete and len(index.frames) == result.frames_seen
    assert sum(len(f.faces) for f in index.frames) == result.faces_written == len(list_images(tmp_path))


@pytest.mark.slow
@pytest.mark.parametrize("clip", ["src_woman_a.mp4", "dst_woman_b.mp4"])
def test_faces_found_in_98_percent_of_all_frames(data_dir, tmp_path, clip):
    result = extract(data_dir / "clips" / clip, tmp_path, ExtractOptions(size=64), progress=False)
    assert result.frames_without_face <= 0.02 * result.frames_seen


def test_extracted_face_carries_its_metadata(src_faces, data_dir):
    files = list_images(src_faces)
    assert len(files) >= 38
    face = read_face(files[5])
    meta = face.meta
    assert face.image.shape == (128, 128, 3) and meta.size == 128 and meta.face_type.value == "whole-face"
    assert meta.source.filename == "src_woman_a.mp4" and meta.source.width == 512
    assert files[5].name == f"{meta.source.frame_index:06d}_0.jpg"
    assert meta.source.timestamp == pytest.approx(meta.source.frame_index / 30, abs=0.02)
    assert meta.detector == "mediapipe" and 0 < meta.score <= 1 and meta.mesh.shape == (478, 3)
    # face_to_source maps the face landmarks back onto the frame landmarks
    back = meta.landmarks @ meta.face_to_source[:, :2].T + meta.face_to_source[:, 2]
    assert np.abs(back - meta.source_landmarks).max() < 0.1
    # and the aligned pixels are the frame's pixels there
    from doppel.media.reader import read_frames

    frame = next(f.image for f in read_frames(data_dir / "clips" / "src_woman_a.mp4") if f.index == meta.source.frame_index)
    rewarped = cv2.warpAffine(frame, meta.source_to_face, (128, 128))
    assert np.abs(rewarped.astype(float) - face.image).mean() < 6


def test_dst_faces_have_an_alignments_index(dst_faces):
    index = Alignments.load(dst_faces / "alignments.json")
    assert [f.index for f in index.frames] == list(range(0, 400, 10))
    for entry in index.frames:
        for name in entry.faces:
            assert read_metadata(dst_faces / name).source.frame_index == entry.index


def test_stripped_metadata_is_reported_not_crashed_on(src_faces, tmp_path):
    stripped = tmp_path / "stripped.jpg"
    stripped.write_bytes(strip_metadata(list_images(src_faces)[0].read_bytes()))
    assert cv2.imread(str(stripped)) is not None  # still a valid image
    with pytest.raises(NoMetadataError) as err:
        read_face(stripped)
    assert "stripped.jpg" in str(err.value) and "\n" not in str(err.value)


def test_single_image_and_face_type(data_dir, tmp_path):
    photo = data_dir / "multiface" / "faceapi_bbt_groups" / "bbt3.jpg"
    result = extract(photo, tmp_path, ExtractOptions(size=96, face_type="head", jpeg_quality=80), progress=False)
    assert result.faces_written == 5 and result.alignments_path is None
    names = sorted(p.name for p in list_images(tmp_path))
    assert names == [f"bbt3_{i}.jpg" for i in range(5)]
    assert read_metadata(tmp_path / "bbt3_0.jpg").face_type.value == "head"


def test_truncated_video_keeps_faces_and_says_where(data_dir, tmp_path, faststart_copy):
    whole = faststart_copy(data_dir / "clips" / "src_woman_a.mp4", tmp_path / "whole.mp4")
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(whole.read_bytes()[: int(whole.stat().st_size * 0.3)])
    out = tmp_path / "faces"
    with pytest.raises(TruncatedVideoError) as err:
        extract(cut, out, ExtractOptions(size=64, every_n=4), progress=False)
    stopped = err.value.frames_decoded
    assert 20 < stopped < 448 and f"after frame {stopped}" in str(err.value) and "cut.mp4" in str(err.value)
    index = Alignments.load(out / "alignments.json")
    assert not index.complete
    assert [f.index for f in index.frames] == list(range(0, stopped, 4))
    assert len(list_images(out)) >= 0.98 * len(index.frames)


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda d: d / "missing.mp4", "file not found"),
        (lambda d: _write(d / "notes.txt", b"hello"), "not a video or an image"),
        (lambda d: _write(d / "fake.mp4", b"\x00" * 1000), "not a readable video"),
        (lambda d: _write(d / "broken.jpg", b"\xff\xd8garbage"), "not a readable image"),
    ],
)
def test_bad_input_is_one_clear_error(tmp_path, make, message):
    bad = make(tmp_path)
    with pytest.raises(DoppelError) as err:
        extract(bad, tmp_path / "out", ExtractOptions(size=64), progress=False)
    assert message in str(err.value) and bad.name in str(err.value) and "\n" not in str(err.value)
    assert not list((tmp_path / "out").glob("*.jpg")) if (tmp_path / "out").exists() else True


def test_no_face_anywhere_is_an_error(tmp_path):
    rng = np.random.default_rng(0)
    folder = tmp_path / "frames"
    folder.mkdir()
    for i in range(3):
        cv2.imwrite(str(folder / f"{i}.png"), cv2.GaussianBlur(rng.integers(0, 255, (240, 320, 3), np.uint8), (9, 9), 3))
    with pytest.raises(DoppelError, match="no face found in any of the 3 frames"):
        extract(folder, tmp_path / "out", ExtractOptions(size=64), progress=False)
    index = Alignments.load(tmp_path / "out" / "alignments.json")
    assert [f.faces for f in index.frames] == [[], [], []]


def test_cli_reports_bad_input_on_one_line(tmp_path, monkeypatch, capsys):
    from doppel.cli import main

    bad = _write(tmp_path / "fake.mp4", b"not a video")
    monkeypatch.setattr(sys, "argv", ["doppel", "extract", str(bad), str(tmp_path / "out"), "--size", "64"])
    with pytest.raises(SystemExit) as exit_:
        main()
    assert exit_.value.code == 2
    lines = [ln for ln in capsys.readouterr().err.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:") and "fake.mp4" in lines[0]


def test_cli_extracts_and_summarises(data_dir, tmp_path, monkeypatch, capsys):
    from doppel.cli import main

    out = tmp_path / "faces"
    monkeypatch.setattr(sys, "argv", ["doppel", "extract", str(data_dir / "clips" / "man_h_glasses.mp4"), str(out),
                                      "--size", "64", "--every-n", "25", "--max-frames", "4", "--face-type", "f"])
    main()
    assert "4 faces written" in capsys.readouterr().out
    assert read_metadata(out / "000075_0.jpg").face_type.value == "full"


def test_changed_options_on_resume_are_refused(src_faces, tmp_path, data_dir):
    with pytest.raises(DoppelError, match="size=128"):
        extract(data_dir / "clips" / "src_woman_a.mp4", src_faces, ExtractOptions(size=256, max_frames=1), progress=False)


def test_resume_after_kill_gives_the_same_faces(data_dir, tmp_path, monkeypatch):
    import doppel.faces.extract as extract_module

    clip = data_dir / "clips" / "dst_woman_b.mp4"
    options = dict(size=64, every_n=5, max_frames=60)
    clean = tmp_path / "clean"
    extract(clip, clean, ExtractOptions(**options, workers=1), progress=False)

    # The killed and the resumed runs split the input between two workers: same faces as one clean pass.
    options["workers"] = 2
    monkeypatch.setattr(extract_module, "MIN_FRAMES_PER_WORKER", 10)
    killed = tmp_path / "killed"
    code = (f"import doppel.faces.extract as m; m.MIN_FRAMES_PER_WORKER = 10; "
            f"m.extract({str(clip)!r}, {str(killed)!r}, m.ExtractOptions(**{options!r}), progress=False)")
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not _recorded_frames(killed / "alignments.json"):
        time.sleep(0.02)
    proc.kill()  # SIGKILL: no cleanup runs
    proc.wait()
    partial = {p.name for p in list_images(killed)}
    assert 0 < len(partial) < 60, "the run was not interrupted mid-way"
    for path in list_images(killed):  # whatever the kill left is whole
        read_face(path)

    result = extract(clip, killed, ExtractOptions(**options), progress=False)
    assert result.frames_resumed > 0
    assert {p.name for p in list_images(killed)} == {p.name for p in list_images(clean)}
    assert not [p for p in killed.iterdir() if ".part" in p.name]
    resumed, fresh = Alignments.load(killed / "alignments.json"), Alignments.load(clean / "alignments.json")
    assert [(f.index, f.faces) for f in resumed.frames] == [(f.index, f.faces) for f in fresh.frames]


def test_disk_full_is_one_clear_error_and_keeps_earlier_faces(data_dir, tmp_path, monkeypatch):
    import errno

    import doppel.faces.extract as extract_module

    real_write, calls = extract_module.write_face, []

    def write_until_full(path, *args, **kwargs):
        calls.append(path)
        if len(calls) > 5:
            raise OSError(errno.ENOSPC, "No space left on device")
        real_write(path, *args, **kwargs)

    monkeypatch.setattr(extract_module, "write_face", write_until_full)
    out = tmp_path / "faces"
    with pytest.raises(DoppelError) as err:
        extract(data_dir / "clips" / "src_woman_a.mp4", out, ExtractOptions(size=64, every_n=10), progress=False)
    assert "disk full" in str(err.value) and str(out) in str(err.value) and "\n" not in str(err.value)
    written = sorted(p.name for p in list_images(out))
    assert len(written) == 5
    recorded = [n for f in Alignments.load(out / "alignments.json").frames for n in f.faces]
    assert set(recorded) <= set(written)


def test_debug_frames_are_written(data_dir, tmp_path):
    debug = tmp_path / "debug"
    extract(data_dir / "clips" / "man_h_glasses.mp4", tmp_path / "out",
            ExtractOptions(size=64, max_frames=3, every_n=50, debug_dir=str(debug)), progress=False)
    drawn = sorted(p.name for p in debug.glob("*.jpg"))
    assert drawn == ["000000.jpg", "000050.jpg", "000100.jpg"]


def _recorded_frames(index_path: Path) -> int:
    try:
        return len(json.loads(index_path.read_text())["frames"])
    except (OSError, ValueError, KeyError):
        return 0


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def test_max_faces_keeps_the_largest_and_min_face_filters(data_dir, tmp_path):
    photo = data_dir / "multiface" / "faceapi_bbt_groups" / "bbt4.jpg"
    extract(photo, tmp_path / "all", ExtractOptions(size=64), progress=False)
    def box_side(path):
        x0, y0, x1, y1 = read_metadata(path).source_rect
        return max(x1 - x0, y1 - y0)

    widths = {p.name: box_side(p) for p in list_images(tmp_path / "all")}
    assert len(widths) == 6
    assert [widths[f"bbt4_{i}.jpg"] for i in range(6)] == sorted(widths.values(), reverse=True)  # largest box first
    extract(photo, tmp_path / "two", ExtractOptions(size=64, max_faces=2), progress=False)
    assert sorted(p.name for p in list_images(tmp_path / "two")) == ["bbt4_0.jpg", "bbt4_1.jpg"]
    with pytest.raises(DoppelError, match="no face found"):
        extract(photo, tmp_path / "none", ExtractOptions(size=64, min_face=400), progress=False)


def test_parallel_workers_give_the_same_faces_as_one(data_dir, tmp_path, monkeypatch):
    import doppel.faces.extract as extract_module

    monkeypatch.setattr(extract_module, "MIN_FRAMES_PER_WORKER", 10)  # split a short run into 3 stretches
    clip = data_dir / "clips" / "dst_woman_b.mp4"
    runs = {}
    for workers in (1, 3):
        out = tmp_path / f"w{workers}"
        result = extract(clip, out, ExtractOptions(size=64, every_n=2, max_frames=30, workers=workers), progress=False)
        index = Alignments.load(out / "alignments.json")
        assert result.frames_seen == 30 and not index.complete  # stopped by max_frames, not at the end
        runs[workers] = (index, {p.name: read_metadata(p) for p in list_images(out)})
    (one, faces1), (three, faces3) = runs[1], runs[3]
    assert [(f.index, f.faces) for f in one.frames] == [(f.index, f.faces) for f in three.frames]
    assert [f.index for f in three.frames] == list(range(0, 60, 2)) and len(faces3) >= 29
    assert sorted(faces1) == sorted(faces3)
    # Stretches 2 and 3 start with a fresh detection where one worker was tracking: landmarks barely differ.
    diff = [np.abs(faces1[n].source_landmarks - faces3[n].source_landmarks).mean() for n in faces1]
    assert max(diff) < 3.0


def test_a_worker_process_that_dies_is_reported_and_earlier_faces_are_kept(data_dir, tmp_path):
    """A worker killed mid-run (here it exits at frame 40 of the second stretch) must not hang the run:
    the main process reports it, stops the other worker, and the index holds only complete frames."""
    clip = data_dir / "clips" / "dst_woman_b.mp4"
    out = tmp_path / "out"
    code = (
        "import os, sys, doppel.faces.extract as m\n"
        "m.MIN_FRAMES_PER_WORKER = 10\n"
        "real = m._write_faces\n"
        "def dying(out, src, frame, *a):\n"
        "    if frame.index == 40:\n"
        "        os._exit(3)\n"
        "    return real(out, src, frame, *a)\n"
        "m._write_faces = dying\n"
        f"m.extract({str(clip)!r}, {str(out)!r}, m.ExtractOptions(size=64, max_frames=60, workers=2), progress=False)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=180)
    assert proc.returncode != 0
    assert "stopped unexpectedly (exit code 3)" in proc.stderr
    index = Alignments.load(out / "alignments.json")
    assert index.frames and all(f.index != 40 for f in index.frames)
    for f in index.frames:  # every recorded frame's faces are whole files
        for name in f.faces:
            read_face(out / name)
