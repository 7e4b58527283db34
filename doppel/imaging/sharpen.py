"""Sharpen, soften and denoise a predicted face (float32 BGR in [0, 1])."""

from __future__ import annotations

import cv2
import numpy as np

SHARPEN_MODES = ("none", "box", "gaussian")


def sharpen(image: np.ndarray, mode: str = "gaussian", amount: float = 0.0, radius: int | None = None) -> np.ndarray:
    """Unsharp mask. `amount` in -100..100: positive sharpens, negative blurs toward the soft copy."""
    if mode == "none" or amount == 0:
        return image
    size = image.shape[0]
    r = radius if radius is not None else max(1, size // 64)
    k = 2 * r + 1
    soft = cv2.blur(image, (k, k)) if mode == "box" else cv2.GaussianBlur(image, (k, k), 0)
    a = amount / 100.0
    if a > 0:
        out = image + (image - soft) * (a * 2.0)
    else:
        out = image + (soft - image) * (-a)
    return np.clip(out, 0.0, 1.0)


def denoise(image: np.ndarray, power: float) -> np.ndarray:
    """Edge-preserving smoothing; `power` 0..500 (DeepFaceLab's denoise range)."""
    if power <= 0:
        return image
    sigma_color = 0.02 + 0.2 * power / 500.0
    return cv2.bilateralFilter(image, 5, sigma_color, 3)
