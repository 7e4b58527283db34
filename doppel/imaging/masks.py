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
    side (erode 100 = 12 % of it, blur 100 = a feather 10 % of it wide), so one setting looks the
    same on small and large faces. The feather lies inside the (eroded) mask: the weight falls from 90 % to 10 % over the blur width and
    reaches 10 % at the mask's edge, so pixels the mask leaves out (which a masked model never
    learned) barely show. `border` zeroes a band at the image edge first (the feather's reach at
    least) so the feather fades out inside the face square instead of being cut off by it.
    """
    mask = np.asarray(mask, np.float32)
    if mask.ndim == 3:
        mask = mask[..., 0]
    extent = mask_extent(mask)
    if extent < 4:
        return mask.copy()
    erode_px = int(round(extent * 0.12 * erode / 100.0))
    width = extent * 0.10 * blur / 100.0  # 90 % -> 10 % of the feather
    if width >= 1.0:
        erode_px += int(round(width / 2))  # centre the feather half its width inside the edge
    if erode_px > 0:
        mask = cv2.erode(mask, _ellipse(erode_px))
    elif erode_px < 0:
        mask = cv2.dilate(mask, _ellipse(-erode_px))
    feather = width >= 1.0
    sigma = width / 2.563  # a Gaussian edge goes from 10 % to 90 % over 2.563 sigma
    radius = int(np.ceil(3 * sigma)) if feather else 0
    pad = max(border, radius + 1) if feather else border
    if pad > 0:
        mask = mask.copy()
        mask[:pad], mask[-pad:], mask[:, :pad], mask[:, -pad:] = 0, 0, 0, 0
    if feather:
        mask = cv2.GaussianBlur(mask, (2 * radius + 1, 2 * radius + 1), sigma)
    # In place only on an array made here: never clip the caller's mask.
    return np.clip(mask, 0.0, 1.0, out=mask) if feather or pad > 0 else np.clip(mask, 0.0, 1.0)
