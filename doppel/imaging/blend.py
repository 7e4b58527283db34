"""Blending a face into a frame: histogram matching and Poisson (seamless) cloning."""

from __future__ import annotations

import cv2
import numpy as np


def hist_match(target: np.ndarray, reference: np.ndarray, mask: np.ndarray | None = None, threshold: int = 255) -> np.ndarray:
    """Match each channel's histogram of `target` to `reference` (float32 BGR in [0, 1]).

    With a mask, only pixels inside it (> 0.5) count. `threshold` (0..255) squeezes the
    target's cumulative histogram, as DeepFaceLab's hist-match threshold: below 255 the
    brightest target values map to less than the reference's brightest, which tames highlights.
    """
    keep = None if mask is None else np.asarray(mask).reshape(-1) > 0.5
    if keep is not None and keep.sum() < 16:
        keep = None
    t8 = np.clip(target * 255.0 + 0.5, 0, 255).astype(np.uint8)
    r8 = np.clip(reference * 255.0 + 0.5, 0, 255).astype(np.uint8)
    out = np.empty(target.shape, np.float32)
    scale = np.clip(threshold, 0, 255) / 255.0
    for c in range(3):
        tc, rc = t8[..., c].reshape(-1), r8[..., c].reshape(-1)
        if keep is not None:
            tc_s, rc_s = tc[keep], rc[keep]
        else:
            tc_s, rc_s = tc, rc
        t_cdf = np.cumsum(np.bincount(tc_s, minlength=256)).astype(np.float64)
        r_cdf = np.cumsum(np.bincount(rc_s, minlength=256)).astype(np.float64)
        t_cdf = t_cdf / t_cdf[-1] * scale
        r_cdf = r_cdf / r_cdf[-1]
        lut = np.interp(t_cdf, r_cdf, np.arange(256, dtype=np.float64))
        out[..., c] = (lut[t8[..., c]] / 255.0).astype(np.float32)
    return out


def seamless_clone(face: np.ndarray, frame: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Poisson-blend `face` into `frame` (same-size uint8 BGR images) where `mask` > 0.5.

    Returns the frame unchanged when the mask is empty. OpenCV wants the mask's bounding box
    inside the image with a 1 px margin, so the mask border is cleared first.
    """
    m = (np.asarray(mask) > 0.5).astype(np.uint8) * 255
    m[:1], m[-1:], m[:, :1], m[:, -1:] = 0, 0, 0, 0
    if cv2.countNonZero(m) < 16:
        return frame.copy()
    # OpenCV puts the mask's bounding box at center - size // 2: give exactly that, or the face shifts a pixel.
    x, y, w, h = cv2.boundingRect(m)
    center = (x + w // 2, y + h // 2)
    try:
        return cv2.seamlessClone(face, frame, m, center, cv2.NORMAL_CLONE)
    except cv2.error:  # degenerate shapes at the frame border: plain paste is the safe fallback
        alpha = (m > 0)[..., None]
        return np.where(alpha, face, frame)
