"""Per-face traits read from the 68 landmarks and pixels: eye/mouth openness, face shape, lighting."""

from __future__ import annotations

import cv2
import numpy as np

from doppel.core.face_mask import face_hull_mask


def _pts(landmarks: np.ndarray) -> np.ndarray:
    return np.asarray(landmarks, np.float64).reshape(68, 2)


def _dist(p: np.ndarray, i: int, j: int) -> float:
    return float(np.linalg.norm(p[i] - p[j]))


def eye_openness(landmarks: np.ndarray) -> float:
    """Eye aspect ratio, both eyes averaged: about 0.25-0.35 open, under 0.15 closed."""
    p = _pts(landmarks)
    ratios = []
    for a, b, c, d, e, f in ((36, 37, 38, 39, 40, 41), (42, 43, 44, 45, 46, 47)):
        ratios.append((_dist(p, b, f) + _dist(p, c, e)) / (2.0 * max(_dist(p, a, d), 1e-6)))
    return float(np.mean(ratios))


def mouth_openness(landmarks: np.ndarray) -> float:
    """Inner-lip gap over mouth width: 0 closed, about 0.3+ wide open."""
    p = _pts(landmarks)
    gap = (_dist(p, 61, 67) + _dist(p, 62, 66) + _dist(p, 63, 65)) / 3.0
    return float(gap / max(_dist(p, 48, 54), 1e-6))


def face_shape(landmarks: np.ndarray) -> dict[str, float]:
    """Width-to-height (jaw ends / nose bridge to chin) and jaw-to-cheek width ratios."""
    p = _pts(landmarks)
    return {
        "width_to_height": _dist(p, 0, 16) / max(_dist(p, 27, 8), 1e-6),
        "jaw_to_cheek": _dist(p, 4, 12) / max(_dist(p, 1, 15), 1e-6),
    }


def lighting(face_bgr: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
    """Coarse light descriptor inside the face hull, in Lab units (0-100 for L):
    [mean L, right-minus-left L, bottom-minus-top L, mean a, mean b] (image left/right)."""
    h, w = face_bgr.shape[:2]
    mask = face_hull_mask(landmarks, (h, w)) > 0.5
    if not mask.any():
        return np.zeros(5)
    lab = cv2.cvtColor(face_bgr, cv2.COLOR_BGR2LAB).astype(np.float64)
    lab[..., 0] *= 100.0 / 255.0
    lab[..., 1:] -= 128.0
    ys, xs = np.nonzero(mask)
    cx, cy = xs.mean(), ys.mean()
    L = lab[..., 0]

    def mean_where(sel):
        return float(L[ys[sel], xs[sel]].mean()) if sel.any() else float(L[ys, xs].mean())

    return np.array(
        [
            L[ys, xs].mean(),
            mean_where(xs >= cx) - mean_where(xs < cx),
            mean_where(ys >= cy) - mean_where(ys < cy),
            lab[..., 1][ys, xs].mean(),
            lab[..., 2][ys, xs].mean(),
        ]
    )
