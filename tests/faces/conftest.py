"""Fixtures for the extraction tests (real footage from ../shared/data)."""

from __future__ import annotations

from pathlib import Path

import av
import pytest


@pytest.fixture(autouse=True, scope="module")
def one_torch_thread():
    """MTCNN's nets are tiny: on a shared, loaded machine torch's intra-op threads mostly wait for each other
    (4-5x slower than one thread). The tests run them on one thread; the results are the same."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


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
