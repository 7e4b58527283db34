"""Provenance tags inside files: MP4/MOV/MKV container metadata, a PNG iTXt chunk, a JPEG COM segment.

The face metadata of aligned faces (doppel.core.metadata) uses JPEG APP15 and the PNG keyword
"doppel"; these tags use other places so the two never collide.
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

from doppel.core.atomic import write_bytes
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


def _png_chunks(data: bytes):
    pos = len(_PNG_SIG)
    while pos + 8 <= len(data):
        length, ctype = struct.unpack(">I4s", data[pos : pos + 8])
        yield pos, ctype, data[pos + 8 : pos + 8 + length], pos + 12 + length
        pos += 12 + length


def _png_tag(data: bytes, text: bytes) -> bytes:
    kept = [data[:len(_PNG_SIG)]]
    for start, ctype, body, end in _png_chunks(data):
        if ctype == b"iTXt" and body.startswith(_PNG_KEYWORD + b"\x00"):
            continue  # replace an older tag
        if ctype == b"IEND":
            body_new = _PNG_KEYWORD + b"\x00\x00\x00\x00\x00" + text
            chunk = struct.pack(">I4s", len(body_new), b"iTXt") + body_new
            kept.append(chunk + struct.pack(">I", zlib.crc32(b"iTXt" + body_new) & 0xFFFFFFFF))
        kept.append(data[start:end])
    return b"".join(kept)


def _png_read(data: bytes) -> bytes | None:
    for _, ctype, body, _ in _png_chunks(data):
        if ctype == b"iTXt" and body.startswith(_PNG_KEYWORD + b"\x00"):
            return body[len(_PNG_KEYWORD) + 5 :]
    return None


def _jpeg_segments(data: bytes):
    """(marker, start, end, body) of each segment before the image data."""
    pos = 2
    while pos + 4 <= len(data) and data[pos] == 0xFF:
        marker = data[pos + 1]
        if marker == 0xDA:  # start of scan: compressed data follows
            return
        (length,) = struct.unpack(">H", data[pos + 2 : pos + 4])
        yield marker, pos, pos + 2 + length, data[pos + 4 : pos + 2 + length]
        pos += 2 + length


def _jpeg_tag(data: bytes, text: bytes) -> bytes:
    body = _PNG_KEYWORD + b" " + text
    if len(body) > 65533:
        raise DoppelError("provenance record too large for a JPEG comment")
    segment = b"\xff\xfe" + struct.pack(">H", len(body) + 2) + body
    insert_at, drop = 2, []
    for marker, start, end, seg_body in _jpeg_segments(data):
        if marker == _JPEG_COM and seg_body.startswith(_PNG_KEYWORD + b" "):
            drop.append((start, end))
        elif 0xE0 <= marker <= 0xEF and insert_at == start:
            insert_at = end  # keep APPn (JFIF/EXIF) first, as viewers expect
    out, pos = [], 0
    for start, end in drop:
        out.append(data[pos:start])
        pos = end
    out.append(data[pos:])
    data = b"".join(out)
    insert_at -= sum(e - s for s, e in drop if e <= insert_at)
    return data[:insert_at] + segment + data[insert_at:]


def _jpeg_read(data: bytes) -> bytes | None:
    for marker, _, _, body in _jpeg_segments(data):
        if marker == _JPEG_COM and body.startswith(_PNG_KEYWORD + b" "):
            return body[len(_PNG_KEYWORD) + 1 :]
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
