"""Walking the segments of JPEG files and the chunks of PNG files, for every module that keeps data in
them (face metadata, DeepFaceLab metadata, provenance tags).

The walkers trust nothing in the file: every length is checked against the bytes that are there, so
a truncated file, a segment shorter than its own header or a garbled marker raises `ContainerError`
(a one-line DoppelError; callers add the file's name) instead of reading past the end or looping.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass
from typing import Iterator

from doppel.core.errors import DoppelError

JPEG_SOI = b"\xff\xd8"
JPEG_SOS = 0xDA  # start of scan: the compressed image data follows, no more segments to walk
JPEG_EOI = 0xD9
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_STANDALONE = {0x01, *range(0xD0, 0xD8)}  # markers without a length field (TEM, RSTn)
_JPEG_FRAME = set(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}  # SOFn: they hold the image size (DHT, JPG, DAC do not)
MAX_IMAGE_SIDE = 16384  # pixels; a header claiming more would make the decoder allocate gigabytes


class ContainerError(DoppelError):
    """The segment structure of an image file is damaged or truncated."""


def is_jpeg(data: bytes) -> bool:
    return data[:2] == JPEG_SOI


def is_png(data: bytes) -> bool:
    return data[:8] == PNG_SIGNATURE


@dataclass(frozen=True)
class JpegSegment:
    marker: int
    start: int  # offset of the 0xFF that opens the segment
    end: int  # offset just after the segment
    data: bytes  # the whole file (the body is sliced on demand)

    @property
    def body(self) -> bytes:
        return self.data[self.start + 4 : self.end] if self.end - self.start >= 4 else b""


def jpeg_segments(data: bytes) -> Iterator[JpegSegment]:
    """Each segment before the image data (start of scan), in file order."""
    if not is_jpeg(data):
        raise ContainerError("not a JPEG file")
    n, pos = len(data), 2
    while True:
        if pos >= n:
            raise ContainerError("the file ends before the image data (truncated)")
        if data[pos] != 0xFF:
            raise ContainerError(f"damaged JPEG: no segment marker at byte {pos}")
        while pos + 1 < n and data[pos + 1] == 0xFF:  # fill bytes before a marker are allowed
            pos += 1
        if pos + 1 >= n:
            raise ContainerError("the file ends inside a segment marker (truncated)")
        marker = data[pos + 1]
        if marker in (JPEG_SOS, JPEG_EOI):
            return
        if marker in _STANDALONE:
            yield JpegSegment(marker, pos, pos + 2, data)
            pos += 2
            continue
        if marker in (0x00, 0xD8):
            raise ContainerError(f"damaged JPEG: invalid marker 0x{marker:02X} at byte {pos}")
        if pos + 4 > n:
            raise ContainerError("the file ends inside a segment header (truncated)")
        (length,) = struct.unpack_from(">H", data, pos + 2)
        if length < 2:
            raise ContainerError(f"damaged JPEG: segment at byte {pos} is shorter than its own header")
        end = pos + 2 + length
        if end > n:
            raise ContainerError(f"a JPEG segment at byte {pos} runs past the end of the file (truncated)")
        yield JpegSegment(marker, pos, end, data)
        pos = end


def check_image_size(data: bytes) -> None:
    """Refuse a JPEG or PNG whose header declares a side over MAX_IMAGE_SIDE, before anything decodes it
    (a few changed header bytes would otherwise cost gigabytes of memory). Anything else is left to the
    decoder, which tolerates more damage than the walker."""
    size = None
    if is_jpeg(data):
        try:
            frame = next((s for s in jpeg_segments(data) if s.marker in _JPEG_FRAME and len(s.body) >= 5), None)
        except ContainerError:
            frame = None
        size = struct.unpack_from(">HH", frame.body, 1)[::-1] if frame else None
    elif is_png(data) and len(data) >= 24 and data[12:16] == b"IHDR":
        size = struct.unpack_from(">II", data, 16)
    if size and max(size) > MAX_IMAGE_SIDE:
        raise ContainerError(f"the header declares a {size[0]}x{size[1]} image (more than {MAX_IMAGE_SIDE} pixels a side)")


def jpeg_segment(marker: int, body: bytes) -> bytes:
    """The bytes of one JPEG segment."""
    if len(body) > 65533:
        raise DoppelError(f"{len(body)} bytes do not fit in one JPEG segment (65533 at most)")
    return bytes([0xFF, marker]) + struct.pack(">H", len(body) + 2) + body


@dataclass(frozen=True)
class PngChunk:
    kind: bytes  # b"IHDR", b"iTXt", ...
    start: int  # offset of the length field
    end: int  # offset just after the CRC
    data: bytes

    @property
    def body(self) -> bytes:
        return self.data[self.start + 8 : self.end - 4]

    @property
    def intact(self) -> bool:
        """Whether the chunk's CRC matches (a flipped byte inside it shows here)."""
        (crc,) = struct.unpack_from(">I", self.data, self.end - 4)
        return zlib.crc32(self.data[self.start + 4 : self.end - 4]) & 0xFFFFFFFF == crc


def png_chunks(data: bytes) -> Iterator[PngChunk]:
    """Each chunk up to and including IEND, in file order."""
    if not is_png(data):
        raise ContainerError("not a PNG file")
    n, pos = len(data), len(PNG_SIGNATURE)
    while True:
        if pos + 12 > n:
            raise ContainerError("the file ends before its last chunk (truncated)")
        length, kind = struct.unpack_from(">I4s", data, pos)
        end = pos + 12 + length
        if end > n:
            raise ContainerError(f"a PNG chunk at byte {pos} runs past the end of the file (truncated)")
        yield PngChunk(kind, pos, end, data)
        if kind == b"IEND":
            return
        pos = end


def png_chunk(kind: bytes, body: bytes) -> bytes:
    """The bytes of one PNG chunk (length, type, body, CRC)."""
    return struct.pack(">I4s", len(body), kind) + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)


ITXT = b"iTXt"


def itxt_chunk(keyword: bytes, text: bytes) -> bytes:
    """An uncompressed iTXt chunk: keyword, no language, no translated keyword."""
    return png_chunk(ITXT, keyword + b"\x00\x00\x00\x00\x00" + text)


def itxt_text(chunk: PngChunk, keyword: bytes) -> bytes | None:
    """The text of an iTXt chunk with `keyword`, or None for any other chunk."""
    if chunk.kind != ITXT:
        return None
    body = chunk.body
    if not body.startswith(keyword + b"\x00"):
        return None
    if not chunk.intact:
        raise ContainerError(f"the PNG text chunk '{keyword.decode('latin1')}' is damaged (checksum differs)")
    rest = body[len(keyword) + 1 :]
    if len(rest) < 2:
        raise ContainerError("a PNG text chunk is shorter than its header")
    compressed, rest = rest[0], rest[2:]
    parts = rest.split(b"\x00", 2)  # language tag, translated keyword, text
    if len(parts) != 3:
        raise ContainerError("a PNG text chunk is shorter than its header")
    if compressed:
        raise ContainerError("a compressed PNG text chunk (doppel writes them uncompressed)")
    return parts[2]
