"""Per-face measurements used by the sort methods. Pure functions on BGR uint8 arrays.

Images are brought to one working size first so that scores compare across facesets of different
resolutions; the face hull (from the stored landmarks) keeps the background out of the numbers.
"""

from __future__ import annotations

import cv2
import numpy as np

from doppel.core.face_mask import face_hull_mask

WORK_SIZE = 256


def face_mask(image: np.ndarray, landmarks: np.ndarray | None) -> np.ndarray:
    """Bool HxW mask of the face hull, or the whole image when there are no landmarks."""
    h, w = image.shape[:2]
    if landmarks is None or not np.any(landmarks):
        return np.ones((h, w), bool)
    mask = face_hull_mask(landmarks, (h, w)) > 0.5
    return mask if mask.sum() > 16 else np.ones((h, w), bool)


def _work(image: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    h, w = image.shape[:2]
    if (h, w) != (WORK_SIZE, WORK_SIZE):
        interp = cv2.INTER_AREA if h > WORK_SIZE else cv2.INTER_LINEAR
        image = cv2.resize(image, (WORK_SIZE, WORK_SIZE), interpolation=interp)
        mask = cv2.resize(mask.astype(np.uint8), (WORK_SIZE, WORK_SIZE), interpolation=cv2.INTER_NEAREST) > 0
    return image, mask


def _gray(image: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(image, cv2.COLOR_BGR2GRAY) if image.ndim == 3 else image


def sharpness(image: np.ndarray, mask: np.ndarray) -> float:
    """Variance of the Laplacian inside the face: high for sharp faces, low for blurred ones."""
    image, mask = _work(image, mask)
    lap = cv2.Laplacian(_gray(image).astype(np.float32), cv2.CV_32F, ksize=3)
    inner = cv2.erode(mask.astype(np.uint8), np.ones((5, 5), np.uint8)) > 0  # the hull edge is not detail
    vals = lap[inner] if inner.any() else lap[mask]
    return float(vals.var())


def motion_sharpness(image: np.ndarray, mask: np.ndarray) -> float:
    """Gradient energy in the face's weakest direction (smallest eigenvalue of the structure
    tensor). Motion blur wipes out detail along one direction, so it scores low even when the other
    direction stays crisp; plain sharpness misses that."""
    image, mask = _work(image, mask)
    g = _gray(image).astype(np.float32)
    gx = cv2.Sobel(g, cv2.CV_32F, 1, 0, ksize=3)[mask]
    gy = cv2.Sobel(g, cv2.CV_32F, 0, 1, ksize=3)[mask]
    sxx, syy, sxy = float((gx * gx).mean()), float((gy * gy).mean()), float((gx * gy).mean())
    half_trace, det = (sxx + syy) / 2, sxx * syy - sxy * sxy
    return float(half_trace - np.sqrt(max(half_trace * half_trace - det, 0.0)))


def histogram(image: np.ndarray, mask: np.ndarray, bins: int = 64) -> np.ndarray:
    """Square root of the per-channel colour histograms of the face (each channel summing to 1
    before the root): the form in which Bhattacharyya distances are one matrix product."""
    image, mask = _work(image, mask)
    m = mask.astype(np.uint8)
    chans = [cv2.calcHist([image], [c], m, [bins], [0, 256]).ravel() for c in range(image.shape[2])]
    return np.sqrt(np.concatenate([h / max(h.sum(), 1.0) for h in chans])).astype(np.float32)


def bhattacharyya(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Bhattacharyya distances (0 = identical) between rows of root histograms a and b (see `histogram`)."""
    channels = 3
    coeff = np.asarray(a, np.float32) @ np.asarray(b, np.float32).T / channels
    return np.sqrt(np.clip(1.0 - coeff, 0.0, 1.0))


def brightness(image: np.ndarray, mask: np.ndarray) -> float:
    hsv = cv2.cvtColor(image, cv2.COLOR_BGR2HSV)
    return float(hsv[..., 2][mask].mean())


def hue(image: np.ndarray, mask: np.ndarray) -> float:
    """Mean hue of the face (circular mean, OpenCV's 0-180 scale)."""
    hsv = cv2.cvtColor(image, cv2.COLOR_BGR2HSV)
    angle = hsv[..., 0][mask].astype(np.float64) * (np.pi / 90.0)
    mean = np.arctan2(np.sin(angle).mean(), np.cos(angle).mean())
    return float((mean % (2 * np.pi)) * 90.0 / np.pi)


def black_share(image: np.ndarray, threshold: int = 8) -> float:
    """Share of (near) black pixels in the whole image: the fill of a face cut at the frame edge."""
    return float((image.max(axis=2) <= threshold).mean())


def thumbnail(image: np.ndarray, size: int = 32) -> np.ndarray:
    """Small grey float vector for pixel-difference comparisons."""
    return cv2.resize(_gray(image), (size, size), interpolation=cv2.INTER_AREA).astype(np.float32).ravel() / 255.0


def l2(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Euclidean distances between rows of a and b."""
    a = np.asarray(a, np.float32)
    b = np.asarray(b, np.float32)
    d2 = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2.0 * a @ b.T
    return np.sqrt(np.maximum(d2, 0.0))


def distance_sums(vectors: np.ndarray, pairwise, block: int = 1024) -> np.ndarray:
    """Each row's summed distance to all rows, in blocks: memory stays O(N) for large sets."""
    return np.concatenate([pairwise(vectors[i : i + block], vectors).sum(1) for i in range(0, len(vectors), block)]) if len(vectors) else np.zeros(0)


def nearest_chain(vectors: np.ndarray, pairwise, start: int = 0) -> list[int]:
    """Order that always steps to the closest face not yet visited: alike faces end up together.

    Distances are computed one row at a time, so 30 000 faces need no 30 000 x 30 000 matrix.
    """
    n = len(vectors)
    if n == 0:
        return []
    work = np.array(vectors, np.float32, copy=True)  # unvisited rows are kept in work[:m]
    ids = np.arange(n)
    order = []
    current = start
    m = n
    while True:
        order.append(int(ids[current]))
        m -= 1  # move the visited row past the end of the live block (a swap, no copy)
        work[[current, m]] = work[[m, current]]
        ids[[current, m]] = ids[[m, current]]
        if m == 0:
            break
        current = int(np.argmin(pairwise(work[m : m + 1], work[:m])[0]))
    return order
