"""`doppel swap` resumes after an interruption in each stage (real clips, a tiny model, few iterations)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from doppel.core.errors import DoppelError
from doppel.media.reader import read_frames
from doppel.pipeline.swap import SwapOptions, swap
from tests.conftest import DST_CLIP, SRC_CLIP

FRAMES = 16
TINY = dict(resolution=64, face_type="wf", archi="df", ae_dims=32, e_dims=16, d_dims=16, d_mask_dims=16, batch_size=2)


def _cut(clip: Path, out: Path, frames: int) -> Path:
    from doppel.media.writer import VideoWriter

    with VideoWriter(out, like=clip, crf=12, audio_from=clip, provenance=False) as w:
        for f in read_frames(clip):
            if f.index >= frames:
                break
            w.write(f.image, f.timestamp)
    return out


def _interrupting(fn, at: int):
    """`fn` wrapped so that its Nth call raises KeyboardInterrupt (as Ctrl-C would); binds as a method too."""
    calls = [0]

    def wrapper(*a, **k):
        calls[0] += 1
        if calls[0] == at:
            raise KeyboardInterrupt
        return fn(*a, **k)

    return wrapper


def test_swap_resumes_after_interruption_in_each_stage(data_dir, tmp_path, monkeypatch):
    import doppel.faces.extract as extract_mod
    import doppel.merge.merger as merger_mod
    from doppel.train.objective import Objective

    src = _cut(SRC_CLIP, tmp_path / "src.mp4", FRAMES)
    dst = _cut(DST_CLIP, tmp_path / "dst.mp4", FRAMES)
    ws, out = tmp_path / "ws", tmp_path / "out" / "swap.mp4"
    options = SwapOptions(iterations=3, face_size=64, device="cpu", model_options=TINY, progress=False)

    def run_interrupted(module, name, at):
        with monkeypatch.context() as m:
            m.setattr(module, name, _interrupting(getattr(module, name), at))
            with pytest.raises((KeyboardInterrupt, DoppelError)):
                swap(src, dst, out, ws, options)

    run_interrupted(extract_mod, "_write_faces", 5)  # source extraction stops after 4 frames
    assert not (ws / ".swap" / "extract-src.done").exists()
    run_interrupted(Objective, "step", 3)  # training stops after 2 iterations (and saves)
    assert (ws / ".swap" / "extract-dst.done").exists() and not (ws / ".swap" / "train.done").exists()
    run_interrupted(merger_mod, "render_layers", 6)  # merge stops after 5 frames
    assert (ws / ".swap" / "train.done").exists() and not out.exists()

    result = swap(src, dst, out, ws, options)
    status = {s.name: s.status for s in result.stages}
    assert status == {"extract-src": "skipped", "extract-dst": "skipped", "train": "skipped", "merge": "done"}
    assert result.iterations == 3 and result.dst_faces == FRAMES
    assert len(list(read_frames(out))) == FRAMES

    again = swap(src, dst, out, ws, options)  # everything done: nothing runs
    assert all(s.status == "skipped" for s in again.stages)

    # The before/after picture: three rows (destination, result, source) of four face tiles.
    import cv2

    strip = swap(src, dst, out, ws, replace(options, strip=str(tmp_path / "before-after.jpg")))
    picture = cv2.imread(str(tmp_path / "before-after.jpg"))
    assert picture is not None and picture.shape[0] == 3 * picture.shape[1] // 4
    assert all(s.status == "skipped" for s in strip.stages)


def test_swap_starts_from_a_pretrained_model_and_takes_its_architecture(data_dir, tmp_path):
    import cv2

    from doppel.core.images import list_images
    from doppel.faces.extract import ExtractOptions, extract
    from doppel.train.checkpoint import read_model_json
    from doppel.train.config import RunOptions
    from doppel.train.trainer import train

    src = _cut(SRC_CLIP, tmp_path / "src.mp4", 8)
    dst = _cut(DST_CLIP, tmp_path / "dst.mp4", 8)
    generic, pre = tmp_path / "generic", tmp_path / "pre"
    # "Other people" for the test, in a folder per clip, as `doppel extract` leaves them.
    extract(dst, generic / "clip_b", ExtractOptions(size=128, device="cpu"), progress=False)
    train(generic, None, pre, "saehd", dict(TINY, pretrain=True),
          RunOptions(iterations=2, device="cpu", progress=False, preview_every=0, val_share=0.0))

    with pytest.raises(DoppelError, match="not both"):
        swap(src, dst, tmp_path / "x.mp4", tmp_path / "ws-x", SwapOptions(pretrained=str(pre), model_type="saehd",
                                                                         iterations=1, progress=False))
    ws, out = tmp_path / "ws", tmp_path / "swap.mp4"
    result = swap(src, dst, out, ws, SwapOptions(pretrained=str(pre), iterations=3, device="cpu", progress=False))
    saved = read_model_json(ws / "model")
    # The pretrained model's tiny architecture, not the CPU default's dims; pretraining switched off.
    assert saved["options"]["ae_dims"] == TINY["ae_dims"] and saved["options"]["pretrain"] is False
    assert result.iterations == 3 and len(list(read_frames(out))) == 8
    face = cv2.imread(str(list_images(ws / "data_src" / "aligned")[0]))
    assert face.shape[:2] == (128, 128)  # twice the pretrained model's 64 px
