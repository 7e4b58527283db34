"""The three blocks DFL users know: downscale, upscale (pixel shuffle) and residual.

`cos=True` swaps every activation for x*cos(x) (the `-c` archi flag).
"""

from __future__ import annotations

import torch
from torch import nn


class XCos(nn.Module):
    """x * cos(x): the `-c` activation."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.cos(x)


def activation(slope: float, cos: bool = False) -> nn.Module:
    # In place: every activation follows a conv or a sum whose output nothing else reads.
    return XCos() if cos else nn.LeakyReLU(slope, inplace=True)


def pixel_norm(x: torch.Tensor, dim: int = -1, eps: float = 1e-6) -> torch.Tensor:
    """Scale each vector to unit root-mean-square (the `-u` archi flag)."""
    return x * torch.rsqrt(x.square().mean(dim=dim, keepdim=True) + eps)


class Downscale(nn.Module):
    """Conv (5x5 by default), stride 2, then LeakyReLU(0.1): halves the size."""

    def __init__(self, in_ch: int, out_ch: int, kernel_size: int = 5, cos: bool = False):
        super().__init__()
        self.conv = nn.Conv2d(in_ch, out_ch, kernel_size, stride=2, padding=kernel_size // 2)
        self.act = activation(0.1, cos)
        self.out_ch = out_ch

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.conv(x))


class Upscale(nn.Module):
    """3x3 conv to 4x channels, LeakyReLU(0.1), then pixel shuffle: doubles the size."""

    def __init__(self, in_ch: int, out_ch: int, kernel_size: int = 3, cos: bool = False):
        super().__init__()
        self.conv = nn.Conv2d(in_ch, out_ch * 4, kernel_size, padding=kernel_size // 2)
        self.act = activation(0.1, cos)
        self.shuffle = nn.PixelShuffle(2)
        self.out_ch = out_ch

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.shuffle(self.act(self.conv(x)))


class ResidualBlock(nn.Module):
    """Two 3x3 convs with LeakyReLU(0.2); the input is added back before the last activation."""

    def __init__(self, ch: int, kernel_size: int = 3, cos: bool = False):
        super().__init__()
        self.conv1 = nn.Conv2d(ch, ch, kernel_size, padding=kernel_size // 2)
        self.conv2 = nn.Conv2d(ch, ch, kernel_size, padding=kernel_size // 2)
        self.act1 = activation(0.2, cos)
        self.act2 = activation(0.2, cos)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act2(x + self.conv2(self.act1(self.conv1(x))))
