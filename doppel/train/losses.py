"""SAEHD's losses in torch (same code on CPU and GPU), with DFL's weights.

Per identity, summed: 10*DSSIM (two kernel sizes at >= 256 px) + 10*MSE on the images (inside the
blurred target mask when masked training is on), 300*L1 on the eyes/mouth hull, 10*MSE on the mask;
optional GAN, true-face, face-style and background-style terms. Per-sample terms are averaged over the
batch. Batches hold `src_target`, `src_mask`, `src_em_mask`, `dst_target`, `dst_mask`, `dst_em_mask`
(N,C,H,W in [0, 1]; masks N,1,H,W).
"""

from __future__ import annotations

import math
from functools import lru_cache

import torch
import torch.nn.functional as F

from doppel.models.base import ModelOutput
from doppel.models.train_options import TrainingOptions


@lru_cache(maxsize=64)
def _kernel_1d(size: int, sigma: float, center: float) -> tuple[float, ...]:
    k = [math.exp(-((i - center) ** 2) / (2 * sigma * sigma)) for i in range(size)]
    total = sum(k)
    return tuple(v / total for v in k)


def _separable(x: torch.Tensor, kernel: tuple[float, ...], padding: int) -> torch.Tensor:
    """Depthwise separable filter: a (1,k) then a (k,1) grouped conv (zero padding)."""
    c, k = x.shape[1], len(kernel)
    w = torch.tensor(kernel, dtype=x.dtype, device=x.device)
    x = F.conv2d(x, w.view(1, 1, 1, k).expand(c, 1, 1, k), padding=(0, padding), groups=c)
    return F.conv2d(x, w.view(1, 1, k, 1).expand(c, 1, k, 1), padding=(padding, 0), groups=c)


def gaussian_blur(x: torch.Tensor, sigma: float) -> torch.Tensor:
    """DFL's blur: kernel max(3, 4*sigma) (odd), zero padding, same size out."""
    size = max(3, int(4 * sigma))
    size += 1 - size % 2
    return _separable(x, _kernel_1d(size, float(sigma), float(size // 2)), size // 2)


def dssim(a: torch.Tensor, b: torch.Tensor, kernel_size: int, sigma: float = 1.5, max_val: float = 1.0) -> torch.Tensor:
    """(1 - SSIM) / 2 per sample (mean over channels), Gaussian window, 'valid' filtering, float32."""
    k = max(1, int(kernel_size))
    with torch.autocast(a.device.type, enabled=False):
        a, b = a.float(), b.float()
        c = a.shape[1]
        win = _kernel_1d(k, float(sigma), (k - 1) / 2)
        stats = _separable(torch.cat([a, b, a * b, a * a + b * b], dim=1), win, 0)
        mu_a, mu_b, ab, sq = stats.split(c, dim=1)
        c1, c2 = (0.01 * max_val) ** 2, (0.03 * max_val) ** 2
        num0 = mu_a * mu_b * 2.0
        den0 = mu_a.square() + mu_b.square()
        luminance = (num0 + c1) / (den0 + c1)
        cs = (ab * 2.0 - num0 + c2) / (sq - den0 + c2)
        ssim = (luminance * cs).mean(dim=(2, 3))
        return ((1.0 - ssim) / 2.0).mean(dim=1)


def image_dssim(pred: torch.Tensor, target: torch.Tensor, resolution: int) -> torch.Tensor:
    """DFL's weighting: 10*DSSIM(res/11.6) below 256 px, else 5*DSSIM(res/11.6) + 5*DSSIM(res/23.2)."""
    if resolution < 256:
        return 10 * dssim(pred, target, int(resolution / 11.6))
    return 5 * dssim(pred, target, int(resolution / 11.6)) + 5 * dssim(pred, target, int(resolution / 23.2))


def mse(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return (a - b).square().flatten(1).mean(dim=1)


def l1(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return (a - b).abs().flatten(1).mean(dim=1)


def blur_mask(mask: torch.Tensor, resolution: int) -> torch.Tensor:
    """The loss mask: target mask blurred (sigma max(1, res/32)), clipped to [0, 0.5] and doubled."""
    return gaussian_blur(mask, max(1, resolution // 32)).clamp(0.0, 0.5) * 2.0


def border_mask(like: torch.Tensor, resolution: int) -> torch.Tensor:
    """Zero on a thin frame (res/32 px) where alignment padding leaves flat colour."""
    b = max(1, resolution // 32)
    m = torch.zeros(1, 1, like.shape[-2], like.shape[-1], device=like.device, dtype=like.dtype)
    m[..., b:-b, b:-b] = 1.0
    return m


def blur_out(target: torch.Tensor, mask: torch.Tensor, resolution: int) -> torch.Tensor:
    """DFL's blur_out_mask: replace what lies outside the mask by a mask-normalised blur of it."""
    sigma = resolution / 128
    anti = 1.0 - mask
    x = gaussian_blur(target * anti, sigma)
    y = 1.0 - gaussian_blur(mask, sigma)
    y = torch.where(y == 0, torch.ones_like(y), y)
    return target * mask + (x / y) * anti


def style_loss(a: torch.Tensor, b: torch.Tensor, blur_sigma: float, weight: float) -> torch.Tensor:
    """Match per-channel mean and std (after a blur): DFL's face-style term."""
    if blur_sigma > 0:
        a, b = gaussian_blur(a, blur_sigma), gaussian_blur(b, blur_sigma)
    am, av = a.mean(dim=(2, 3)), a.var(dim=(2, 3), unbiased=False)
    bm, bv = b.mean(dim=(2, 3)), b.var(dim=(2, 3), unbiased=False)
    diff = (am - bm).square().sum(1) + ((av + 1e-5).sqrt() - (bv + 1e-5).sqrt()).square().sum(1)
    return diff * (weight / a.shape[1])


def total_variation_mse(x: torch.Tensor) -> torch.Tensor:
    dy = (x[..., 1:, :] - x[..., :-1, :]).square().sum(dim=(1, 2, 3))
    dx = (x[..., :, 1:] - x[..., :, :-1]).square().sum(dim=(1, 2, 3))
    return dx + dy


def bce_logits(logits: torch.Tensor, real: bool) -> torch.Tensor:
    """Per-sample sigmoid cross-entropy against all-ones (real) or all-zeros."""
    target = torch.ones_like(logits) if real else torch.zeros_like(logits)
    return F.binary_cross_entropy_with_logits(logits, target, reduction="none").flatten(1).mean(dim=1)


def _identity_loss(pred, pred_mask, scales, target, mask, em_mask, options: TrainingOptions, resolution):
    """The reconstruction terms for one identity; returns per-sample loss and the masked pair."""
    if options.blur_out_mask:
        target = blur_out(target, mask, resolution)
    weight = blur_mask(mask, resolution) if options.masked_training else None
    if options.remove_gray_border:
        frame = border_mask(pred, resolution)
        weight = frame if weight is None else weight * frame
    p, t = (pred * weight, target * weight) if weight is not None else (pred, target)
    if options.pixel_loss:
        loss = 50 * mse(p, t)
    else:
        loss = image_dssim(p, t, resolution) + 10 * mse(p, t)
    if options.eyes_mouth_prio:
        if em_mask is None:
            raise ValueError("eyes_mouth_prio needs src_em_mask and dst_em_mask in the batch")
        loss = loss + 300 * l1(pred * em_mask, target * em_mask)
    loss = loss + 10 * mse(pred_mask, mask)
    for s in scales:  # multiscale decoder: MSE at each lower scale
        size = s.shape[-2:]
        ts = F.interpolate(t, size=size, mode="area")
        loss = loss + 10 * mse(s * F.interpolate(weight, size=size, mode="area") if weight is not None else s, ts)
    return loss, p, t, weight


def saehd_generator_loss(out: ModelOutput, batch: dict, options: TrainingOptions, discriminators: dict | None = None):
    """(total scalar, parts) for the generator step. `discriminators` from build_discriminators()."""
    res = out.src_rgb.shape[-1]
    d = discriminators or {}
    src, p_src, t_src, _ = _identity_loss(out.src_rgb, out.src_mask, out.extra.get("src_rgb_scales", []),
                                          batch["src_target"], batch["src_mask"], batch.get("src_em_mask"), options, res)
    dst, _, _, _ = _identity_loss(out.dst_rgb, out.dst_mask, out.extra.get("dst_rgb_scales", []),
                                  batch["dst_target"], batch["dst_mask"], batch.get("dst_em_mask"), options, res)
    parts = {"src": src.mean(), "dst": dst.mean()}
    total = parts["src"] + parts["dst"]

    face_style = options.face_style_power / 100.0
    bg_style = options.bg_style_power / 100.0
    if (face_style > 0 or bg_style > 0) and out.swap_rgb is not None:
        m = blur_mask(batch["dst_mask"], res)
        if face_style > 0:
            parts["face_style"] = style_loss(out.swap_rgb * m, batch["dst_target"] * m, res // 16,
                                             10000 * face_style).mean()
        if bg_style > 0:
            a, b = out.swap_rgb * (1 - m), batch["dst_target"] * (1 - m)
            parts["bg_style"] = (bg_style * (10 * dssim(a, b, int(res / 11.6)) + 10 * mse(a, b))).mean()
    if "true_face" in d:  # built only for models whose true_face_power > 0
        parts["true_face"] = options.true_face_power * bce_logits(d["true_face"](out.src_code), True).mean()
    if "gan" in d and options.gan_power > 0:
        center, pixels = d["gan"](p_src)
        parts["gan"] = options.gan_power * (bce_logits(center, True) + bce_logits(pixels, True)).mean()
        parts["tv"] = 1e-6 * total_variation_mse(out.src_rgb).mean()
        if options.masked_training:  # keep the background from drifting into bright GAN dots
            anti = 1 - blur_mask(batch["src_mask"], res)
            parts["gan_bg"] = 0.02 * mse(out.src_rgb * anti, batch["src_target"] * anti).mean()
    for key, value in parts.items():
        if key not in ("src", "dst"):
            total = total + value
    return total, parts


def saehd_discriminator_loss(out: ModelOutput, batch: dict, options: TrainingOptions, discriminators: dict):
    """(total, parts) for the discriminator step; generator outputs are detached."""
    res = out.src_rgb.shape[-1]
    parts = {}
    if "gan" in discriminators:
        weight = blur_mask(batch["src_mask"], res) if options.masked_training else 1.0
        real_c, real_p = discriminators["gan"](batch["src_target"] * weight)
        fake_c, fake_p = discriminators["gan"](out.src_rgb.detach() * weight)
        parts["gan_d"] = ((bce_logits(real_c, True) + bce_logits(fake_c, False)) * 0.5
                          + (bce_logits(real_p, True) + bce_logits(fake_p, False)) * 0.5).mean()
    if "true_face" in discriminators:
        disc = discriminators["true_face"]
        parts["true_face_d"] = ((bce_logits(disc(out.dst_code.detach()), True)
                                 + bce_logits(disc(out.src_code.detach()), False)) * 0.5).mean()
    total = sum(parts.values()) if parts else torch.zeros((), device=out.src_rgb.device)
    return total, parts
