"""Fixtures for the extraction tests (real footage from ../shared/data)."""

from __future__ import annotations

from pathlib import Path

import av
import pytest


@pytest.fixture(scope="module")
def analyzer():
    from doppel.faces.landmarks import FaceAnalyzer

    with FaceAnalyzer() as a:
        yield a


@pytest.fixture
def faststart_copy():
    return _faststart_copy


def _faststart_copy(src: Path, dst: Path) -> Path:
    """Remux a clip (video only) with its index at the front, so a truncated copy still decodes up to the cut."""
    with av.open(str(src)) as inp, av.open(str(dst), "w", options={"movflags": "faststart"}) as out:
        vin = inp.streams.video[0]
        vout = out.add_stream_from_template(vin)
        for packet in inp.demux(vin):
            if packet.dts is None:
                continue
            packet.stream = vout
            out.mux(packet)
    return dst
