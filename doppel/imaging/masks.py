"""Mask operations for merging: erode/dilate and feather, scaled to the mask's own size."""

from __future__ import annotations

import cv2
import numpy as np


def _ellipse(radius: int) -> np.ndarray:
    return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))


def mask_extent(mask: np.ndarray, threshold: float = 0.1) -> int:
    """The shorter side of the mask's bounding box in pixels (0 for an empty mask)."""
    _, _, w, h = cv2.boundingRect((np.asarray(mask) >= threshold).view(np.uint8))
    if w == 0:
        return 0
    return int(min(w, h)) - 1


def erode_blur(mask: np.ndarray, erode: float = 0.0, blur: float = 0.0, border: int = 0) -> np.ndarray:
    """Shrink (erode > 0) or grow (erode < 0) then feather a float mask in [0, 1].

    `erode` and `blur` are in percent, as in DeepFaceLab's merger: relative to the mask's shorter
    side, so one setting looks the same on small and large faces. `border` zeroes a band at the
    image edge first (half the blur wide at least) so the feather fades out inside the face square
    instead of being cut off by it.
    """
    mask = np.asarray(mask, np.float32)
    if mask.ndim == 3:
        mask = mask[..., 0]
    extent = mask_extent(mask)
    if extent < 4:
        return mask.copy()
    erode_px = int(round(extent * 0.12 * erode / 100.0))
    blur_px = int(round(extent * 0.10 * blur / 100.0))
    if erode_px > 0:
        mask = cv2.erode(mask, _ellipse(erode_px))
    elif erode_px < 0:
        mask = cv2.dilate(mask, _ellipse(-erode_px))
    pad = max(border, blur_px // 2 + 1) if blur_px > 0 else border
    if pad > 0:
        mask = mask.copy()
        mask[:pad], mask[-pad:], mask[:, :pad], mask[:, -pad:] = 0, 0, 0, 0
    if blur_px > 0:
        k = blur_px | 1  # odd kernel
        mask = cv2.GaussianBlur(mask, (k, k), 0)
        return np.clip(mask, 0.0, 1.0, out=mask)  # a fresh array: clip in place
    return np.clip(mask, 0.0, 1.0)
