"""Streaming merge with a tiny trained model on a real destination clip."""

from __future__ import annotations

import shutil
from pathlib import Path

import av
import numpy as np
import pytest

from doppel.core.alignments import Alignments
from doppel.core.images import list_images, read_image
from doppel.media.reader import read_frames
from doppel.merge.merger import OutputOptions, merge
from doppel.merge.settings import MergeSettings
from tests.merge.conftest import CLIP_FRAMES


def _decoded(path: Path) -> list[np.ndarray]:
    return [f.image for f in read_frames(path)]


def _streams(path: Path) -> dict:
    with av.open(str(path)) as c:
        v = c.streams.video[0]
        info = {"fps": float(v.average_rate), "size": (v.width, v.height)}
        audio = [s for s in c.streams if s.type == "audio"]
        if audio:
            a = audio[0]
            pkts = [p for p in c.demux(a) if p.pts is not None]
            end = max(p.pts + (p.duration or 0) for p in pkts)
            info["audio_s"] = float((end - (a.start_time or 0)) * a.time_base)
    return info


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(255.0**2 / mse)


@pytest.fixture(scope="module")
def alpha_frames(tiny_model, dst_clip, dst_aligned, tmp_path_factory) -> Path:
    """A PNG sequence with alpha: where the face went, per frame."""
    out = tmp_path_factory.mktemp("merge_alpha") / "frames"
    merge(None, dst_clip, out, MergeSettings(mode="raw-predict"), dst_aligned,
          OutputOptions(alpha=True, provenance=False), model=tiny_model, progress=False)
    return out


def test_raw_predict_changes_only_the_face(tiny_model, dst_clip, dst_aligned, alpha_frames, tmp_path):
    out = tmp_path / "raw.mkv"
    result = merge(None, dst_clip, out, MergeSettings(mode="raw-predict"), dst_aligned,
                   OutputOptions(codec="ffv1", provenance=False), model=tiny_model, progress=False)
    assert result.frames == CLIP_FRAMES and result.frames_with_faces == CLIP_FRAMES
    src_info, out_info = _streams(dst_clip), _streams(out)
    assert out_info["fps"] == pytest.approx(src_info["fps"])
    assert out_info["size"] == src_info["size"]
    assert abs(out_info["audio_s"] - src_info["audio_s"]) <= 1.0 / src_info["fps"]
    before, after = _decoded(dst_clip), _decoded(out)
    assert len(after) == len(before) == CLIP_FRAMES
    alphas = [read_image_unchanged(p)[..., 3] for p in list_images(alpha_frames)]
    for b, a, alpha in zip(before, after, alphas):
        outside = alpha == 0
        assert 0.05 < (~outside).mean() < 0.6  # a face-sized region was swapped
        assert _psnr(a[outside], b[outside]) >= 40.0
        assert np.array_equal(a[outside], b[outside])  # lossless and no watermark: exact
        assert np.abs(a[~outside].astype(int) - b[~outside]).mean() > 3.0  # and the face did change


def read_image_unchanged(path: Path) -> np.ndarray:
    import cv2

    return cv2.imread(str(path), cv2.IMREAD_UNCHANGED)


def test_overlay_with_provenance_keeps_the_background(tiny_model, dst_clip, dst_aligned, alpha_frames, tmp_path):
    out = tmp_path / "overlay.mkv"
    merge(None, dst_clip, out, MergeSettings(mode="overlay", color_transfer="rct", blur=0), dst_aligned,
          OutputOptions(codec="ffv1"), model=tiny_model, progress=False)
    before, after = _decoded(dst_clip), _decoded(out)
    assert len(after) == CLIP_FRAMES
    alphas = [read_image_unchanged(p)[..., 3] for p in list_images(alpha_frames)]
    for b, a, alpha in zip(before, after, alphas):
        outside = alpha == 0
        assert _psnr(a[outside], b[outside]) >= 40.0  # only the watermark touches the background
    assert (out.parent / "overlay.mkv.merge.json").exists()


def test_frames_without_a_face_pass_through(tiny_model, dst_clip, dst_aligned, tmp_path):
    aligned = tmp_path / "aligned"
    shutil.copytree(dst_aligned, aligned)
    index = Alignments.load(aligned / "alignments.json")
    removed = {5, 6, 7}
    for entry in index.frames:  # as if a user deleted those faces while curating
        if entry.index in removed:
            for name in entry.faces:
                (aligned / name).unlink()
    out = tmp_path / "frames"
    result = merge(None, dst_clip, out, MergeSettings(), aligned, OutputOptions(provenance=False),
                   model=tiny_model, progress=False)
    assert result.frames_with_faces == CLIP_FRAMES - len(removed)
    before = _decoded(dst_clip)
    written = list_images(out)
    assert len(written) == CLIP_FRAMES
    for i, path in enumerate(written):
        same = np.array_equal(read_image(path), before[i])
        assert same == (i in removed), f"frame {i}"


def test_png_sequence_resumes(tiny_model, dst_clip, dst_aligned, tmp_path):
    out = tmp_path / "frames"
    merge(None, dst_clip, out, MergeSettings(), dst_aligned, OutputOptions(provenance=False), model=tiny_model, progress=False)
    files = list_images(out)
    for p in files[10:]:
        p.unlink()
    result = merge(None, dst_clip, out, MergeSettings(), dst_aligned, OutputOptions(provenance=False),
                   model=tiny_model, progress=False)
    assert result.skipped == 10 and result.frames == CLIP_FRAMES - 10
    assert len(list_images(out)) == CLIP_FRAMES


def test_every_output_is_tagged_with_the_model(tiny_model, dst_clip, dst_aligned, tmp_path):
    from doppel.inspection.report import inspect

    video = tmp_path / "tagged.mp4"
    merge(None, dst_clip, video, MergeSettings(mode="overlay"), dst_aligned, model=tiny_model, progress=False)
    frames = tmp_path / "tagged_frames"
    merge(None, dst_clip, frames, MergeSettings(mode="overlay"), dst_aligned, model=tiny_model, progress=False)
    for path in (video, next(iter(sorted(frames.glob("*.png"))))):
        report = inspect(path, max_frames=5)
        assert report.tag and report.tag["synthetic"] is True
        assert report.tag["model_id"] == tiny_model.name
        assert report.frames_marked == report.frames_checked > 0


def test_pipelined_merge_matches_rendering_frame_by_frame(tiny_model, dst_clip, dst_aligned, tmp_path):
    """Forward workers, chunks and the render hand-over change nothing: every frame in its place,
    the same as rendering it alone; the thread settings are restored afterwards."""
    import cv2
    import torch

    from doppel.merge.faces import load_faces, prepare_faces, smooth_faces
    from doppel.merge.predict import Predictor
    from doppel.merge.render import render_frame

    # No colour transfer or hist-match: on this barely trained, nearly flat face they turn the model's
    # float noise (one thread against two: 1e-5 levels) into a few levels.
    settings = MergeSettings(mode="overlay", color_transfer="none", blur=40)
    threads = torch.get_num_threads(), cv2.getNumThreads()
    out = tmp_path / "frames"
    merge(None, dst_clip, out, settings, dst_aligned, OutputOptions(provenance=False), model=tiny_model,
          progress=False, batch_size=6)  # chunks of 1-6 faces, so several are in flight at once
    assert (torch.get_num_threads(), cv2.getNumThreads()) == threads
    _, by_frame = load_faces(dst_aligned / "alignments.json")
    tracks = smooth_faces(by_frame, settings.smooth_landmarks)
    predictor = Predictor(tiny_model, settings)
    for frame, path in zip(read_frames(dst_clip), list_images(out), strict=True):
        faces = prepare_faces(frame.image, tracks[frame.index], predictor.face_type, predictor.resolution)
        alone = render_frame(frame.image, faces, predictor.predict(faces), settings)
        # The model's float noise may still flip a rounding: a level at most.
        assert np.abs(read_image(path).astype(int) - alone).max() <= 1, f"frame {frame.index}"


def test_an_error_in_a_forward_worker_stops_the_merge(tiny_model, dst_clip, dst_aligned, tmp_path, monkeypatch):
    calls = []

    def failing_swap(x, morph=None):
        calls.append(len(x))
        if len(calls) == 3:
            raise RuntimeError("model failed")
        return type(tiny_model).swap(tiny_model, x)

    monkeypatch.setattr(tiny_model, "swap", failing_swap)
    out = tmp_path / "out.mp4"
    with pytest.raises(RuntimeError, match="model failed"):
        merge(None, dst_clip, out, MergeSettings(), dst_aligned, model=tiny_model, progress=False, batch_size=4)
    assert not out.exists()  # the video appears only when complete
