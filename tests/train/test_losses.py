"""The SAEHD losses behave as DFL's: DSSIM as a Gaussian-window SSIM, masking, priorities, style."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from doppel.models import create_model
from doppel.models.base import ModelOutput
from doppel.train.losses import blur_mask, dssim, gaussian_blur, saehd_generator_loss, style_loss


def _reference_dssim(a, b, k, sigma=1.5):
    """Straightforward 2-D window SSIM (DFL's formula), to check the separable version against."""
    g = torch.exp(-((torch.arange(k) - (k - 1) / 2) ** 2) / (2 * sigma**2))
    w = torch.outer(g, g)
    w = (w / w.sum()).expand(a.shape[1], 1, k, k)
    f = lambda x: F.conv2d(x, w, groups=a.shape[1])  # noqa: E731
    ma, mb = f(a), f(b)
    va, vb, cov = f(a * a) - ma**2, f(b * b) - mb**2, f(a * b) - ma * mb
    c1, c2 = 0.01**2, 0.03**2
    ssim = ((2 * ma * mb + c1) * (2 * cov + c2)) / ((ma**2 + mb**2 + c1) * (va + vb + c2))
    return ((1 - ssim.mean(dim=(2, 3))) / 2).mean(dim=1)


def test_dssim_matches_the_2d_formula_and_orders_damage(real_pair):
    src = real_pair[0]
    noisy = (src + 0.1 * torch.randn_like(src)).clamp(0, 1)
    assert torch.allclose(dssim(src, noisy, 5), _reference_dssim(src, noisy, 5), atol=1e-5)
    assert float(dssim(src, src, 5).abs().max()) < 1e-6
    levels = [float(dssim(src, (src + s * torch.randn_like(src)).clamp(0, 1), 5).mean()) for s in (0.02, 0.1, 0.3)]
    assert levels[0] < levels[1] < levels[2]


def test_blur_mask_is_soft_inside_and_zero_far_outside():
    mask = torch.zeros(1, 1, 64, 64)
    mask[..., 16:48, 16:48] = 1
    m = blur_mask(mask, 64)
    assert float(m[..., 32, 32]) == 1.0 and float(m[..., 2, 2]) == 0.0
    assert float(m[..., 16, 32]) == 1.0 and 0.0 < float(m[..., 15, 32]) < 1.0  # soft just outside the edge
    blurred = gaussian_blur(mask, 2)
    assert abs(float(blurred.sum()) - float(mask.sum())) < 1e-3  # zero padding far from the border keeps mass


def _out(pred, mask):
    return ModelOutput(src_rgb=pred, src_mask=mask, dst_rgb=pred, dst_mask=mask, swap_rgb=pred, swap_mask=mask)


def test_masked_training_ignores_the_background(real_pair):
    src, dst = real_pair
    mask = torch.zeros(4, 1, 64, 64)
    mask[..., 16:48, 16:48] = 1
    target2 = src.clone()
    target2[..., :6, :] = 1 - target2[..., :6, :]  # change only far outside the mask
    base = dict(src_mask=mask, src_em_mask=mask, dst_mask=mask, dst_em_mask=mask, dst_target=src)
    for masked, should_change in ((True, False), (False, True)):
        opts = create_model("saehd", resolution=64, ae_dims=32, e_dims=16, d_dims=16, d_mask_dims=16,
                            masked_training=masked).options
        a, _ = saehd_generator_loss(_out(dst, mask), dict(base, src_target=src), opts)
        b, _ = saehd_generator_loss(_out(dst, mask), dict(base, src_target=target2), opts)
        assert (abs(float(a) - float(b)) > 1e-3) == should_change


def test_eyes_mouth_priority_weights_the_hull(real_pair):
    src, dst = real_pair
    mask = torch.ones(4, 1, 64, 64)
    em = torch.zeros_like(mask)
    em[..., 20:30, 10:54] = 1
    batch = dict(src_target=src, src_mask=mask, src_em_mask=em, dst_target=src, dst_mask=mask, dst_em_mask=em)
    kw = dict(resolution=64, ae_dims=32, e_dims=16, d_dims=16, d_mask_dims=16)
    off = create_model("saehd", eyes_mouth_prio=False, **kw).options
    on = create_model("saehd", eyes_mouth_prio=True, **kw).options
    a, _ = saehd_generator_loss(_out(dst, mask), batch, off)
    b, _ = saehd_generator_loss(_out(dst, mask), batch, on)
    expected = 2 * 300 * float((dst * em - src * em).abs().mean())
    assert abs((float(b) - float(a)) - expected) < 1e-3 * expected


def test_style_loss_sees_colour_shift(real_pair):
    src = real_pair[0]
    assert float(style_loss(src, src, 4, 100).max()) < 1e-6
    shifted = (src + torch.tensor([0.1, 0.0, -0.1]).view(1, 3, 1, 1)).clamp(0, 1)
    assert float(style_loss(src, shifted, 4, 100).min()) > 0.1


def test_dssim_uses_two_kernels_from_256_px(real_pair):
    from doppel.train.losses import image_dssim

    a = F.interpolate(real_pair[0][:1], size=256, mode="bilinear", align_corners=False)
    b = (a + 0.05 * torch.randn_like(a)).clamp(0, 1)
    expected = 5 * dssim(a, b, int(256 / 11.6)) + 5 * dssim(a, b, int(256 / 23.2))
    assert torch.allclose(image_dssim(a, b, 256), expected)
    assert not torch.allclose(image_dssim(a, b, 256), 10 * dssim(a, b, int(256 / 11.6)))
