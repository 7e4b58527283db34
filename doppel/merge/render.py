"""Render one merged frame: a pure function of the frame, its faces, the model's predictions and the settings.

The streaming merger and the studio's interactive merger both call `render_frame`. All face work
happens at the model's resolution; only the face's bounding region of the frame is touched.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from doppel.core.errors import DoppelError
from doppel.core.face_mask import landmark_mask
from doppel.core.facetype import FaceType
from doppel.imaging.blend import hist_match, seamless_clone
from doppel.imaging.color import color_transfer
from doppel.imaging.degrade import bicubic_degrade, color_degrade, motion_blur
from doppel.imaging.masks import erode_blur
from doppel.imaging.sharpen import denoise, sharpen
from doppel.imaging.warp import scale_about_center, warp_into_roi, warped_bounds
from doppel.merge.settings import MergeSettings


@dataclass
class MergeFace:
    """One destination face, cut from its frame at the model's resolution."""

    face_to_frame: np.ndarray  # 2x3: model-face pixels -> frame pixels (from smoothed landmarks)
    image: np.ndarray  # RxRx3 float32 BGR in [0, 1]: the destination face the model sees
    landmarks: np.ndarray  # 68x2 in model-face pixels
    xseg: np.ndarray | None = None  # RxR float32 XSeg mask of the destination face, if the faceset has one
    motion: tuple[float, float] = (0.0, 0.0)  # face-centre motion per frame, in model-face pixels
    face_type: FaceType = FaceType.WHOLE_FACE  # the model's: decides whether the landmark mask has a forehead


@dataclass
class Prediction:
    """What the model made of one face."""

    rgb: np.ndarray  # RxRx3 float32 BGR in [0, 1]: the swapped face
    mask: np.ndarray | None = None  # RxR learned mask of the prediction (learned-prd)
    dst_mask: np.ndarray | None = None  # RxR learned mask of the destination (learned-dst)
    xseg: np.ndarray | None = None  # RxR XSeg mask of the prediction (xseg-prd)


def _needs(settings: MergeSettings) -> set[str]:
    return set(settings.mask_mode.replace("+", "*").split("*"))


def needs_dst_mask(settings: MergeSettings) -> bool:
    return "learned-dst" in _needs(settings)


def _mask_part(name: str, face: MergeFace, pred: Prediction, size: int) -> np.ndarray:
    """One named mask at `size` pixels (the landmark hull is drawn at that size, the others resized)."""
    res = pred.rgb.shape[0]
    if name == "full":
        return np.ones((size, size), np.float32)
    if name == "dst":
        return landmark_mask(np.asarray(face.landmarks) * (size / res), size, face.face_type)
    part = {"learned-prd": pred.mask, "learned-dst": pred.dst_mask, "xseg-dst": face.xseg, "xseg-prd": pred.xseg}[name]
    if part is None:
        hints = {
            "learned-prd": "This model has no learned mask; use --mask-mode dst",
            "learned-dst": "This model has no learned mask; use --mask-mode dst",
            "xseg-dst": "The destination faces carry no XSeg masks; apply an XSeg model to them or use --mask-mode dst",
            "xseg-prd": "Pass an XSeg model (--xseg-model) or use --mask-mode xseg-dst",
        }
        raise DoppelError(f"mask mode '{name}' is not available", hint=hints[name])
    part = np.asarray(part, np.float32).reshape(res, res)
    return part if size == res else cv2.resize(part, (size, size), interpolation=cv2.INTER_LINEAR)


def build_mask(mask_mode: str, face: MergeFace, pred: Prediction, size: int | None = None) -> np.ndarray:
    """The float mask in face space for a mask mode (products with '*', a clipped sum with '+'),
    at `size` pixels (default: the model's resolution)."""
    size = size or pred.rgb.shape[0]
    if "+" in mask_mode:
        parts = [_mask_part(n, face, pred, size) for n in mask_mode.split("+")]
        return np.clip(sum(parts), 0.0, 1.0)
    names = mask_mode.split("*")
    if len(names) == 1:  # 1 * part is part: skip the product
        return np.asarray(_mask_part(names[0], face, pred, size), np.float32)
    mask = np.ones((size, size), np.float32)
    for name in names:
        mask = mask * _mask_part(name, face, pred, size)
    return mask


def mask_size(face_to_frame: np.ndarray, res: int, limit: int = 512) -> int:
    """Mask work size: the face's size in the frame (so edges and feathering are not blocky), at
    least the model's resolution and at most `limit`."""
    scale = float(np.sqrt(abs(np.linalg.det(np.asarray(face_to_frame, np.float64)[:, :2]))))
    return int(np.clip(round(res * scale), res, max(res, limit)))


def _recolour(prd: np.ndarray, dst: np.ndarray, hard: np.ndarray, settings: MergeSettings) -> np.ndarray:
    ct = settings.color_transfer
    if ct != "none":
        # rct and the -m variants take their statistics inside the mask, as DFL users know them.
        masked = ct == "rct" or ct.endswith("-m")
        prd = color_transfer(ct, prd, dst, hard if masked else None, hard if masked else None)
    if settings.mode in ("hist-match", "seamless-hist-match"):
        prd = hist_match(prd, dst, hard if settings.masked_hist_match else None, settings.hist_match_threshold)
    return prd


def _finish(prd: np.ndarray, face: MergeFace, settings: MergeSettings) -> np.ndarray:
    if settings.motion_blur > 0:
        k = settings.motion_blur / 100.0
        prd = motion_blur(prd, face.motion[0] * k, face.motion[1] * k)
    prd = sharpen(prd, settings.sharpen_mode, settings.sharpen_amount)
    prd = denoise(prd, settings.denoise)
    prd = bicubic_degrade(prd, settings.bicubic_degrade)
    return color_degrade(prd, settings.color_degrade)


def _face_layers(face: MergeFace, pred: Prediction, settings: MergeSettings) -> tuple[np.ndarray, np.ndarray]:
    """The processed face (model resolution) and its soft mask (at `mask_size`), both in face space."""
    res = pred.rgb.shape[0]
    prd = np.asarray(pred.rgb, np.float32)
    work = mask_size(face.face_to_frame, res)
    if settings.mode == "raw-rgb":
        return prd, np.ones((work, work), np.float32)
    mask = build_mask(settings.mask_mode, face, pred, work)
    if settings.mode == "raw-predict":
        return prd, (mask > 0.5).astype(np.float32)
    small = mask if work == res else cv2.resize(mask, (res, res), interpolation=cv2.INTER_AREA)
    hard = (small > 0.5).astype(np.float32)
    prd = _finish(_recolour(prd, face.image, hard, settings), face, settings)
    return prd, erode_blur(mask, settings.erode, settings.blur)


def render_layers(
    frame: np.ndarray, faces: list[MergeFace], predictions: list[Prediction], settings: MergeSettings
) -> tuple[np.ndarray, np.ndarray]:
    """The merged frame (uint8 BGR) and an alpha (uint8 HxW) that covers the swapped faces only."""
    out = frame.copy()
    alpha = np.zeros(frame.shape[:2], np.uint8)
    if settings.mode == "original":
        return out, alpha
    for face, pred in zip(faces, predictions, strict=True):
        prd, mask, face_to_frame, mask_to_frame, bounds = face_placement(face, pred, settings, frame.shape)
        if bounds is None:
            continue
        found = _mask_in_roi(mask, mask_to_frame, bounds, settings)
        if found is not None:
            _blend_box(out, alpha, prd, face_to_frame, *found, bounds, settings)
    return out, alpha


def face_placement(face: MergeFace, pred: Prediction, settings: MergeSettings, frame_shape):
    """The face's finished layers and where they land: (face image, mask, face->frame and mask->frame
    affines, frame bounds x0, y0, x1, y1 or None when the face is off the frame)."""
    size = pred.rgb.shape[0]
    prd, mask = _face_layers(face, pred, settings)
    face_to_frame = scale_about_center(face.face_to_frame, size, 1.0 + settings.face_scale / 100.0)
    bounds = warped_bounds(face_to_frame, size, frame_shape)
    mask_to_frame = face_to_frame.copy()
    mask_to_frame[:, :2] *= size / mask.shape[0]  # the mask may be larger than the face image
    return prd, mask, face_to_frame, mask_to_frame, bounds


def _mask_in_roi(mask, mask_to_frame, bounds, settings):
    """The warped mask over its bounding box (x, y, w, h in ROI pixels), as (mask, box); None if empty.

    Pixels the mask does not reach keep their exact bytes, so only its bounding box is worked on.
    The mask is warped over the rows its support can reach only, with the ROI's left edge kept:
    the warp's fixed-point sample positions then match a warp of the whole ROI exactly (a shifted
    left edge moves them by up to 1/32 pixel, several levels on sharp edges).
    """
    x0, y0, x1, y1 = bounds
    if settings.mode in ("seamless", "seamless-hist-match"):
        # Poisson cloning looks at the whole region around the mask: keep the full ROI.
        a = warp_into_roi(mask, mask_to_frame, bounds, cv2.INTER_LINEAR)
        return a, (0, 0, x1 - x0, y1 - y0)
    reach = _reach(mask, mask_to_frame, bounds)
    if reach is None:
        return None
    r0, r1, c1 = reach
    a = warp_into_roi(mask, mask_to_frame, (x0, y0 + r0, x0 + c1, y0 + r1), cv2.INTER_LINEAR)
    bx, by, bw, bh = cv2.boundingRect((a > 0).view(np.uint8))
    if bw == 0:
        return None
    return a[by : by + bh, bx : bx + bw], (bx, by + r0, bw, bh)


def _reach(mask, mask_to_frame, bounds) -> tuple[int, int, int] | None:
    """(first row, end row, end column) of the ROI that the warped mask can touch: the corners of
    its support's bounding box, one pixel out for the bilinear taps, mapped into the ROI."""
    x, y, w, h = cv2.boundingRect((mask > 0).view(np.uint8))
    if w == 0:
        return None
    x0, y0, x1, y1 = bounds
    corners = np.array([[x - 1, y - 1, 1], [x + w, y - 1, 1], [x - 1, y + h, 1], [x + w, y + h, 1]], np.float64)
    pts = corners @ np.asarray(mask_to_frame, np.float64).T - (x0, y0)
    r0 = max(0, int(np.floor(pts[:, 1].min())) - 1)
    r1 = min(y1 - y0, int(np.ceil(pts[:, 1].max())) + 2)
    c1 = min(x1 - x0, int(np.ceil(pts[:, 0].max())) + 2)
    return (r0, r1, c1) if r1 > r0 and c1 > 0 else None


def _blend_box(out, alpha, prd, face_to_frame, a, box, bounds, settings) -> None:
    """Blend the face into `out` inside `box` (x, y, w, h in ROI pixels) of the ROI `bounds`, in
    place; `a` is the warped mask over the box.

    The face is warped with the ROI's left edge kept (see _mask_in_roi). The blend rounds
    face * a + frame * (1 - a) to the nearest level in one OpenCV pass; where a is 0 the frame's
    bytes stay as they are.
    """
    x0, y0, _, _ = bounds
    bx, by, bw, bh = box
    roi = out[y0 + by : y0 + by + bh, x0 + bx : x0 + bx + bw]
    a = np.clip(a, 0.0, 1.0)
    face = warp_into_roi(prd, face_to_frame, (x0, y0 + by, x0 + bx + bw, y0 + by + bh))
    # Cubic interpolation overshoots [0, 1]: negatives to 0 here, above 1 saturates at 255 below.
    face_u8 = cv2.convertScaleAbs(np.maximum(face, 0.0, out=face), alpha=255.0)[:, bx:]
    if settings.mode in ("seamless", "seamless-hist-match"):
        face_u8 = seamless_clone(face_u8, roi, a)
    cv2.blendLinear(face_u8, roi, a, 1.0 - a, dst=roi)
    a_roi = alpha[y0 + by : y0 + by + bh, x0 + bx : x0 + bx + bw]
    np.maximum(a_roi, cv2.convertScaleAbs(a, alpha=255.0), out=a_roi)


def render_frame(frame: np.ndarray, faces: list[MergeFace], predictions: list[Prediction], settings: MergeSettings) -> np.ndarray:
    """The merged frame, uint8 BGR, same size as `frame`."""
    return render_layers(frame, faces, predictions, settings)[0]
