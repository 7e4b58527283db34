"""Rendered images: watermark the pixels and tag the file, unless provenance is turned off."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from doppel.core.atomic import write_bytes
from doppel.core.images import encode_image
from doppel.provenance.info import ProvenanceInfo, resolve
from doppel.provenance.tag import tag_image_bytes
from doppel.provenance.watermark import embed_watermark


def mark_frame(bgr: np.ndarray, provenance: ProvenanceInfo | bool | None = None) -> np.ndarray:
    info = resolve(provenance)
    return embed_watermark(bgr) if info is not None and info.watermark else bgr


def write_rendered_image(
    path: str | Path, bgr: np.ndarray, provenance: ProvenanceInfo | bool | None = None, jpeg_quality: int = 95
) -> None:
    """Write a rendered frame as PNG/JPEG (atomically) with the invisible mark and the provenance tag."""
    path = Path(path)
    info = resolve(provenance)
    data = encode_image(mark_frame(bgr, info if info is not None else False), path.suffix, jpeg_quality)
    if info is not None and path.suffix.lower() in (".png", ".jpg", ".jpeg"):
        data = tag_image_bytes(data, info)
    write_bytes(path, data)
