"""Mask and blend primitives on a real face: what merge's settings promise."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from doppel.imaging.blend import hist_match, seamless_clone
from doppel.imaging.degrade import bicubic_degrade, color_degrade, motion_blur
from doppel.imaging.masks import erode_blur
from doppel.imaging.sharpen import sharpen
from doppel.media.reader import read_frames
from tests.conftest import DST_CLIP, SRC_CLIP


@pytest.fixture(scope="module")
def pair(data_dir):
    a = next(iter(read_frames(SRC_CLIP, start=5))).image[128:384, 128:384]
    b = next(iter(read_frames(DST_CLIP, start=5))).image[128:384, 128:384]
    mask = np.zeros((256, 256), np.float32)
    cv2.ellipse(mask, (128, 135), (80, 100), 0, 0, 360, 1.0, -1)
    return a.astype(np.float32) / 255, b.astype(np.float32) / 255, mask


def test_erode_shrinks_dilate_grows_blur_feathers(pair):
    *_, mask = pair
    area = (mask > 0.5).sum()
    assert (erode_blur(mask, erode=50) > 0.5).sum() < 0.9 * area
    assert (erode_blur(mask, erode=-50) > 0.5).sum() > 1.1 * area
    soft = erode_blur(mask, blur=50)
    assert ((soft > 0.05) & (soft < 0.95)).sum() > 0.05 * area
    assert soft[0].max() == 0 and soft[:, 0].max() == 0  # fades out inside the square


def test_hist_match_moves_histograms(pair):
    a, b, mask = pair
    out = hist_match(a, b, mask, 255)
    inside = mask > 0.5
    for c in range(3):
        assert abs(out[..., c][inside].mean() - b[..., c][inside].mean()) < 0.3 * abs(a[..., c][inside].mean() - b[..., c][inside].mean()) + 0.01
    assert out[..., 2][inside].max() > hist_match(a, b, mask, 180)[..., 2][inside].max()  # the threshold tames highlights


def test_seamless_clone_stays_in_the_mask(pair):
    a, b, mask = pair
    face, frame = (a * 255).astype(np.uint8), (b * 255).astype(np.uint8)
    out = seamless_clone(face, frame, mask)
    x, y, w, h = cv2.boundingRect((mask > 0.5).astype(np.uint8))
    far = np.ones(mask.shape, bool)
    far[y - 2 : y + h + 2, x - 2 : x + w + 2] = False  # Poisson blending works within the mask's box
    assert np.array_equal(out[far], frame[far])
    assert np.abs(out[mask > 0.5].astype(int) - frame[mask > 0.5]).mean() > 3


def test_degrade_and_sharpen_change_detail(pair):
    a, *_ = pair
    lap = lambda x: float(cv2.Laplacian(x, cv2.CV_32F).var())  # noqa: E731
    assert lap(bicubic_degrade(a, 80)) < 0.7 * lap(a)
    assert lap(sharpen(a, "gaussian", 60)) > 1.3 * lap(a)
    assert lap(sharpen(a, "box", -60)) < lap(a)
    assert len(np.unique(color_degrade(a, 100))) <= 8
    assert lap(motion_blur(a, 8.0, 0.0)) < lap(a)
