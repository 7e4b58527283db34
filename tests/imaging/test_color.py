"""Colour transfer on real faces: each mode must move the target's colours to the reference's."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from doppel.core.errors import DoppelError
from doppel.imaging.color import MODES, color_transfer
from doppel.media.reader import read_frames
from tests.conftest import DST_CLIP, SRC_CLIP


def _face_crop(clip, index: int) -> np.ndarray:
    frame = next(iter(read_frames(clip, start=index))).image
    crop = frame[128:384, 128:384]  # both clips hold one centred face
    return cv2.resize(crop, (96, 96), interpolation=cv2.INTER_AREA).astype(np.float32) / 255.0


@pytest.fixture(scope="module")
def faces(data_dir):
    mask = np.zeros((96, 96), np.float32)
    cv2.ellipse(mask, (48, 50), (30, 38), 0, 0, 360, 1.0, -1)
    return _face_crop(SRC_CLIP, 20), _face_crop(DST_CLIP, 20), mask


def _lab_mean(image: np.ndarray, mask: np.ndarray) -> np.ndarray:
    lab = cv2.cvtColor(image, cv2.COLOR_BGR2LAB).reshape(-1, 3)
    return lab[mask.reshape(-1) > 0.5].mean(0)


@pytest.mark.parametrize("mode", MODES + ("mix",))
def test_transfer_moves_colours_to_reference(faces, mode):
    target, reference, mask = faces
    out = color_transfer(mode, target, reference, mask, mask)
    assert out.shape == target.shape and out.dtype == np.float32
    assert 0.0 <= out.min() and out.max() <= 1.0
    before = np.abs(_lab_mean(target, mask) - _lab_mean(reference, mask)).sum()
    after = np.abs(_lab_mean(out, mask) - _lab_mean(reference, mask)).sum()
    assert before > 5.0  # the two women are lit differently: the test has something to fix
    assert after < before * 0.25, f"{mode}: Lab mean distance {before:.2f} -> {after:.2f}"


@pytest.mark.parametrize("mode", ["rct", "lct", "mkl", "idt-m", "sot-m"])
def test_masked_statistics_ignore_pixels_outside_the_mask(faces, mode):
    target, reference, mask = faces
    painted = reference.copy()
    painted[mask < 0.5] = (0.0, 1.0, 0.0)  # pure green background outside the face
    clean = color_transfer(mode, target, reference, mask, mask)
    dirty = color_transfer(mode, target, painted, mask, mask)
    np.testing.assert_allclose(clean, dirty, atol=1e-4)
    # ...while without the mask the green does change the result.
    assert np.abs(color_transfer(mode, target, painted) - clean).mean() > 0.01


def test_uint8_input_and_different_sizes(faces):
    target, reference, _ = faces
    small = cv2.resize((reference * 255).astype(np.uint8), (48, 48))
    out = color_transfer("rct", (target * 255).astype(np.uint8), small)
    assert out.shape == target.shape and out.dtype == np.float32


def test_bad_arguments_are_user_errors(faces):
    target, reference, mask = faces
    with pytest.raises(DoppelError, match="unknown colour transfer"):
        color_transfer("magic", target, reference)
    with pytest.raises(DoppelError, match="does not match"):
        color_transfer("rct", target, reference, target_mask=mask[:10])
    with pytest.raises(DoppelError, match="HxWx3"):
        color_transfer("rct", target[..., 0], reference)
