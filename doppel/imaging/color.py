"""Colour transfer: recolour a face (`target`) so its colours match another (`reference`).

All functions take float32 BGR images in [0, 1] (HxWx3) and return the same. Statistics come
from the pixels inside each mask when one is given (mask > 0.5), but the transform is applied to
the whole target, so the caller decides where to blend it. Modes, as DeepFaceLab users know them:

- `rct`: Reinhard: mean and std per channel in Lab.
- `lct`: linear: match the colour covariance (symmetric matrix square roots).
- `mkl`: Monge-Kantorovich linear map between the two colour Gaussians.
- `idt`: iterative distribution transfer: 1-D quantile matching along random rotations.
- `sot`: sliced optimal transport: move pixels along random directions toward the sorted reference.
- `mix`: lightness by a linear match, chroma by `sot` at constant lightness.

A `-m` suffix (`mkl-m`, `idt-m`, `sot-m`, `mix-m`) is accepted: it means "use the masks", which
merge passes for those modes; without masks it behaves like the plain mode.
"""

from __future__ import annotations

from typing import Callable

import cv2
import numpy as np

from doppel.core.errors import DoppelError

_MIN_PIXELS = 16  # fewer masked pixels than this: use the whole image (a mask at the frame edge)


def _pixels(image: np.ndarray, mask: np.ndarray | None) -> np.ndarray:
    """The Nx3 pixels a statistic is taken from."""
    flat = image.reshape(-1, image.shape[-1])
    if mask is None:
        return flat
    keep = np.asarray(mask, np.float32).reshape(-1) > 0.5
    if keep.size != flat.shape[0]:
        raise DoppelError(f"mask shape {np.shape(mask)} does not match image shape {image.shape}")
    return flat[keep] if keep.sum() >= _MIN_PIXELS else flat


def _sqrtm(cov: np.ndarray, inverse: bool = False) -> np.ndarray:
    """Square root (or inverse square root) of a symmetric positive semi-definite matrix."""
    w, v = np.linalg.eigh(cov)
    w = 1.0 / np.sqrt(np.maximum(w, 1e-12)) if inverse else np.sqrt(np.maximum(w, 0.0))
    return (v * w) @ v.T


def _stats(pixels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    p = pixels.astype(np.float64)
    mean = p.mean(0)
    cov = np.cov(p, rowvar=False) + np.eye(p.shape[1]) * 1e-8
    return mean, cov


def _apply_linear(image: np.ndarray, a: np.ndarray, t_mean: np.ndarray, r_mean: np.ndarray) -> np.ndarray:
    flat = image.reshape(-1, 3).astype(np.float64)
    out = (flat - t_mean) @ a.T + r_mean
    return out.reshape(image.shape).astype(np.float32)


def _lab_stats(lab: np.ndarray, mask: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel mean and standard deviation of a Lab image, inside the mask (> 0.5) when given."""
    m = None
    if mask is not None:
        keep = np.asarray(mask, np.float32).reshape(lab.shape[:2]) > 0.5
        if keep.sum() >= _MIN_PIXELS:
            m = keep.view(np.uint8)
    mean, std = cv2.meanStdDev(lab, mask=m)  # one pass, no copy of the masked pixels
    return mean.ravel().astype(np.float32), std.ravel().astype(np.float32)


def rct(target, reference, target_mask=None, reference_mask=None) -> np.ndarray:
    t_lab = cv2.cvtColor(target, cv2.COLOR_BGR2LAB)
    r_lab = cv2.cvtColor(reference, cv2.COLOR_BGR2LAB)
    for m, image in ((target_mask, target), (reference_mask, reference)):
        if m is not None and np.size(m) != image.shape[0] * image.shape[1]:
            raise DoppelError(f"mask shape {np.shape(m)} does not match image shape {image.shape}")
    t_mean, t_std = _lab_stats(t_lab, target_mask)
    r_mean, r_std = _lab_stats(r_lab, reference_mask)
    # A flat target (an untrained model's grey face) must not have its noise blown up.
    gain = np.minimum(r_std / np.maximum(t_std, 1e-3), 5.0)
    out = t_lab
    out -= t_mean
    out *= gain
    out += r_mean
    # Keep Lab in range so the conversion back does not wrap.
    lo, hi = np.float32([0, -127, -127]), np.float32([100, 127, 127])
    np.clip(out, lo, hi, out=out)
    return cv2.cvtColor(out, cv2.COLOR_LAB2BGR)


def lct(target, reference, target_mask=None, reference_mask=None) -> np.ndarray:
    t_mean, t_cov = _stats(_pixels(target, target_mask))
    r_mean, r_cov = _stats(_pixels(reference, reference_mask))
    a = _sqrtm(r_cov) @ _sqrtm(t_cov, inverse=True)
    return _apply_linear(target, a, t_mean, r_mean)


def mkl(target, reference, target_mask=None, reference_mask=None) -> np.ndarray:
    t_mean, t_cov = _stats(_pixels(target, target_mask))
    r_mean, r_cov = _stats(_pixels(reference, reference_mask))
    t_half, t_inv_half = _sqrtm(t_cov), _sqrtm(t_cov, inverse=True)
    # The optimal linear map between Gaussians: T = Ct^-1/2 (Ct^1/2 Cr Ct^1/2)^1/2 Ct^-1/2.
    a = t_inv_half @ _sqrtm(t_half @ r_cov @ t_half) @ t_inv_half
    return _apply_linear(target, a, t_mean, r_mean)


def _random_rotation(rng: np.random.Generator, dims: int = 3) -> np.ndarray:
    q, r = np.linalg.qr(rng.standard_normal((dims, dims)))
    return q * np.sign(np.diag(r))


def _match_1d(values: np.ndarray, source_sample: np.ndarray, reference_sample: np.ndarray, bins: int = 256) -> np.ndarray:
    """Map `values` so that the distribution of `source_sample` becomes that of `reference_sample`."""
    q = np.linspace(0.0, 1.0, bins)
    src_q = np.quantile(source_sample, q)
    ref_q = np.quantile(reference_sample, q)
    src_q = src_q + np.arange(bins) * 1e-9  # np.interp needs increasing x
    return np.interp(values, src_q, ref_q)


def idt(target, reference, target_mask=None, reference_mask=None, iterations: int = 20, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    flat = target.reshape(-1, 3).astype(np.float64)
    keep = _mask_index(target_mask, flat.shape[0])
    ref = _pixels(reference, reference_mask).astype(np.float64)
    for _ in range(iterations):
        rot = _random_rotation(rng)
        proj, ref_proj = flat @ rot, ref @ rot
        matched = np.empty_like(proj)
        for axis in range(3):
            matched[:, axis] = _match_1d(proj[:, axis], proj[keep, axis], ref_proj[:, axis])
        flat = flat + (matched - proj) @ rot.T
    return flat.reshape(target.shape).astype(np.float32)


def _mask_index(mask: np.ndarray | None, count: int) -> np.ndarray:
    if mask is None:
        return np.arange(count)
    mask = np.asarray(mask, np.float32).reshape(-1)
    if mask.size != count:
        raise DoppelError(f"mask of {mask.size} pixels does not match an image of {count} pixels")
    keep = np.flatnonzero(mask > 0.5)
    return keep if keep.size >= _MIN_PIXELS else np.arange(count)


def sot(
    target,
    reference,
    target_mask=None,
    reference_mask=None,
    steps: int = 10,
    batch: int = 5,
    smooth: bool = True,
    seed: int = 0,
) -> np.ndarray:
    rng = np.random.default_rng(seed)
    flat = target.reshape(-1, 3).astype(np.float64)
    keep = _mask_index(target_mask, flat.shape[0])
    ref = _pixels(reference, reference_mask).astype(np.float64)
    ranks = np.linspace(0.0, 1.0, keep.size)
    for _ in range(steps):
        advect = np.zeros_like(flat)
        for _ in range(batch):
            direction = rng.standard_normal(3)
            direction /= np.linalg.norm(direction)
            proj = flat @ direction
            ref_sorted = np.sort(ref @ direction)
            order = np.argsort(proj[keep])
            sorted_proj = proj[keep][order]
            # Where each masked pixel should sit: the reference value at the same rank.
            wanted = np.interp(ranks, np.linspace(0.0, 1.0, ref_sorted.size), ref_sorted)
            if keep.size == flat.shape[0]:
                full_shift = np.empty(flat.shape[0])
                full_shift[order] = wanted - sorted_proj
            else:  # pixels outside the mask follow the masked pixels of the same projected value
                full_shift = np.interp(proj, sorted_proj, wanted - sorted_proj)
            advect += np.outer(full_shift, direction)
        flat = flat + advect / batch
    out = flat.reshape(target.shape).astype(np.float32)
    if smooth:
        # Regularise: a noisy per-pixel transport turns into a smooth colour change, edges kept.
        delta = out - target
        delta = cv2.bilateralFilter(delta, 9, 0.1, 5)
        out = target + delta
    return out


def mix(target, reference, target_mask=None, reference_mask=None) -> np.ndarray:
    t_lab = cv2.cvtColor(target, cv2.COLOR_BGR2LAB)
    r_lab = cv2.cvtColor(reference, cv2.COLOR_BGR2LAB)
    tl, rl = _pixels(t_lab[..., :1], target_mask), _pixels(r_lab[..., :1], reference_mask)
    light = (t_lab[..., 0] - tl.mean()) * (rl.std() / max(float(tl.std()), 1e-3)) + rl.mean()
    # Chroma at one lightness, so sot moves only hue and saturation.
    flat_t, flat_r = t_lab.copy(), r_lab.copy()
    flat_t[..., 0] = flat_r[..., 0] = 70.0
    chroma = sot(
        cv2.cvtColor(flat_t, cv2.COLOR_LAB2BGR), cv2.cvtColor(flat_r, cv2.COLOR_LAB2BGR), target_mask, reference_mask
    )
    out = cv2.cvtColor(np.clip(chroma, 0, 1), cv2.COLOR_BGR2LAB)
    out[..., 0] = np.clip(light, 0, 100)
    return cv2.cvtColor(out, cv2.COLOR_LAB2BGR)


TRANSFERS: dict[str, Callable[..., np.ndarray]] = {"rct": rct, "lct": lct, "mkl": mkl, "idt": idt, "sot": sot, "mix": mix}
# Every name a user may pass (merge's --color-transfer choices).
MODES = ("rct", "lct", "mkl", "mkl-m", "idt", "idt-m", "sot", "sot-m", "mix-m")


def _as_float_image(image: np.ndarray, what: str) -> np.ndarray:
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[2] != 3:
        raise DoppelError(f"colour transfer needs an HxWx3 {what} image, got shape {image.shape}")
    if image.dtype == np.uint8:
        return image.astype(np.float32) / 255.0
    return np.clip(image.astype(np.float32, copy=False), 0.0, 1.0)


def color_transfer(
    mode: str,
    target: np.ndarray,
    reference: np.ndarray,
    target_mask: np.ndarray | None = None,
    reference_mask: np.ndarray | None = None,
) -> np.ndarray:
    """Recolour `target` toward `reference` with `mode`; returns float32 BGR in [0, 1].

    `target_mask`/`reference_mask` (HxW or HxWx1, any float) restrict where the colour statistics
    are taken. The images may differ in size.
    """
    name = mode.lower().removesuffix("-m")
    if name not in TRANSFERS:
        raise DoppelError(f"unknown colour transfer '{mode}'", hint=f"Use one of {', '.join(MODES)}")
    target = _as_float_image(target, "target")
    reference = _as_float_image(reference, "reference")
    out = TRANSFERS[name](target, reference, target_mask, reference_mask)
    return np.clip(out, 0.0, 1.0).astype(np.float32, copy=False)
