"""Least-squares similarity transform between point sets (Umeyama 1991), in 2D or 3D."""

from __future__ import annotations

import numpy as np


def umeyama(src: np.ndarray, dst: np.ndarray, scale: bool = True) -> np.ndarray:
    """(d+1)x(d+1) homogeneous matrix T minimising sum |T(src_i) - dst_i|^2 over rotation, scale, shift.

    Reflections are excluded, so a mirrored point set gives a proper rotation, not a flip.
    """
    src = np.asarray(src, np.float64)
    dst = np.asarray(dst, np.float64)
    n, d = src.shape
    src_mean, dst_mean = src.mean(0), dst.mean(0)
    src_c, dst_c = src - src_mean, dst - dst_mean
    cov = dst_c.T @ src_c / n
    u, s, vt = np.linalg.svd(cov)
    sign = np.ones(d)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        sign[-1] = -1
    rot = u @ np.diag(sign) @ vt
    var = (src_c**2).sum() / n
    c = float((s * sign).sum() / var) if scale and var > 0 else 1.0
    t = np.eye(d + 1)
    t[:d, :d] = c * rot
    t[:d, d] = dst_mean - c * rot @ src_mean
    return t
