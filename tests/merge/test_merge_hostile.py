"""Merge against a hostile user: the alignments of another video, a full disk during video and PNG output,
leftovers of a killed merge. One line naming the file, exit 2, earlier output intact."""

from __future__ import annotations

import errno
import json
import shutil

import pytest

from doppel.core.images import list_images
from tests.cli_helpers import one_error_line, run_doppel
from tests.merge.conftest import CLIP_FRAMES


def _merge(monkeypatch, capsys, model, dst, aligned, out, *extra):
    return run_doppel(monkeypatch, capsys, "merge", "--model", str(model), "--dst", str(dst), "--aligned", str(aligned),
                   "-o", str(out), "--no-provenance", *extra)


@pytest.mark.parametrize("change, message", [
    (lambda d: d.update(source="/elsewhere/other_video.mp4"), "lists the faces of other_video.mp4, not of dst.mp4"),
    (lambda d: d.update(frames=[{"index": i, "timestamp": None, "faces": []} for i in range(250)]), "lists 250 frames, dst.mp4 has 20"),
    (lambda d: d.update(width=1920, height=1080), "was made from 1920x1080 frames"),
])
def test_alignments_of_another_video_are_refused(tiny_model_dir, dst_clip, dst_aligned, tmp_path, monkeypatch, capsys,
                                                 change, message):
    aligned = tmp_path / "aligned"
    shutil.copytree(dst_aligned, aligned)
    index = json.loads((aligned / "alignments.json").read_text())
    change(index)
    (aligned / "alignments.json").write_text(json.dumps(index))
    out = tmp_path / "out.mp4"
    code, _, err = _merge(monkeypatch, capsys, tiny_model_dir, dst_clip, aligned, out)
    line = one_error_line(err)
    assert code == 2 and message in line and str(aligned / "alignments.json") in line and "--aligned" in line
    assert not out.exists() and not list(tmp_path.glob(".out.*"))


class _FullDisk:
    """An output container whose disk fills after `room` packets (the rest is the real container)."""

    def __init__(self, container, room: int):
        self._container, self._room = container, room

    def mux(self, packet):
        self._room -= 1
        if self._room < 0:
            raise OSError(errno.ENOSPC, "No space left on device")
        return self._container.mux(packet)

    def __getattr__(self, name):
        return getattr(self._container, name)


def test_a_full_disk_during_video_output_keeps_the_earlier_output(tiny_model_dir, dst_clip, dst_aligned, tmp_path,
                                                                  monkeypatch, capsys):
    import doppel.media.writer as writer

    out = tmp_path / "out.mp4"
    out.write_bytes(b"an earlier merge")
    (tmp_path / ".out.k2j3.part.mp4").write_bytes(b"\0" * 1_500_000)  # left by a killed merge
    real_open = writer.av.open

    def open_for_output(*args, **kwargs):
        container = real_open(*args, **kwargs)
        return _FullDisk(container, room=3) if kwargs.get("mode") == "w" else container

    monkeypatch.setattr(writer.av, "open", open_for_output)
    code, _, err = _merge(monkeypatch, capsys, tiny_model_dir, dst_clip, dst_aligned, out)
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert lines[0] == f"removed 1 leftover temporary file of an interrupted run (1.5 MB) in {tmp_path}"
    line = one_error_line("\n".join(lines[1:]))
    assert code == 2 and f"{out}: disk full while writing the video" in line
    assert out.read_bytes() == b"an earlier merge"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_a_full_disk_during_png_output_keeps_the_frames_written(tiny_model_dir, dst_clip, dst_aligned, tmp_path,
                                                                monkeypatch, capsys):
    import doppel.merge.merger as merger

    real_write, calls = merger.write_bytes, []

    def write_until_full(path, data):
        calls.append(path)
        if len(calls) > 5:
            raise OSError(errno.ENOSPC, "No space left on device")
        real_write(path, data)

    out = tmp_path / "frames"
    monkeypatch.setattr(merger, "write_bytes", write_until_full)
    code, _, err = _merge(monkeypatch, capsys, tiny_model_dir, dst_clip, dst_aligned, out)
    line = one_error_line(err)
    assert code == 2 and "disk full while writing an output frame" in line and str(out / "000005.png") in line
    assert len(list_images(out)) == 5

    monkeypatch.setattr(merger, "write_bytes", real_write)
    (out / ".000005.x9.part.png").write_bytes(b"\0" * 100)
    code, stdout, err = _merge(monkeypatch, capsys, tiny_model_dir, dst_clip, dst_aligned, out)
    assert code == 0 and "5 frames were already done" in stdout and "removed 1 leftover temporary file" in err
    assert len(list_images(out)) == CLIP_FRAMES and not list(out.glob(".*"))


def test_alignments_that_end_early_are_refused_and_a_sane_index_passes(dst_clip, dst_aligned, tmp_path):
    from doppel.core.alignments import Alignments
    from doppel.core.errors import DoppelError
    from doppel.merge.merger import check_alignments

    index = Alignments.load(dst_aligned / "alignments.json")
    check_alignments(index, dst_aligned / "alignments.json", dst_clip)  # the destination's own index
    index.frames = index.frames[: CLIP_FRAMES // 2]  # a complete index of a video half as long
    with pytest.raises(DoppelError, match=f"lists {CLIP_FRAMES // 2} frames, dst.mp4 has {CLIP_FRAMES}"):
        check_alignments(index, dst_aligned / "alignments.json", dst_clip)
