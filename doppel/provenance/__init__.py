"""Provenance of rendered outputs: an invisible watermark in the pixels and a tag in the file."""

from doppel.provenance.info import ProvenanceInfo
from doppel.provenance.output import mark_frame, write_rendered_image
from doppel.provenance.tag import container_tags, read_container_tag, read_image_tag, tag_image, tag_image_bytes
from doppel.provenance.report import InspectReport, inspect
from doppel.provenance.watermark import detect_watermark, embed_watermark, watermark_score


__all__ = [
    "InspectReport",
    "ProvenanceInfo",
    "container_tags",
    "detect_watermark",
    "embed_watermark",
    "inspect",
    "mark_frame",
    "read_container_tag",
    "read_image_tag",
    "tag_image",
    "tag_image_bytes",
    "watermark_score",
    "write_rendered_image",
]
