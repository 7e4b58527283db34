"""Every merge mode, mask mode and colour transfer on real frames, including a face cut by the frame border."""

from __future__ import annotations

from dataclasses import replace

import cv2
import numpy as np
import pytest

from doppel.core.errors import DoppelError
from doppel.imaging.masks import erode_blur, mask_extent
from doppel.imaging.warp import warp_into_roi
from doppel.core.face_mask import face_hull_mask
from doppel.media.reader import read_frames
from doppel.merge.faces import load_faces, prepare_faces, smooth_faces
from doppel.merge.predict import Predictor
from doppel.merge.render import face_placement, render_frame, render_layers
from doppel.merge.settings import COLOR_TRANSFERS, MASK_MODES, MODES, MergeSettings

BORDER_SHIFT = 200  # crop this many columns off the left: the face square then sticks out of the frame


@pytest.fixture(scope="module")
def scene(dst_clip, dst_aligned, tiny_model):
    """(frame, faces, predictions) for frame 3, plus the same face cut by the left border."""
    _, by_frame = load_faces(dst_aligned / "alignments.json")
    tracks = smooth_faces(by_frame, 2)
    frame = next(iter(read_frames(dst_clip, start=3))).image
    settings = MergeSettings(mask_mode="learned-prd*learned-dst")
    predictor = Predictor(tiny_model, settings)
    faces = prepare_faces(frame, tracks[3], tiny_model.face_type, tiny_model.resolution)
    border_track = replace(tracks[3], landmarks=[lm - np.float32([BORDER_SHIFT, 0]) for lm in tracks[3].landmarks])
    border_frame = np.ascontiguousarray(frame[:, BORDER_SHIFT:])
    border_faces = prepare_faces(border_frame, border_track, tiny_model.face_type, tiny_model.resolution)
    res = tiny_model.resolution
    for f in faces + border_faces:  # an XSeg-like mask so the xseg modes have something to use
        f.xseg = face_hull_mask(f.landmarks, res, forehead=0.2)
    preds = predictor.predict(faces)
    border_preds = predictor.predict(border_faces)
    for p in preds + border_preds:
        p.xseg = (p.mask > 0.3).astype(np.float32)
    return (frame, faces, preds), (border_frame, border_faces, border_preds)


def _check(frame, out, alpha, mode):
    assert out.shape == frame.shape and out.dtype == np.uint8
    if mode == "original":
        assert np.array_equal(out, frame) and alpha.max() == 0
        return
    changed = np.any(out != frame, axis=2)
    assert changed.any(), mode
    assert not changed[alpha == 0].any(), f"{mode}: pixels outside the face changed"


@pytest.mark.parametrize("mode", MODES)
def test_every_mode(scene, mode):
    for frame, faces, preds in scene:
        out, alpha = render_layers(frame, faces, preds, MergeSettings(mode=mode))
        _check(frame, out, alpha, mode)


@pytest.mark.parametrize("mask_mode", MASK_MODES)
def test_every_mask_mode(scene, mask_mode):
    for frame, faces, preds in scene:
        out, alpha = render_layers(frame, faces, preds, MergeSettings(mask_mode=mask_mode, blur=20, erode=10))
        _check(frame, out, alpha, "overlay")


@pytest.mark.parametrize("ct", COLOR_TRANSFERS)
def test_every_colour_transfer(scene, ct):
    (frame, faces, preds), _ = scene
    out = render_frame(frame, faces, preds, MergeSettings(color_transfer=ct, mode="seamless-hist-match"))
    plain = render_frame(frame, faces, preds, MergeSettings(color_transfer="none", mode="seamless-hist-match"))
    assert out.shape == frame.shape
    assert (ct == "none") == np.array_equal(out, plain)


def test_adjustments_all_at_once(scene):
    for frame, faces, preds in scene:
        faces = [replace(f, motion=(6.0, -2.0)) for f in faces]
        settings = MergeSettings(erode=-50, blur=60, motion_blur=80, face_scale=-20, sharpen_mode="box",
                                 sharpen_amount=40, denoise=200, bicubic_degrade=50, color_degrade=50,
                                 color_transfer="idt-m")
        out, alpha = render_layers(frame, faces, preds, settings)
        _check(frame, out, alpha, "overlay")
        default = render_frame(frame, faces, preds, MergeSettings(color_transfer="idt-m"))
        assert not np.array_equal(out, default)


def test_face_scale_changes_the_covered_area(scene):
    (frame, faces, preds), _ = scene
    small = render_layers(frame, faces, preds, MergeSettings(face_scale=-30))[1]
    large = render_layers(frame, faces, preds, MergeSettings(face_scale=30))[1]
    assert (large > 0).sum() > 1.5 * (small > 0).sum()


def test_missing_masks_are_user_errors(scene):
    (frame, faces, preds), _ = scene
    bare = [replace(f, xseg=None) for f in faces]
    with pytest.raises(DoppelError, match="xseg-dst"):
        render_frame(frame, bare, preds, MergeSettings(mask_mode="xseg-dst"))


# The fast blend (work only inside the mask's bounding box, the blend in one OpenCV pass) gives the plain one's bytes over the whole face region up to rounding (one level),
# including for a face cut by the border; pixels the mask does not reach keep their bytes.


def _plain_render(frame, faces, preds, settings):
    """The blend as first written: both warps and all the arithmetic over the whole ROI."""
    out = frame.copy()
    alpha = np.zeros(frame.shape[:2], np.uint8)
    for face, pred in zip(faces, preds, strict=True):
        prd, mask, face_to_frame, mask_to_frame, bounds = face_placement(face, pred, settings, frame.shape)
        if bounds is None:
            continue
        x0, y0, x1, y1 = bounds
        roi = out[y0:y1, x0:x1]
        a = np.clip(warp_into_roi(mask, mask_to_frame, bounds, cv2.INTER_LINEAR), 0.0, 1.0)[..., None]
        face_roi = np.clip(warp_into_roi(prd, face_to_frame, bounds), 0.0, 1.0)
        face_u8 = (face_roi * 255.0 + 0.5).astype(np.uint8)
        base = roi.astype(np.float32)
        blended = (face_u8.astype(np.float32) - base) * a + base + 0.5
        np.copyto(roi, blended.astype(np.uint8), where=a > 0)
        alpha[y0:y1, x0:x1] = np.maximum(alpha[y0:y1, x0:x1], (a[..., 0] * 255.0 + 0.5).astype(np.uint8))
    return out, alpha


@pytest.mark.parametrize(
    "settings",
    [
        MergeSettings(mode="hist-match", color_transfer="rct", blur=40),
        MergeSettings(mode="overlay", mask_mode="learned-prd*learned-dst", erode=20, blur=10, face_scale=15),
        MergeSettings(mode="raw-rgb"),
    ],
    ids=["hist-match-rct", "overlay-learned-scaled", "raw-rgb"],
)
def test_fast_blend_matches_the_plain_one(scene, settings):
    for frame, faces, preds in scene:  # a whole face, then one cut by the frame's left border
        out, alpha = render_layers(frame, faces, preds, settings)
        plain_out, plain_alpha = _plain_render(frame, faces, preds, settings)
        assert (alpha > 0).sum() > 1000  # the face really was blended
        # Same pixels touched; values differ by rounding only (one OpenCV pass instead of numpy steps).
        assert np.array_equal(alpha > 0, plain_alpha > 0)
        assert np.array_equal(out[plain_alpha == 0], frame[plain_alpha == 0])
        diff = np.abs(out.astype(int) - plain_out)
        assert diff.max() <= 1 and (diff > 0).sum() < 0.05 * 3 * (alpha > 0).sum()
        assert np.abs(alpha.astype(int) - plain_alpha).max() <= 1


def test_mask_extent_is_the_shorter_side_of_the_bounding_box():
    mask = np.zeros((50, 60), np.float32)
    mask[10:31, 5:45] = 0.5  # 21 rows, 40 columns: extents 20 and 39
    assert mask_extent(mask) == 20
    assert mask_extent(np.zeros((8, 8), np.float32)) == 0
    ys, xs = np.nonzero(mask >= 0.1)
    assert mask_extent(mask) == min(xs.max() - xs.min(), ys.max() - ys.min())
    feathered = erode_blur(mask, erode=10, blur=30)
    assert 0.0 <= feathered.min() and feathered.max() <= 1.0 and feathered[20, 25] > 0.4
