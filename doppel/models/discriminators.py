"""Discriminators for the optional adversarial terms: a U-Net patch discriminator (GAN power, on the
source side) and a code discriminator (true-face power, df only). Both return logits."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from doppel.layers import glorot_init


def receptive_field(layers: list[tuple[int, int]]) -> int:
    rf, stride = 0, 1
    for i, (k, s) in enumerate(layers):
        rf = k if i == 0 else rf + (k - 1) * stride
        stride *= s
    return rf


def patch_layers(patch_size: int, max_layers: int = 9) -> list[tuple[int, int]]:
    """3x3 conv layers (first stride 2, others 1 or 2) whose receptive field is closest to the patch
    size; among equals, the fewest layers and then the most downsampling."""
    best: dict[int, tuple[int, int, list]] = {}
    for n in range(1, max_layers + 1):
        for bits in range(1 << (n - 1)):
            layers = [(3, 2)] + [(3, 2 if bits >> i & 1 else 1) for i in range(n - 1)]
            rf, total = receptive_field(layers), sum(s for _, s in layers)
            cur = best.get(rf)
            if cur is None or n < cur[0] or (n == cur[0] and total > cur[1]):
                best[rf] = (n, total, layers)
    rf = min(best, key=lambda r: (abs(r - patch_size), r))
    return best[rf][2]


class UNetPatchDiscriminator(nn.Module):
    """Returns (center logits at the bottleneck, per-pixel logits at full size)."""

    def __init__(self, patch_size: int, in_ch: int = 3, base_ch: int = 16):
        super().__init__()
        layers = patch_layers(patch_size)
        chs = [min(base_ch * 2**i, 512) for i in range(len(layers) + 1)]
        self.in_conv = nn.Conv2d(in_ch, chs[0], 1)
        self.convs = nn.ModuleList(nn.Conv2d(chs[i], chs[i + 1], k, s, padding=k // 2) for i, (k, s) in enumerate(layers))
        last = len(layers) - 1
        self.upconvs = nn.ModuleList(
            nn.ConvTranspose2d(chs[i + 1] * (1 if i == last else 2), chs[i], k, s, padding=k // 2)
            for i, (k, s) in enumerate(layers)
        )
        self.center_out = nn.Conv2d(chs[-1], 1, 1)
        self.center_conv = nn.Conv2d(chs[-1], chs[-1], 1)
        self.out_conv = nn.Conv2d(chs[0] * 2, 1, 1)
        glorot_init(self)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = F.leaky_relu(self.in_conv(x), 0.2)
        skips = []
        for conv in self.convs:
            skips.append(x)
            x = F.leaky_relu(conv(x), 0.2)
        center = self.center_out(x)
        x = F.leaky_relu(self.center_conv(x), 0.2)
        for upconv, skip in zip(reversed(self.upconvs), reversed(skips)):
            x = F.leaky_relu(upconv(x, output_size=skip.shape[-2:]), 0.2)
            x = torch.cat([skip, x], dim=1)
        return center, self.out_conv(x)


class CodeDiscriminator(nn.Module):
    """Tells source codes from destination codes (true-face power)."""

    def __init__(self, in_ch: int, code_res: int, ch: int = 256):
        super().__init__()
        convs, prev = [], in_ch
        for i in range(1 + code_res // 8):
            cur = ch * min(2**i, 8)
            k = 4 if i == 0 else 3
            convs.append(nn.Conv2d(prev, cur, k, stride=2, padding=1))
            prev = cur
        self.convs = nn.ModuleList(convs)
        self.out_conv = nn.Conv2d(prev, 1, 1)
        glorot_init(self)

    def forward(self, code: torch.Tensor) -> torch.Tensor:
        x = code
        for conv in self.convs:
            x = F.leaky_relu(conv(x), 0.1)
        return self.out_conv(x)


def build_discriminators(model) -> dict[str, nn.Module]:
    """The discriminators a model's options ask for: "gan" (gan_power > 0) and "true_face"
    (true_face_power > 0). The trainer gives them their own optimiser and saves them beside the model."""
    options = model.options
    out: dict[str, nn.Module] = {}
    if options.gan_power > 0:
        out["gan"] = UNetPatchDiscriminator(options.gan_patch_size, 3, options.gan_dims)
    if getattr(options, "true_face_power", 0) > 0:  # an SAEHD (df) option; other models have none
        inter = model.inter
        out["true_face"] = CodeDiscriminator(inter.out_ch, inter.out_res)
    return out
