"""Extraction against a hostile user: a second video into a folder of another's faces, leftovers of a
killed run, a read-only output folder. One line naming the folder, exit 2, nothing lost."""

from __future__ import annotations

import errno
import os
import tempfile
from pathlib import Path

from doppel.core.alignments import Alignments
from doppel.core.images import list_images
from tests.cli_helpers import one_error_line, run_doppel

FAST = ["--size", "64", "--every-n", "25", "--max-frames", "2"]


def test_a_second_video_into_a_folder_of_another_videos_faces_is_refused(data_dir, tmp_path, monkeypatch, capsys):
    first, second = data_dir / "clips" / "src_woman_a.mp4", data_dir / "clips" / "dst_woman_b.mp4"
    out = tmp_path / "faces"
    assert run_doppel(monkeypatch, capsys, "extract", str(first), str(out), *FAST)[0] == 0
    before = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}

    code, _, err = run_doppel(monkeypatch, capsys, "extract", str(second), str(out), *FAST)
    line = one_error_line(err)
    assert code == 2 and str(out) in line and "src_woman_a.mp4" in line and "--new" in line
    assert {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()} == before  # nothing touched

    # The same video again resumes.
    code, stdout, _ = run_doppel(monkeypatch, capsys, "extract", str(first), str(out), *FAST)
    assert code == 0 and "done by an earlier run" in stdout

    # --new: the old faces and index go to the trash, restorable byte for byte.
    code, stdout, _ = run_doppel(monkeypatch, capsys, "extract", str(second), str(out), *FAST, "--new")
    assert code == 0 and "_trash" in stdout
    assert Path(Alignments.load(out / "alignments.json").source).name == "dst_woman_b.mp4"
    trashed = {p.name for p in (out / "_trash").iterdir()}
    assert set(before) <= {n.replace("~1", "") for n in trashed} | {"journal.json"}
    restored = tmp_path / "restored"
    (out / "_trash").rename(tmp_path / "trash_copy")
    restored.mkdir()
    (tmp_path / "trash_copy").rename(restored / "_trash")
    assert run_doppel(monkeypatch, capsys, "trash", "restore", str(restored))[0] == 0
    assert {p.name: p.read_bytes() for p in restored.iterdir() if p.is_file()} == before


def test_faces_from_elsewhere_are_not_mixed_with_an_extraction(data_dir, tmp_path, monkeypatch, capsys, src_faces):
    out = tmp_path / "faces"
    out.mkdir()
    face = list_images(src_faces)[0]
    (out / face.name).write_bytes(face.read_bytes())
    code, _, err = run_doppel(monkeypatch, capsys, "extract", str(data_dir / "clips" / "dst_woman_b.mp4"), str(out), *FAST)
    assert code == 2 and "faces from elsewhere" in one_error_line(err)
    assert [p.name for p in out.iterdir()] == [face.name]


def test_leftovers_of_a_killed_extraction_are_removed_and_reported(data_dir, tmp_path, monkeypatch, capsys):
    clip, out = data_dir / "clips" / "src_woman_a.mp4", tmp_path / "faces"
    assert run_doppel(monkeypatch, capsys, "extract", str(clip), str(out), *FAST)[0] == 0
    (out / ".000000_0.k3j4.part.jpg").write_bytes(b"x" * 2_000_000)
    (out / ".alignments.abc.part.json").write_bytes(b"{")
    code, _, err = run_doppel(monkeypatch, capsys, "extract", str(clip), str(out), *FAST)
    assert code == 0 and "removed 2 leftover temporary files" in err and "2.0 MB" in err
    assert not [p for p in out.iterdir() if ".part" in p.name]


def _refuse_writes_in(monkeypatch, folder: Path) -> None:
    """A read-only folder. Root ignores the mode bits, so there the file system's answer is simulated."""
    folder.chmod(0o555)
    if os.geteuid() != 0:
        return
    real_mkstemp = tempfile.mkstemp

    def mkstemp(*args, dir=None, **kwargs):
        if dir is not None and Path(dir).resolve() == folder.resolve():
            raise PermissionError(errno.EACCES, "Permission denied", str(folder))
        return real_mkstemp(*args, dir=dir, **kwargs)

    monkeypatch.setattr(tempfile, "mkstemp", mkstemp)


def test_read_only_output_folder_is_one_clear_error(data_dir, tmp_path, monkeypatch, capsys):
    out = tmp_path / "faces"
    out.mkdir()
    _refuse_writes_in(monkeypatch, out)
    try:
        code, _, err = run_doppel(monkeypatch, capsys, "extract", str(data_dir / "clips" / "src_woman_a.mp4"), str(out), *FAST)
    finally:
        out.chmod(0o755)
    line = one_error_line(err)
    assert code == 2 and str(out) in line and "writable" in line
    assert list(out.iterdir()) == []
