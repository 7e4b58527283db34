"""What every face-swap model is: an nn.Module with options, a resolution, a face type,
`forward(src, dst) -> ModelOutput` for training and `swap(dst) -> (rgb, mask)` for merging.

Tensors are N,C,H,W float in [0, 1], BGR channel order (as OpenCV and DFL).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn

from doppel.core.errors import DoppelError
from doppel.core.facetype import FaceType


@dataclass(frozen=True)
class ModelOutput:
    """Predictions for one training step. `swap_*` is the src identity decoded from the dst face."""

    src_rgb: torch.Tensor
    src_mask: torch.Tensor
    dst_rgb: torch.Tensor
    dst_mask: torch.Tensor
    swap_rgb: torch.Tensor | None = None
    swap_mask: torch.Tensor | None = None
    src_code: torch.Tensor | None = None
    dst_code: torch.Tensor | None = None
    # Extra predictions some options add, e.g. "src_rgb_scales": [lower-resolution src images].
    extra: dict = field(default_factory=dict)


class FaceSwapModel(nn.Module):
    """Base class. Subclasses set up their modules from `options` and implement forward/swap."""

    has_morph = False  # True for models whose swap takes a morph factor (amp)

    def __init__(self, options, name: str):
        super().__init__()
        self.name = name
        self.options = options

    @property
    def resolution(self) -> int:
        return int(self.options.resolution)

    @property
    def face_type(self) -> FaceType:
        return FaceType.parse(self.options.face_type)

    def forward(self, src: torch.Tensor, dst: torch.Tensor, need_swap: bool = True) -> ModelOutput:
        raise NotImplementedError

    def swap(self, dst: torch.Tensor, morph: float | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        raise NotImplementedError

    def generator_parameters(self) -> list[nn.Parameter]:
        """The weights the generator optimiser updates (some archis freeze parts)."""
        return [p for p in self.parameters() if p.requires_grad]

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())

    def _check_input(self, x: torch.Tensor, what: str) -> None:
        if x.dim() != 4 or x.shape[1] != 3 or x.shape[-1] != self.resolution or x.shape[-2] != self.resolution:
            raise DoppelError(
                f"{what} must be N,3,{self.resolution},{self.resolution} for model {self.name}, got {tuple(x.shape)}",
                hint="Feed faces at the model's resolution",
            )

    def _check_no_morph(self, morph: float | None) -> None:
        if morph is not None:
            raise DoppelError(f"model {self.name} has no morph factor", hint="--morph works with amp models only")
