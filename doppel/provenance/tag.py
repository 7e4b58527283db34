"""Provenance tags inside files: MP4/MOV/MKV container metadata, a PNG iTXt chunk, a JPEG COM segment.

The face metadata of aligned faces (doppel.core.metadata) uses JPEG APP15 and the PNG keyword
"doppel"; these tags use other places so the two never collide.
"""

from __future__ import annotations

from pathlib import Path

from doppel.core.atomic import write_bytes
from doppel.core.containers import itxt_chunk, itxt_text, jpeg_segment, jpeg_segments, png_chunks
from doppel.core.errors import DoppelError
from doppel.provenance.info import MARKER, ProvenanceInfo, parse_record

_PNG_SIG = b"\x89PNG\r\n\x1a\n"
_PNG_KEYWORD = MARKER.encode()
_JPEG_COM = 0xFE


def container_tags(info: ProvenanceInfo) -> dict[str, str]:
    """Container metadata: MP4 keeps comment and description, MOV keeps comment, MKV keeps all."""
    return {"comment": info.to_json(), "description": info.label()}


def read_container_tag(metadata: dict[str, str]) -> dict | None:
    lowered = {k.lower(): v for k, v in metadata.items()}
    for key in ("comment", "description", MARKER):
        record = parse_record(lowered.get(key))
        if record:
            return record
    return None


def _png_tag(data: bytes, text: bytes) -> bytes:
    kept = [data[:len(_PNG_SIG)]]
    for chunk in png_chunks(data):
        if chunk.kind == b"iTXt" and chunk.body.startswith(_PNG_KEYWORD + b"\x00"):
            continue  # replace an older tag
        if chunk.kind == b"IEND":
            kept.append(itxt_chunk(_PNG_KEYWORD, text))
        kept.append(data[chunk.start : chunk.end])
    return b"".join(kept)


def _png_read(data: bytes) -> bytes | None:
    for chunk in png_chunks(data):
        text = itxt_text(chunk, _PNG_KEYWORD)
        if text is not None:
            return text
    return None


def _jpeg_tag(data: bytes, text: bytes) -> bytes:
    body = _PNG_KEYWORD + b" " + text
    if len(body) > 65533:
        raise DoppelError("provenance record too large for a JPEG comment")
    segment = jpeg_segment(_JPEG_COM, body)
    insert_at, drop = 2, []
    for seg in jpeg_segments(data):
        if seg.marker == _JPEG_COM and seg.body.startswith(_PNG_KEYWORD + b" "):
            drop.append((seg.start, seg.end))
        elif 0xE0 <= seg.marker <= 0xEF and insert_at == seg.start:
            insert_at = seg.end  # keep APPn (JFIF/EXIF) first, as viewers expect
    out, pos = [], 0
    for start, end in drop:
        out.append(data[pos:start])
        pos = end
    out.append(data[pos:])
    data = b"".join(out)
    insert_at -= sum(e - s for s, e in drop if e <= insert_at)
    return data[:insert_at] + segment + data[insert_at:]


def _jpeg_read(data: bytes) -> bytes | None:
    for seg in jpeg_segments(data):
        if seg.marker == _JPEG_COM and seg.body.startswith(_PNG_KEYWORD + b" "):
            return seg.body[len(_PNG_KEYWORD) + 1 :]
    return None


def tag_image_bytes(data: bytes, info: ProvenanceInfo | None = None) -> bytes:
    """Return PNG or JPEG bytes with the provenance record added (replacing an older one)."""
    info = info or ProvenanceInfo()
    text = info.to_json().encode()
    if data.startswith(_PNG_SIG):
        return _png_tag(data, text)
    if data.startswith(b"\xff\xd8"):
        return _jpeg_tag(data, text)
    raise DoppelError("only PNG and JPEG images can carry a provenance tag")


def read_image_tag(data: bytes) -> dict | None:
    if data.startswith(_PNG_SIG):
        return parse_record(_png_read(data))
    if data.startswith(b"\xff\xd8"):
        return parse_record(_jpeg_read(data))
    return None


def tag_image(path: str | Path, info: ProvenanceInfo | None = None) -> None:
    """Add the provenance record to an image file in place (atomically)."""
    path = Path(path)
    if not path.is_file():
        raise DoppelError("file not found", path)
    try:
        tagged = tag_image_bytes(path.read_bytes(), info)
    except DoppelError as e:
        raise DoppelError(e.message, path, hint="Write the output as .png or .jpg") from e
    write_bytes(path, tagged)
