"""The XSeg segmenter: a small U-Net that maps an aligned face to a face mask.

Small on purpose: users label a few dozen faces, so a large network would only memorise them.
Input N,3,H,W BGR float in [0, 1]; output N,1,H,W logits (sigmoid gives the mask).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from doppel.masks.xseg_options import XSegConfig


def _block(c_in: int, c_out: int) -> nn.Sequential:
    # GroupNorm, not BatchNorm: batches are small and eval must match train.
    groups = max(1, c_out // 8)
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, 3, padding=1, bias=False),
        nn.GroupNorm(groups, c_out),
        nn.LeakyReLU(0.1, inplace=True),
        nn.Conv2d(c_out, c_out, 3, padding=1, bias=False),
        nn.GroupNorm(groups, c_out),
        nn.LeakyReLU(0.1, inplace=True),
    )


class XSegNet(nn.Module):
    def __init__(self, config: XSegConfig = XSegConfig()):
        super().__init__()
        if config.resolution % (2**config.depth):
            raise ValueError(f"resolution {config.resolution} must be divisible by 2**depth ({2**config.depth})")
        self.config = config
        widths = [config.channels * 2**i for i in range(config.depth + 1)]
        self.down = nn.ModuleList([_block(3, widths[0])] + [_block(widths[i - 1], widths[i]) for i in range(1, len(widths))])
        self.up = nn.ModuleList([_block(widths[i + 1] + widths[i], widths[i]) for i in reversed(range(config.depth))])
        self.head = nn.Conv2d(widths[0], 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skips = []
        for i, block in enumerate(self.down):
            x = block(x if i == 0 else F.max_pool2d(x, 2))
            skips.append(x)
        x = skips.pop()
        for block in self.up:
            skip = skips.pop()
            x = F.interpolate(x, size=skip.shape[-2:], mode="bilinear", align_corners=False)
            x = block(torch.cat([x, skip], dim=1))
        return self.head(x)
