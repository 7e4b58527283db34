"""The shared JPEG segment and PNG chunk walkers, and the one-line guarantee of DoppelError."""

from __future__ import annotations

import struct

import pytest

from doppel.core.containers import ContainerError, itxt_chunk, itxt_text, jpeg_segment, jpeg_segments, png_chunk, png_chunks
from doppel.core.errors import DoppelError
from hostile_helpers import face_bytes

SOI, SOS = b"\xff\xd8", b"\xff\xda\x00\x02"


def test_jpeg_walker_reads_fill_bytes_and_standalone_markers():
    data = SOI + b"\xff\xff" + jpeg_segment(0xE0, b"JFIF") + b"\xff\xd0" + jpeg_segment(0xFE, b"hi") + SOS + b"scan"
    assert [(s.marker, s.body) for s in jpeg_segments(data)] == [(0xE0, b"JFIF"), (0xD0, b""), (0xFE, b"hi")]


@pytest.mark.parametrize("data, problem", [
    (SOI + b"\xff\xe0\x00\x01", "shorter than its own header"),
    (SOI + b"\xff\xe0\x00\x00", "shorter than its own header"),
    (SOI + b"\xff\xe0\x10\x00abc", "past the end"),
    (SOI + jpeg_segment(0xE0, b"x"), "ends before the image data"),
    (SOI + b"\x00\xe0", "no segment marker"),
    (SOI + b"\xff\x00", "invalid marker"),
    (SOI + b"\xff", "ends inside a segment marker"),
    (b"\x89PNG", "not a JPEG"),
])
def test_jpeg_walker_refuses_damage(data, problem):
    with pytest.raises(ContainerError, match=problem):
        list(jpeg_segments(data))


def test_png_walker_checks_lengths_and_crc():
    data = face_bytes(".png")
    kinds = [c.kind for c in png_chunks(data)]
    assert kinds[0] == b"IHDR" and kinds[-1] == b"IEND" and b"iTXt" in kinds
    with pytest.raises(ContainerError, match="truncated"):
        list(png_chunks(data[:-5]))
    chunk = next(png_chunks(b"\x89PNG\r\n\x1a\n" + itxt_chunk(b"k", b"text") + png_chunk(b"IEND", b"")))
    assert itxt_text(chunk, b"k") == b"text" and itxt_text(chunk, b"other") is None
    broken = bytearray(chunk.data)
    broken[-20] ^= 1  # a byte of the text
    with pytest.raises(ContainerError, match="checksum"):
        itxt_text(next(png_chunks(bytes(broken))), b"k")
    with pytest.raises(ContainerError, match="past the end"):
        list(png_chunks(b"\x89PNG\r\n\x1a\n" + struct.pack(">I4s", 1000, b"IHDR") + b"x" * 20))


def test_error_text_from_a_file_never_breaks_the_line():
    line = DoppelError("unknown setting 'a\nb\u2028c'", "dir/x\ry.json", hint="Fix it").one_line()
    assert len(line.splitlines()) == 1 and "a\\nb" in line and "x\\ry.json" in line


def test_png_header_claiming_a_huge_image_is_refused():
    from doppel.core.containers import check_image_size

    data = bytearray(face_bytes(".png"))
    check_image_size(bytes(data))
    data[16:24] = struct.pack(">II", 20000, 64)
    with pytest.raises(ContainerError, match="20000x64"):
        check_image_size(bytes(data))
