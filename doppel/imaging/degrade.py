"""Make a sharp predicted face look like the footage: resolution loss, colour depth, motion blur."""

from __future__ import annotations

import math

import cv2
import numpy as np


def bicubic_degrade(image: np.ndarray, power: float) -> np.ndarray:
    """Downscale then upscale (bicubic); `power` 0..100, 100 = a quarter of the resolution."""
    if power <= 0:
        return image
    h, w = image.shape[:2]
    scale = 1.0 - 0.75 * min(power, 100.0) / 100.0
    small = cv2.resize(image, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_CUBIC)
    return np.clip(cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC), 0.0, 1.0)


def color_degrade(image: np.ndarray, power: float) -> np.ndarray:
    """Fewer colour levels per channel; `power` 0..100, 100 = 8 levels (a compressed, banded look)."""
    if power <= 0:
        return image
    levels = max(8, int(round(256 - 248 * min(power, 100.0) / 100.0)))
    return np.round(image * (levels - 1)) / (levels - 1)


def motion_blur(image: np.ndarray, dx: float, dy: float) -> np.ndarray:
    """Linear motion blur along (dx, dy) pixels (the face's motion between frames, in its own coordinates)."""
    length = int(round(math.hypot(dx, dy)))
    if length < 2:
        return image
    k = length | 1
    kernel = np.zeros((k, k), np.float32)
    c = k // 2
    ux, uy = dx / math.hypot(dx, dy), dy / math.hypot(dx, dy)
    p0 = (round(c - ux * c), round(c - uy * c))
    p1 = (round(c + ux * c), round(c + uy * c))
    cv2.line(kernel, p0, p1, 1.0, 1)
    kernel /= kernel.sum()
    return cv2.filter2D(image, -1, kernel, borderType=cv2.BORDER_REPLICATE)
