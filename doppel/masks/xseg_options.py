"""The XSeg model's architecture and training options (torch-free, so the CLI lists them without
loading torch)."""

from __future__ import annotations

from dataclasses import dataclass

from doppel.core.options import CheckedOptions, option


@dataclass(frozen=True)
class XSegConfig(CheckedOptions):
    """Architecture of one XSeg model; fixed once the model is created."""

    resolution: int = option(64, "Input size in pixels (faces are resized to it)", min=32, max=512, fixed=True)
    channels: int = option(16, "Channels of the first level (doubled at each level down)", min=4, max=128, fixed=True)
    depth: int = option(3, "Number of down-sampling levels", min=2, max=6, fixed=True)


@dataclass(frozen=True)
class XSegTrainOptions(CheckedOptions):
    iterations: int = option(2000, "Train until the model has seen this many batches in total (resume continues)", min=1)
    batch_size: int = option(8, "Faces per batch", min=1, max=256)
    lr: float = option(2e-3, "Adam learning rate", min=1e-6, max=1e-1)
    device: str | None = option("auto", "auto, cpu, cuda, cuda:N, xpu or mps")
    seed: int = option(0, "Random seed for sampling and augmentation")
    save_every: float = option(120.0, "Seconds between saves", min=1.0)
