"""`doctor` options, declared once (default, range, help); the CLI flags are built from them.
No torch import here, so `doppel --help` stays fast."""

from __future__ import annotations

from dataclasses import dataclass

from doppel.core.options import CheckedOptions, option


@dataclass(frozen=True)
class DoctorOptions(CheckedOptions):
    model_type: str = option("saehd", "Model type to size for this machine (see 'doppel train --help').")
    resolution: int = option(0, "Resolution you want (0 = the model's default).", min=0, max=640)
    batch: int = option(0, "Batch size you want (0 = the model's default).", min=0, max=512)
    iterations: int = option(100_000, "Training iterations to estimate time and cost for.", min=1)
    price: float = option(0.0, "Cloud price per GPU-hour, e.g. 2.48 (0 = no cost line).", min=0.0)
    src_faces: int = option(3000, "Source faces you expect (for the disk estimate).", min=0)
    dst_frames: int = option(3000, "Destination frames you expect (for the disk estimate).", min=0)
    frame_width: int = option(1920, "Destination frame width (for the disk estimate).", min=1)
    frame_height: int = option(1080, "Destination frame height (for the disk estimate).", min=1)
    device: str = option("auto", "Device to test: auto, cpu, cuda, cuda:N.")
    timing_iterations: int = option(3, "Training steps timed per configuration.", min=1, max=50)
