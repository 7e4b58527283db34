"""XSeg labels and masks as stored in face metadata.

`meta.xseg_polygons`: [{"kind": "include"|"exclude", "points": [[x, y], ...]}] in the aligned
face's pixel coordinates (meta.size), applied in order: include fills, exclude cuts out (as in
DeepFaceLab's XSeg editor). `meta.xseg_mask`: a learned mask as a base64 grey PNG at face size or
smaller. Pure functions, no torch: training and merge import this cheaply.
"""

from __future__ import annotations

import base64

import cv2
import numpy as np

from doppel.core.errors import DoppelError
from doppel.core.metadata import FaceMeta
from doppel.masks.landmarks import face_hull_mask

POLYGON_KINDS = ("include", "exclude")
MAX_STORED_MASK = 256  # a stored mask larger than this only bloats every face file


def validate_polygons(polys: object) -> list[dict]:
    """Check the shape of a polygon list (from a file or the studio) and return it normalised."""
    if not isinstance(polys, list):
        raise DoppelError("XSeg polygons must be a list of {kind, points}")
    out = []
    for p in polys:
        if not isinstance(p, dict) or p.get("kind") not in POLYGON_KINDS:
            raise DoppelError("each XSeg polygon needs kind 'include' or 'exclude'")
        pts = np.asarray(p.get("points", []), np.float64)
        if pts.ndim != 2 or pts.shape[1] != 2 or not np.isfinite(pts).all():
            raise DoppelError("XSeg polygon points must be [[x, y], ...] numbers")
        if len(pts) >= 3:  # fewer points enclose nothing; drop them quietly, as an editor would
            out.append({"kind": p["kind"], "points": np.round(pts, 2).tolist()})
    return out


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


def encode_mask(mask: np.ndarray) -> str:
    """Float mask in [0, 1] -> base64 grey PNG (at most MAX_STORED_MASK pixels a side)."""
    h, w = mask.shape[:2]
    if max(h, w) > MAX_STORED_MASK:
        f = MAX_STORED_MASK / max(h, w)
        mask = cv2.resize(mask, (round(w * f), round(h * f)), interpolation=cv2.INTER_AREA)
    grey = np.clip(np.round(mask * 255), 0, 255).astype(np.uint8)
    ok, buf = cv2.imencode(".png", grey, [cv2.IMWRITE_PNG_COMPRESSION, 9])
    if not ok:
        raise DoppelError("could not encode the XSeg mask")
    return base64.b64encode(buf.tobytes()).decode("ascii")


def decode_mask(data: str, size: int | tuple[int, int]) -> np.ndarray:
    """Base64 PNG -> float32 HxW mask in [0, 1], resized to `size`."""
    h, w = (size, size) if isinstance(size, int) else size
    try:
        raw = np.frombuffer(base64.b64decode(data, validate=True), np.uint8)
        grey = cv2.imdecode(raw, cv2.IMREAD_GRAYSCALE)
    except (ValueError, cv2.error) as e:
        raise DoppelError(f"stored XSeg mask is damaged ({e})", hint="Run 'doppel xseg apply' again") from e
    if grey is None:
        raise DoppelError("stored XSeg mask is damaged", hint="Run 'doppel xseg apply' again")
    if grey.shape != (h, w):
        grey = cv2.resize(grey, (w, h), interpolation=cv2.INTER_LINEAR)
    return grey.astype(np.float32) / 255.0


def label_mask(meta: FaceMeta, size: int) -> np.ndarray | None:
    """The hand-labelled mask of a face at `size`, or None when it has no labels."""
    if not meta.xseg_polygons:
        return None
    return polygons_to_mask(meta.xseg_polygons, size, scale=size / meta.size)


def face_mask(meta: FaceMeta, size: int, prefer: str = "xseg") -> np.ndarray:
    """The best mask a face has, at `size`: learned XSeg mask, else its labels, else the landmark hull.

    `prefer="labels"` puts hand labels first (they are the ground truth the model learned from).
    """
    learned = decode_mask(meta.xseg_mask, size) if meta.xseg_mask else None
    labels = label_mask(meta, size)
    order = (labels, learned) if prefer == "labels" else (learned, labels)
    for m in order:
        if m is not None:
            return m
    return face_hull_mask(np.asarray(meta.landmarks) * (size / meta.size), size)


def iou(a: np.ndarray, b: np.ndarray, threshold: float = 0.5) -> float:
    """Intersection over union of two masks, thresholded."""
    a, b = a >= threshold, b >= threshold
    union = np.logical_or(a, b).sum()
    return float(np.logical_and(a, b).sum() / union) if union else 1.0


def hull_polygon(landmarks: np.ndarray, forehead: float = 0.3) -> dict:
    """An include polygon around the landmark hull (brows lifted by `forehead`), in landmark coordinates."""
    pts = np.asarray(landmarks, np.float32).reshape(68, 2)
    if forehead > 0:
        brows = pts[17:27]
        pts = np.vstack([pts, brows + (brows - pts[8]) * forehead])
    hull = cv2.convexHull(pts.astype(np.float32))[:, 0]
    return {"kind": "include", "points": np.round(hull.astype(np.float64), 2).tolist()}
