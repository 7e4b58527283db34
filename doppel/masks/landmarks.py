"""Masks drawn from the 68-point layout (the one DeepFaceLab users know).

Index groups: jaw 0-16, right brow 17-21, left brow 22-26, nose 27-35, right eye 36-41,
left eye 42-47, mouth 48-67 (outer lip 48-59, inner 60-67).
"""

from __future__ import annotations

import cv2
import numpy as np

JAW = slice(0, 17)
RIGHT_BROW = slice(17, 22)
LEFT_BROW = slice(22, 27)
NOSE = slice(27, 36)
RIGHT_EYE = slice(36, 42)
LEFT_EYE = slice(42, 48)
MOUTH = slice(48, 68)


def _fill_hull(mask: np.ndarray, points: np.ndarray) -> None:
    hull = cv2.convexHull(np.round(points).astype(np.int32))
    cv2.fillConvexPoly(mask, hull, 1.0, lineType=cv2.LINE_AA)


def face_hull_mask(landmarks: np.ndarray, size: int | tuple[int, int], forehead: float = 0.0) -> np.ndarray:
    """Float32 HxW mask in [0, 1]: the convex hull of the face.

    `forehead` lifts the brows away from the eyes by that share of the eye-to-brow... distance,
    reaching up to the hairline for whole-face and head sets (0 keeps the plain hull).
    """
    h, w = (size, size) if isinstance(size, int) else size
    pts = np.asarray(landmarks, np.float32).reshape(68, 2).copy()
    if forehead > 0:
        brows = pts[17:27]
        chin = pts[8]
        up = brows - chin
        pts = np.vstack([pts, brows + up * forehead])
    mask = np.zeros((h, w), np.float32)
    _fill_hull(mask, pts)
    return mask


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
