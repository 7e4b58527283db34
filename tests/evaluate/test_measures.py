"""The measures on arrays: each test would fail if the measure ignored what it claims to measure."""

from __future__ import annotations

import numpy as np
import pytest

from doppel.evaluate import measures

# A plausible 68-point face (frontal, about 100 px between the eyes) built from a few anchor shapes.
def _face() -> np.ndarray:
    rng = np.random.default_rng(0)
    pts = np.zeros((68, 2))
    t = np.linspace(-1, 1, 17)
    pts[0:17] = np.stack([200 + 130 * t, 260 + 120 * (1 - t**2) ** 0.5 * 0.9], 1)  # jaw
    pts[17:27] = np.stack([np.r_[np.linspace(110, 180, 5), np.linspace(220, 290, 5)], np.full(10, 160)], 1)
    pts[27:36] = np.stack([np.r_[np.full(4, 200), np.linspace(180, 220, 5)], np.r_[np.linspace(180, 240, 4), np.full(5, 255)]], 1)
    for start, cx in ((36, 150), (42, 250)):
        ang = np.linspace(0, 2 * np.pi, 7)[:-1]
        pts[start : start + 6] = np.stack([cx + 25 * np.cos(ang), 190 + 8 * np.sin(ang)], 1)
    ang = np.linspace(0, 2 * np.pi, 13)[:-1]
    pts[48:60] = np.stack([200 + 45 * np.cos(ang), 300 + 15 * np.sin(ang)], 1)
    ang = np.linspace(0, 2 * np.pi, 9)[:-1]
    pts[60:68] = np.stack([200 + 30 * np.cos(ang), 300 + 4 * np.sin(ang)], 1)
    return pts + rng.normal(0, 0.3, pts.shape)


def test_expression_error_ignores_head_motion_but_sees_an_open_mouth():
    face = _face()
    rot = np.deg2rad(12)
    m = 1.3 * np.array([[np.cos(rot), -np.sin(rot)], [np.sin(rot), np.cos(rot)]])
    moved = face @ m.T + [40, -25]  # same expression, head moved, turned in-plane and closer
    assert measures.expression_error(moved, face) < 1e-6
    opened = face.copy()
    opened[[56, 57, 58, 65, 66, 67]] += [0, 30]  # lower lip drops
    assert measures.expression_error(opened, face) > 0.05


def test_pose_error_wraps_around():
    assert measures.pose_error((179, 0, 0), (-179, 0, 0)) == pytest.approx((2, 0, 0))
    assert measures.pose_error((10, -5, 3), (10, -5, 3)) == (0, 0, 0)


def test_identity_retrieval_goes_to_the_nearer_identity():
    rng = np.random.default_rng(1)
    src, dst = rng.normal(size=128), rng.normal(size=128)
    faces = np.stack([src + 0.2 * rng.normal(size=128) for _ in range(9)] + [dst + 0.1 * rng.normal(size=128)])
    scores = measures.identity_from_embeddings(faces, src, np.tile(dst, (10, 1)))
    assert scores["retrieval_rate"] == pytest.approx(0.9)
    assert scores["per_face"]["dst_similarity"][-1] > 0.9


def test_psnr_and_ssim_outside_the_mask():
    rng = np.random.default_rng(2)
    ramp = np.linspace(60, 190, 64)
    a = np.repeat((ramp[:, None] + ramp[None, :] * 0.3)[..., None], 3, axis=2).astype(np.uint8)  # smooth, like skin or a wall
    mask = np.zeros((64, 64), np.float32)
    mask[:, :32] = 1
    assert measures.masked_psnr(a, a.copy(), mask) == measures.PSNR_CAP_DB
    assert measures.masked_ssim(a, a.copy(), mask) == pytest.approx(1.0)
    b = a.copy()
    b[:, 40:] = 0  # changes only where the mask is 0: still identical inside it
    assert measures.masked_psnr(a, b, mask) == measures.PSNR_CAP_DB
    c = np.clip(a.astype(int) + rng.integers(-20, 21, a.shape), 0, 255).astype(np.uint8)
    assert 15 < measures.masked_psnr(a, c, mask) < 40
    assert measures.masked_ssim(a, c, mask) < 0.95


def test_jitter_separates_smooth_motion_from_trembling():
    face = _face()
    smooth = [face + [3 * i, 0] for i in range(10)]
    rng = np.random.default_rng(3)
    shaky = [f + rng.normal(0, 3, f.shape) for f in smooth]
    assert measures.landmark_jitter(smooth) < 1e-6
    assert measures.landmark_jitter(shaky) > 0.02
    steady = [np.array([100.0, 120, 140]) + i for i in range(10)]  # a slow, even change of light
    assert measures.colour_flicker(steady) < 1e-9
    assert measures.colour_flicker([c + (8 if i % 2 else 0) for i, c in enumerate(steady)]) > 5


def _textured_face() -> tuple[np.ndarray, np.ndarray]:
    """A 400 px frame of fine random grain (a few px, like skin pores) with the synthetic face's points."""
    import cv2

    rng = np.random.default_rng(1)
    image = cv2.GaussianBlur(rng.normal(128, 200, (400, 400)).astype(np.float32), (0, 0), 2.5)  # grain about 22 levels
    return cv2.cvtColor(np.clip(image, 0, 255).astype(np.uint8), cv2.COLOR_GRAY2BGR), _face()


def test_detail_is_one_for_the_same_face_and_far_below_for_a_blurred_one():
    import cv2

    image, face = _textured_face()
    assert measures.detail_ratio(image, face, image, face) == pytest.approx(1.0)
    blurred = cv2.GaussianBlur(image, (0, 0), 3.0)
    assert measures.detail_ratio(blurred, face, image, face) < 0.2
    # Only the eyes, brows and lips count: blurring everything else changes nothing.
    outside = np.ones(image.shape[:2], np.uint8)
    for region in ([*range(17, 27), *range(36, 48)], list(range(48, 60))):
        cv2.fillConvexPoly(outside, cv2.convexHull(np.round(face[region]).astype(np.int32)), 0)
    outside = cv2.erode(outside, np.ones((61, 61), np.uint8)).astype(bool)
    rest_blurred = np.where(outside[..., None], blurred, image)
    assert measures.detail_ratio(rest_blurred, face, image, face) == pytest.approx(1.0, abs=0.02)


def test_detail_compares_faces_at_one_scale():
    """The same face twice as large in the frame (texture enlarged with it) has the same detail."""
    import cv2

    image, face = _textured_face()
    big = cv2.resize(image, None, fx=2, fy=2, interpolation=cv2.INTER_CUBIC)
    assert measures.detail_ratio(big, face * 2 + 0.5, image, face) == pytest.approx(1.0, abs=0.15)


def test_identity_distance_is_euclidean():
    a, b = np.zeros(128), np.zeros(128)
    b[:2] = [0.3, 0.4]
    assert measures.identity_distance(b, a) == pytest.approx(0.5)
