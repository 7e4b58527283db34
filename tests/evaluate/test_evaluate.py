"""`doppel evaluate` on real footage: the destination against itself, and source frames as a "result"."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from doppel.cli import app
from doppel.core.errors import DoppelError
from doppel.core.images import list_images, read_face
from doppel.evaluate import identity_scores
from doppel.evaluate.evaluate import EvaluateOptions, evaluate, source_identity
from doppel.evaluate.measures import PSNR_CAP_DB

# One frame in 40 keeps these tests to a few seconds each (the dlib embedding is ~0.1 s a face).
EVERY_N = 40


def test_destination_against_itself_is_perfect(src_faces, data_dir, tmp_path):
    dst = data_dir / "clips" / "dst_woman_b.mp4"
    report_dir = tmp_path / "report"
    result = CliRunner().invoke(
        app,
        ["evaluate", "--src", str(src_faces), "--dst", str(dst), "--result", str(dst), "--every-n", str(EVERY_N), "--max-src-faces", "12",
         "--report", str(report_dir)],
    )
    assert result.exit_code == 0, result.output
    assert "retrieval 0 % toward the source" in result.output
    for name in ("report.json", "report.md", "identity.png", "pose.png", "fidelity.png", "temporal.png"):
        assert (report_dir / name).stat().st_size > 0, name
    s = json.loads((report_dir / "report.json").read_text())["summary"]
    assert s["frames"] == 14 and s["dst_frames_with_face"] == 14
    assert s["detection_rate"] == 1.0
    assert all(v == pytest.approx(0.0, abs=1e-6) for v in s["pose_error_deg"].values())
    assert s["expression_error"] == pytest.approx(0.0, abs=1e-6)
    ident = s["identity"]
    assert ident["retrieval_rate"] == 0.0  # every face is the destination's own
    assert ident["dst_similarity"] == pytest.approx(1.0, abs=1e-5)
    assert ident["src_similarity"] < 0.99
    assert s["outside_face"]["psnr_db"] == PSNR_CAP_DB and s["outside_face"]["ssim"] == pytest.approx(1.0)
    assert s["temporal"]["landmark_jitter_ratio"] == pytest.approx(1.0)


def test_source_frames_as_result_are_retrieved_as_the_source(src_faces, data_dir):
    report = evaluate(src_faces, data_dir / "clips" / "dst_woman_b.mp4", data_dir / "clips" / "src_woman_a.mp4",
                      EvaluateOptions(every_n=EVERY_N, max_src_faces=12))
    s = report.summary
    assert s["identity"]["faces"] >= 10
    assert s["identity"]["retrieval_rate"] >= 0.95
    assert s["identity"]["src_similarity"] > s["identity"]["dst_similarity"]
    assert s["outside_face"]["psnr_db"] < 30  # another clip: the background differs
    assert s["expression_error"] > 0.01
    assert any("more frames" in w for w in report.warnings)  # 448 source frames against 536


def test_identity_scores_for_training_validation(src_faces, dst_faces):
    """The function training calls on its validation faces (aligned crops, no video)."""
    src = [read_face(p) for p in list_images(src_faces)[:8]]
    dst = [read_face(p) for p in list_images(dst_faces)[:8]]
    src_mean = source_identity(src_faces, max_faces=12)
    dst_emb = np.stack([np.asarray(f.meta.embedding or [0] * 128) for f in dst]) if all(f.meta.embedding for f in dst) else None
    if dst_emb is None:
        from doppel.identity import embed_image

        dst_emb = np.stack([embed_image(f.image, f.meta.landmarks) for f in dst])
    as_src = identity_scores([f.image for f in src], src_mean, dst_emb, [f.meta.landmarks for f in src])
    as_dst = identity_scores([f.image for f in dst], src_mean, dst_emb)  # no landmarks: dlib finds the face
    assert as_src["retrieval_rate"] >= 0.95 and as_src["faces"] == 8
    assert as_dst["retrieval_rate"] <= 0.05 and as_dst["faces"] >= 6


def test_result_of_another_size_is_refused_before_any_work(src_faces, data_dir):
    with pytest.raises(DoppelError, match="480x480 in the result but 512x512") as e:
        evaluate(src_faces, data_dir / "clips" / "dst_woman_b.mp4", data_dir / "clips" / "man_h_glasses.mp4")
    assert "man_h_glasses.mp4" in str(e.value)


def test_missing_source_faceset_is_a_one_line_error(data_dir, tmp_path):
    dst = data_dir / "clips" / "dst_woman_b.mp4"
    with pytest.raises(DoppelError, match="not a folder"):
        evaluate(tmp_path / "nope", dst, dst)
