"""Provenance of rendered outputs: an invisible watermark in the pixels and a tag in the file.

The mark that media writes, so it sits below media; reading a file back to check it is
doppel.inspection (above media)."""

from doppel.provenance.info import ProvenanceInfo
from doppel.provenance.output import mark_frame, write_rendered_image
from doppel.provenance.tag import container_tags, read_container_tag, read_image_tag, tag_image, tag_image_bytes
from doppel.provenance.watermark import detect_watermark, embed_watermark, watermark_score


__all__ = [
    "ProvenanceInfo",
    "container_tags",
    "detect_watermark",
    "embed_watermark",
    "mark_frame",
    "read_container_tag",
    "read_image_tag",
    "tag_image",
    "tag_image_bytes",
    "watermark_score",
    "write_rendered_image",
]
