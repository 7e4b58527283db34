"""DFL's encoder / inter / decoder, built from doppel.layers blocks (shared by saehd and amp).

`deep` is the `-t` flag, `double` the `-d` flag (output made at half size, then a subpixel head),
`cos` the `-c` flag; `-u` (pixel norm) is applied by the encoder's caller.
"""

from __future__ import annotations

import torch
from torch import nn

from doppel.layers import Downscale, ResidualBlock, Upscale


def halvings(size: int, n: int) -> int:
    """Size after n stride-2 convs with 'same' padding (ceil division each time)."""
    for _ in range(n):
        size = (size + 1) // 2
    return size


class Encoder(nn.Module):
    """Four downscales 3 -> e -> 2e -> 4e -> 8e (five with residuals for `-t`), flattened."""

    def __init__(self, in_ch: int, e_ch: int, deep: bool = False, cos: bool = False, kernel_size: int = 5):
        super().__init__()
        k = kernel_size
        if deep:
            layers = [Downscale(in_ch, e_ch, k, cos), ResidualBlock(e_ch, cos=cos), Downscale(e_ch, e_ch * 2, k, cos),
                      Downscale(e_ch * 2, e_ch * 4, k, cos), Downscale(e_ch * 4, e_ch * 8, k, cos),
                      Downscale(e_ch * 8, e_ch * 8, k, cos), ResidualBlock(e_ch * 8, cos=cos)]
        else:
            layers = [Downscale(in_ch, e_ch, k, cos), Downscale(e_ch, e_ch * 2, k, cos),
                      Downscale(e_ch * 2, e_ch * 4, k, cos), Downscale(e_ch * 4, e_ch * 8, k, cos)]
        self.net = nn.Sequential(*layers)
        self.n_down = 5 if deep else 4
        self.out_ch = e_ch * 8

    def out_features(self, resolution: int) -> int:
        return self.out_ch * halvings(resolution, self.n_down) ** 2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).flatten(1)


class Inter(nn.Module):
    """Dense -> dense -> reshape to (out_ch, lowest, lowest), then one upscale unless `-t`."""

    def __init__(self, in_features: int, ae_ch: int, out_ch: int, lowest: int, upscale: bool = True, cos: bool = False):
        super().__init__()
        self.dense1 = nn.Linear(in_features, ae_ch)
        self.dense2 = nn.Linear(ae_ch, lowest * lowest * out_ch)
        self.upscale = Upscale(out_ch, out_ch, cos=cos) if upscale else nn.Identity()
        self.shape = (out_ch, lowest, lowest)
        self.out_ch = out_ch
        self.out_res = lowest * 2 if upscale else lowest

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.dense2(self.dense1(x)).reshape(x.shape[0], *self.shape)
        return self.upscale(x)


class Decoder(nn.Module):
    """Up/residual stages to 2d channels, then an RGB head (sigmoid) and a thinner mask branch.

    With `multiscale`, 1x1 heads after the inner stages also predict the face at 1/4 and 1/2 size
    (the old SAE multiscale decoder); they are returned as a list, coarsest first.
    """

    def __init__(self, in_ch: int, d_ch: int, d_mask_ch: int, deep: bool = False, double: bool = False,
                 cos: bool = False, multiscale: bool = False):
        super().__init__()
        widths = [d_ch * 8, d_ch * 8, d_ch * 4, d_ch * 2] if deep else [d_ch * 8, d_ch * 4, d_ch * 2]
        ups, res, last = [], [], in_ch
        for w in widths:
            ups.append(Upscale(last, w, cos=cos))
            res.append(ResidualBlock(w, cos=cos))
            last = w
        self.ups, self.res = nn.ModuleList(ups), nn.ModuleList(res)
        self.double = double
        if double:  # four heads, depth-to-space: the face at twice the decoder's size
            self.out_convs = nn.ModuleList([nn.Conv2d(last, 3, 1)] + [nn.Conv2d(last, 3, 3, padding=1) for _ in range(3)])
            self.to_full = nn.PixelShuffle(2)
        else:
            self.out_convs = nn.ModuleList([nn.Conv2d(last, 3, 1)])
        m_widths = [d_mask_ch * 8, d_mask_ch * 8, d_mask_ch * 4, d_mask_ch * 2] if deep else [d_mask_ch * 8, d_mask_ch * 4, d_mask_ch * 2]
        if double:
            m_widths.append(d_mask_ch)
        m_ups, last_m = [], in_ch
        for w in m_widths:
            m_ups.append(Upscale(last_m, w, cos=cos))
            last_m = w
        self.mask_ups = nn.Sequential(*m_ups)
        self.mask_out = nn.Conv2d(last_m, 1, 1)
        # Scale heads read the stages before the last two (1/4 and 1/2 of the output size).
        self.scale_heads = nn.ModuleList([nn.Conv2d(w, 3, 1) for w in widths[-3:-1]]) if multiscale else None
        self.n_stages = len(widths)

    def forward(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, list[torch.Tensor]]:
        x, feats = z, []
        for up, res in zip(self.ups, self.res):
            x = res(up(x))
            feats.append(x)
        if self.double:
            rgb = torch.sigmoid(self.to_full(torch.cat([conv(x) for conv in self.out_convs], dim=1)))
        else:
            rgb = torch.sigmoid(self.out_convs[0](x))
        mask = torch.sigmoid(self.mask_out(self.mask_ups(z)))
        scales = []
        if self.scale_heads is not None:
            scales = [torch.sigmoid(head(f)) for head, f in zip(self.scale_heads, feats[-3:-1])]
        return rgb, mask, scales
