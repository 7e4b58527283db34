"""Weight init as DFL: Glorot-uniform weights, zero biases."""

from __future__ import annotations

from torch import nn


def glorot_init(module: nn.Module) -> nn.Module:
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            nn.init.xavier_uniform_(m.weight)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
    return module
