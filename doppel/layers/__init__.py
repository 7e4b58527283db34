"""Reusable building blocks for the face-swap models (DFL's downscale/upscale/residual vocabulary)."""

from doppel.layers.blocks import Downscale, ResidualBlock, Upscale, XCos, activation, pixel_norm
from doppel.layers.init import glorot_init

__all__ = ["Downscale", "ResidualBlock", "Upscale", "XCos", "activation", "pixel_norm", "glorot_init"]
