"""Heavy augmentation for XSeg training: a handful of labels must cover a whole clip.

Pure functions on arrays: image BGR uint8 HxWx3, mask float32 HxW in [0, 1], both at the
training resolution. Each step is random and independent, driven by one numpy Generator.
"""

from __future__ import annotations

import cv2
import numpy as np


def random_warp(image: np.ndarray, mask: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Rotation, scale, shift and mirror: the same geometry for image and mask."""
    h, w = mask.shape
    angle = rng.uniform(-15, 15)
    scale = rng.uniform(0.9, 1.1)
    m = cv2.getRotationMatrix2D((w / 2, h / 2), angle, scale)
    m[:, 2] += rng.uniform(-0.06, 0.06, 2) * (w, h)
    image = cv2.warpAffine(image, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    mask = cv2.warpAffine(mask, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    if rng.random() < 0.5:
        image, mask = image[:, ::-1], mask[:, ::-1]
    return np.ascontiguousarray(image), np.ascontiguousarray(mask)


def random_background(image: np.ndarray, mask: np.ndarray, other: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Put the labelled face over a different background: another face shifted, a flat colour or noise.

    So the network learns the face, not the room it was filmed in.
    """
    h, w = mask.shape
    kind = rng.integers(3)
    if kind == 0:
        shift = rng.integers(-w // 2, w // 2 + 1, 2)
        bg = np.roll(other, tuple(shift), axis=(0, 1))
    elif kind == 1:
        bg = np.empty_like(image)
        bg[:] = rng.integers(0, 256, 3, dtype=np.uint8)
    else:
        small = rng.integers(0, 256, (4, 4, 3), dtype=np.uint8)
        bg = cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)
    alpha = mask[..., None]
    return (image * alpha + bg * (1 - alpha)).astype(np.uint8)


def random_colour(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Brightness, contrast, saturation and hue shifts, as lighting changes between shots."""
    hsv = cv2.cvtColor(image, cv2.COLOR_BGR2HSV).astype(np.float32)
    hsv[..., 0] = (hsv[..., 0] + rng.uniform(-8, 8)) % 180
    hsv[..., 1] *= rng.uniform(0.6, 1.4)
    hsv[..., 2] = hsv[..., 2] * rng.uniform(0.6, 1.4) + rng.uniform(-25, 25)
    return cv2.cvtColor(np.clip(hsv, 0, 255).astype(np.uint8), cv2.COLOR_HSV2BGR)


def random_blur(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    if rng.random() < 0.5:
        return cv2.GaussianBlur(image, (0, 0), rng.uniform(0.5, 1.5))
    k = int(rng.integers(3, 6))
    kernel = np.zeros((k, k), np.float32)
    kernel[k // 2, :] = 1.0 / k  # horizontal motion blur, then rotated
    rot = cv2.getRotationMatrix2D((k / 2 - 0.5, k / 2 - 0.5), rng.uniform(0, 180), 1.0)
    kernel = cv2.warpAffine(kernel, rot, (k, k))
    return cv2.filter2D(image, -1, kernel / max(kernel.sum(), 1e-6))


def random_jpeg(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(20, 90))])
    return cv2.imdecode(buf, cv2.IMREAD_COLOR) if ok else image


def augment(
    image: np.ndarray, mask: np.ndarray, other: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """One training sample: geometry always, the rest each with its own probability."""
    image, mask = random_warp(image, mask, rng)
    if rng.random() < 0.4:
        image = random_background(image, mask, other, rng)
    if rng.random() < 0.7:
        image = random_colour(image, rng)
    if rng.random() < 0.25:
        image = random_blur(image, rng)
    if rng.random() < 0.25:
        image = random_jpeg(image, rng)
    return image, mask
