"""No seam with the default merge settings: the face fades into the frame over the blur width everywhere.

A synthetic frame and a synthetic face (doppel's mean face placed in the frame), so the test knows
exactly where the mask edge is and what the prediction was.
"""

from __future__ import annotations

import numpy as np
import pytest

from doppel.core.facetype import FaceType
from doppel.core.metadata import FaceMeta
from doppel.faces.align import mean_face_2d
from doppel.imaging.masks import mask_extent
from doppel.imaging.warp import warp_into_roi
from doppel.merge.faces import FrameFaces, prepare_faces
from doppel.merge.render import Prediction, face_placement, render_layers
from doppel.merge.settings import MergeSettings

SIZE, RES, FACE_WIDTH = 480, 128, 200


def _face(frame: np.ndarray, face_type: FaceType):
    mean = mean_face_2d()
    lm = (mean - mean.mean(0)) / np.ptp(mean[:, 0]) * FACE_WIDTH + (SIZE / 2, SIZE / 2 + 20)
    track = FrameFaces(index=0, metas=[FaceMeta(face_type=face_type)], landmarks=[lm.astype(np.float32)], motion=[(0.0, 0.0)])
    return prepare_faces(frame, track, face_type, RES)[0]


def _textured_frame(seed: int, amplitude: float) -> np.ndarray:
    """Skin-coloured frame with blotches of about 8 px: structure a colour transfer cannot remove."""
    rng = np.random.default_rng(seed)
    small = rng.normal(0, amplitude, (SIZE // 8, SIZE // 8, 3))
    import cv2

    texture = cv2.resize(small, (SIZE, SIZE), interpolation=cv2.INTER_CUBIC)
    return np.clip(texture + (100, 130, 170), 0, 255).astype(np.uint8)


def _weights(frame, out, face, pred, settings):
    """Per-pixel blend weight of the (recoloured) prediction in the output, where it is measurable."""
    prd, _, face_to_frame, _, bounds = face_placement(face, pred, settings, frame.shape)
    x0, y0, x1, y1 = bounds
    layer = np.zeros(frame.shape, np.float32)
    layer[y0:y1, x0:x1] = warp_into_roi(np.clip(prd, 0, 1), face_to_frame, bounds) * 255.0
    d = layer - frame
    o = out.astype(np.float32) - frame
    power = (d * d).sum(2)
    w = np.where(power > 40.0**2, (o * d).sum(2) / np.maximum(power, 1e-6), np.nan)
    return w, layer


def _transition_widths(weight: np.ndarray, alpha: np.ndarray, centre, rays: int = 72) -> list[float]:
    """Along rays from the face centre: the distance over which the blend weight falls from 0.9 to 0.1
    (outermost crossings), smoothed over 3 px of valid samples."""
    widths = []
    cy, cx = centre
    for angle in np.linspace(0, 2 * np.pi, rays, endpoint=False):
        r = np.arange(0, SIZE / 2, 0.5)
        ys = np.clip(np.round(cy + r * np.sin(angle)).astype(int), 0, SIZE - 1)
        xs = np.clip(np.round(cx + r * np.cos(angle)).astype(int), 0, SIZE - 1)
        a = alpha[ys, xs] / 255.0
        if a.max() < 0.9:
            continue
        w = weight[ys, xs]
        valid = np.isfinite(w)
        smooth = np.convolve(np.where(valid, w, 0), np.ones(7), "same") / np.maximum(np.convolve(valid, np.ones(7), "same"), 1)
        smooth[np.convolve(valid, np.ones(7), "same") < 3] = np.nan
        above = np.nonzero(smooth >= 0.9)[0]
        below = np.nonzero(smooth <= 0.1)[0]
        last_above = above.max()
        beyond = below[below > last_above]
        if len(beyond):
            widths.append((r[beyond.min()] - r[last_above]))
    return widths


@pytest.mark.parametrize("face_type", [FaceType.WHOLE_FACE, FaceType.FULL, FaceType.HEAD])
def test_default_merge_fades_over_the_blur_width_on_every_side(face_type):
    frame = _textured_frame(0, 35.0)
    face = _face(frame, face_type)
    # The prediction: another texture, nothing like the destination (the colour transfer keeps structure).
    other = _textured_frame(1, 35.0)[::-1, ::-1]
    pred = Prediction(rgb=_face(other, face_type).image)
    settings = MergeSettings()
    out, alpha = render_layers(frame, [face], [pred], settings)
    weight, _ = _weights(frame, out, face, pred, settings)

    # The blur width in frame pixels: the feather is `blur` % of a tenth of the mask's shorter side.
    _, mask, _, mask_to_frame, _ = face_placement(face, pred, settings, frame.shape)
    scale = float(np.sqrt(abs(np.linalg.det(mask_to_frame[:, :2]))))
    blur_width = mask_extent(mask > 0.5) * 0.10 * settings.blur / 100.0 * scale
    assert blur_width >= 6.0, "the default feather must be wider than a few pixels"
    ys, xs = np.nonzero(alpha > 250)
    widths = _transition_widths(weight, alpha, (ys.mean(), xs.mean()))
    assert len(widths) >= 60, "the face must fade out along nearly every direction"
    # A hard edge (a box, the crop border, the colour-transfer region, a hull that stops early) is
    # a jump over one or two pixels somewhere.
    assert min(widths) >= 0.6 * blur_width, (min(widths), blur_width)
    assert np.median(widths) >= 0.8 * blur_width


def test_the_whole_face_mask_covers_the_forehead():
    frame = _textured_frame(0, 35.0)
    face = _face(frame, FaceType.WHOLE_FACE)
    pred = Prediction(rgb=np.zeros_like(face.image))
    _, alpha = render_layers(frame, [face], [pred], MergeSettings())
    brows = face.landmarks[17:27]
    to_frame = face.face_to_frame
    brow_y = float((brows @ to_frame[:, :2].T + to_frame[:, 2])[:, 1].min())
    chin_y = float((face.landmarks[8] @ to_frame[:, :2].T + to_frame[:, 2])[1])
    column = alpha[:, SIZE // 2]
    top = int(np.nonzero(column > 128)[0].min())
    # The swapped area reaches well above the brows: a fifth of the brow-to-chin height at least.
    assert top < brow_y - 0.2 * (chin_y - brow_y), (top, brow_y, chin_y)


def test_a_prediction_equal_to_the_destination_leaves_the_frame_unchanged():
    import cv2

    rng = np.random.default_rng(3)
    # Smooth content (resampling through the face square and back is then nearly lossless).
    frame = cv2.resize(rng.uniform(60, 200, (6, 6, 3)), (SIZE, SIZE), interpolation=cv2.INTER_CUBIC)
    frame = np.clip(frame, 0, 255).astype(np.uint8)
    face = _face(frame, FaceType.WHOLE_FACE)
    out, alpha = render_layers(frame, [face], [Prediction(rgb=face.image.copy())], MergeSettings())
    assert alpha.max() == 255
    diff = np.abs(out.astype(int) - frame)
    assert diff.max() <= 3 and diff.mean() < 0.2
