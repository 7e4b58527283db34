"""What merge writes besides the faces: codec, quality, alpha, frame rate, provenance. Declared once
for the library, `doppel merge`'s flags, `doppel swap` and the studio; torch-free so the CLI stays light."""

from __future__ import annotations

from dataclasses import dataclass

from doppel.core.options import CheckedOptions, option


@dataclass(frozen=True)
class OutputOptions(CheckedOptions):
    codec: str = option("h264", "Video codec: h264, h265, prores, ffv1 or png (lossless).")
    crf: int = option(18, "Quality for h264/h265 (lower is better).", min=0, max=51)
    alpha: bool = option(False, "PNG sequence only: add an alpha channel covering the swapped face.")
    fps: float | None = option(None, "Output frame rate (default: the destination's).")
    provenance: bool = option(True, "Watermark and tag the output as synthetic.")
