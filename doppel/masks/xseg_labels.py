"""XSeg labels and masks as stored in face metadata.

Decoding and the mask rule itself live in doppel/core/face_mask.py.

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
from doppel.core.face_mask import hull_points

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


def iou(a: np.ndarray, b: np.ndarray, threshold: float = 0.5) -> float:
    """Intersection over union of two masks, thresholded."""
    a, b = a >= threshold, b >= threshold
    union = np.logical_or(a, b).sum()
    return float(np.logical_and(a, b).sum() / union) if union else 1.0


def hull_polygon(landmarks: np.ndarray, forehead: float = 0.3) -> dict:
    """An include polygon around the landmark hull (brows lifted by `forehead`), in landmark coordinates."""
    hull = cv2.convexHull(hull_points(landmarks, forehead))[:, 0]
    return {"kind": "include", "points": np.round(hull.astype(np.float64), 2).tolist()}
