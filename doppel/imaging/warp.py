"""Warp a face image back into its frame, touching only the face's bounding box (the ROI)."""

from __future__ import annotations

import cv2
import numpy as np


def warped_bounds(face_to_frame: np.ndarray, size: int, frame_shape: tuple[int, ...], margin: int = 2) -> tuple[int, int, int, int] | None:
    """(x0, y0, x1, y1) of the face square mapped into the frame, clipped; None if it lies outside."""
    corners = np.array([[0, 0, 1], [size, 0, 1], [0, size, 1], [size, size, 1]], np.float64)
    pts = corners @ np.asarray(face_to_frame, np.float64).T
    h, w = frame_shape[:2]
    x0 = max(0, int(np.floor(pts[:, 0].min())) - margin)
    y0 = max(0, int(np.floor(pts[:, 1].min())) - margin)
    x1 = min(w, int(np.ceil(pts[:, 0].max())) + margin)
    y1 = min(h, int(np.ceil(pts[:, 1].max())) + margin)
    if x1 <= x0 or y1 <= y0:
        return None
    return x0, y0, x1, y1


def warp_into_roi(face: np.ndarray, face_to_frame: np.ndarray, bounds: tuple[int, int, int, int], interpolation: int = cv2.INTER_CUBIC) -> np.ndarray:
    """The face image as it lands in the frame region `bounds` (zeros where the face does not reach)."""
    x0, y0, x1, y1 = bounds
    m = np.asarray(face_to_frame, np.float64).copy()
    m[:, 2] -= (x0, y0)  # frame -> ROI coordinates
    return cv2.warpAffine(face, m, (x1 - x0, y1 - y0), flags=interpolation, borderMode=cv2.BORDER_CONSTANT, borderValue=0)


def warp_from_frame(frame: np.ndarray, face_to_frame: np.ndarray, size: int) -> np.ndarray:
    """Cut the aligned face out of a frame (the inverse direction), edges replicated."""
    return cv2.warpAffine(frame, np.asarray(face_to_frame, np.float64), (size, size), flags=cv2.WARP_INVERSE_MAP | cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def scale_about_center(face_to_frame: np.ndarray, size: int, scale: float) -> np.ndarray:
    """Grow or shrink the face about its centre (merge's output face scale)."""
    if scale == 1.0:
        return np.asarray(face_to_frame, np.float64)
    c = size / 2.0
    s = np.array([[scale, 0, c * (1 - scale)], [0, scale, c * (1 - scale)], [0, 0, 1]], np.float64)
    return (np.vstack([face_to_frame, [0, 0, 1]]) @ s)[:2]
