"""The one mask rule: which pixels of an aligned face are "the face", for training, merge, XSeg and the studio.

A face's mask is, in order: its applied XSeg mask, else its hand-drawn XSeg labels, else the hull
of its 68 landmarks. Whole-face and head sets lift the brows toward the hairline so the hull covers
the forehead, as DeepFaceLab's hull does; smaller face types stop at the brows (their crops end there).

Index groups of the 68-point layout: jaw 0-16, right brow 17-21, left brow 22-26, nose 27-35,
right eye 36-41, left eye 42-47, mouth 48-67 (outer lip 48-59, inner 60-67).
"""

from __future__ import annotations

import base64

import cv2
import numpy as np

from doppel.core.errors import DoppelError
from doppel.core.facetype import FaceType
from doppel.core.metadata import FaceMeta

JAW = slice(0, 17)
RIGHT_BROW = slice(17, 22)
LEFT_BROW = slice(22, 27)
NOSE = slice(27, 36)
RIGHT_EYE = slice(36, 42)
LEFT_EYE = slice(42, 48)
MOUTH = slice(48, 68)

# How far the hull reaches above the middle of the brows (share of the chin-to-nose-bridge height): the
# forehead of whole-face and head sets.
FOREHEAD = {FaceType.WHOLE_FACE: 0.35, FaceType.HEAD: 0.6}
# The lift at the brows' outer ends, as a share of the lift at their middle: the hairline curves down
# at the temples, and a full lift there puts hair inside the mask.
BROW_END_LIFT = 0.35


def forehead_for(face_type: FaceType | str | None) -> float:
    return FOREHEAD.get(FaceType.parse(face_type), 0.0) if face_type else 0.0


def hull_points(landmarks: np.ndarray, forehead: float = 0.0) -> np.ndarray:
    """The 68 points, plus the brows lifted along the face's up axis (chin to nose bridge) by `forehead`
    of that height at their middle, less toward their ends (BROW_END_LIFT). Lifting straight up, not
    away from the chin, keeps the outer brows from fanning out over the hair at the temples."""
    pts = np.asarray(landmarks, np.float32).reshape(68, 2)
    if forehead <= 0:
        return pts
    up = pts[27] - pts[8]
    height = float(np.linalg.norm(up))
    if height < 1e-6:
        return pts
    ends = np.abs(np.linspace(-1.0, 1.0, 10, dtype=np.float32))  # 0 between the brows, 1 at their ends
    lift = forehead * height * (1.0 - (1.0 - BROW_END_LIFT) * ends**2)
    return np.vstack([pts, pts[17:27] + (up / height)[None] * lift[:, None]])


def _fill_hull(mask: np.ndarray, points: np.ndarray) -> None:
    hull = cv2.convexHull(np.round(points).astype(np.int32))
    cv2.fillConvexPoly(mask, hull, 1.0, lineType=cv2.LINE_AA)


def face_hull_mask(landmarks: np.ndarray, size: int | tuple[int, int], forehead: float = 0.0) -> np.ndarray:
    """Float32 HxW mask in [0, 1]: the convex hull of the landmarks (brows lifted by `forehead`, see hull_points)."""
    h, w = (size, size) if isinstance(size, int) else size
    mask = np.zeros((h, w), np.float32)
    _fill_hull(mask, hull_points(landmarks, forehead))
    return mask


def landmark_mask(landmarks: np.ndarray, size: int | tuple[int, int], face_type: FaceType | str | None) -> np.ndarray:
    """The landmark part of the rule: the hull, with the forehead for whole-face and head."""
    return face_hull_mask(landmarks, size, forehead_for(face_type))


def eyes_mouth_mask(landmarks: np.ndarray, size: int | tuple[int, int], dilate: float = 0.0) -> np.ndarray:
    """Float32 mask of the eye and mouth hulls (for eyes-and-mouth priority in training)."""
    h, w = (size, size) if isinstance(size, int) else size
    pts = np.asarray(landmarks, np.float32).reshape(68, 2)
    mask = np.zeros((h, w), np.float32)
    for group in (RIGHT_EYE, LEFT_EYE, MOUTH):
        _fill_hull(mask, pts[group])
    if dilate > 0:
        k = max(1, int(round(dilate)))
        mask = cv2.dilate(mask, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * k + 1, 2 * k + 1)))
    return mask


def decode_mask(data: str, size: int | tuple[int, int]) -> np.ndarray:
    """A stored XSeg mask (base64 grey PNG) -> float32 HxW mask in [0, 1], resized to `size`."""
    h, w = (size, size) if isinstance(size, int) else size
    try:
        raw = np.frombuffer(base64.b64decode(data, validate=True), np.uint8)
        grey = cv2.imdecode(raw, cv2.IMREAD_GRAYSCALE)
    except (ValueError, TypeError, cv2.error) as e:
        raise DoppelError(f"stored XSeg mask is damaged ({e})", hint="Run 'doppel xseg apply' again") from e
    if grey is None:
        raise DoppelError("stored XSeg mask is damaged", hint="Run 'doppel xseg apply' again")
    if grey.shape != (h, w):
        grey = cv2.resize(grey, (w, h), interpolation=cv2.INTER_LINEAR)
    return grey.astype(np.float32) / 255.0


def polygons_to_mask(polys: list[dict], size: int | tuple[int, int], scale: float = 1.0) -> np.ndarray:
    """Float32 HxW mask in {0, 1} from include/exclude polygons applied in order.

    `scale` maps polygon coordinates to the mask (e.g. out_size / meta.size).
    """
    h, w = (size, size) if isinstance(size, int) else size
    mask = np.zeros((h, w), np.float32)
    for p in polys or []:
        pts = np.asarray(p["points"], np.float64) * scale
        if len(pts) < 3:
            continue
        value = 1.0 if p["kind"] == "include" else 0.0
        cv2.fillPoly(mask, [np.round(pts * 16).astype(np.int32)], value, lineType=cv2.LINE_8, shift=4)
    return mask


def label_mask(meta: FaceMeta, size: int) -> np.ndarray | None:
    """The hand-labelled mask of a face at `size`, or None when it has no labels."""
    if not meta.xseg_polygons:
        return None
    return polygons_to_mask(meta.xseg_polygons, size, scale=size / meta.size)


def stored_mask(meta: FaceMeta, size: int, prefer: str = "xseg") -> np.ndarray | None:
    """The XSeg part of the rule at `size` (face-file pixels scaled): applied mask, else labels, else None.

    `prefer="labels"` puts hand labels first (the ground truth an XSeg model learns from).
    """
    learned = lambda: decode_mask(meta.xseg_mask, size) if meta.xseg_mask else None  # noqa: E731
    labels = lambda: label_mask(meta, size)  # noqa: E731
    for make in (labels, learned) if prefer == "labels" else (learned, labels):
        mask = make()  # only until one exists: decoding both would be work done twice
        if mask is not None:
            return mask
    return None


def face_mask(meta: FaceMeta, size: int, face_type: FaceType | str | None = None, prefer: str = "xseg") -> np.ndarray:
    """The mask of a face at `size` (its own crop, scaled): the rule above. `face_type` decides the
    forehead of the landmark hull (default: the face's own type)."""
    mask = stored_mask(meta, size, prefer)
    if mask is not None:
        return mask
    landmarks = np.asarray(meta.landmarks, np.float64) * (size / max(meta.size, 1))
    return landmark_mask(landmarks, size, face_type or meta.face_type)
