"""Short real clips for the media tests, made once per session from ../shared/data."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from tests.conftest import CLIPS, DST_CLIP


@pytest.fixture(scope="session")
def dst_clip(data_dir) -> Path:
    return DST_CLIP


@pytest.fixture(scope="session")
def noaudio_clip(data_dir) -> Path:
    return CLIPS / "man_e_greenscreen_noaudio.mp4"


@pytest.fixture(scope="session")
def short_cut(dst_clip, tmp_path_factory) -> Path:
    """Seconds 2..4 of the destination clip (60 frames at 30 fps, with its AAC audio)."""
    from doppel.media.cut import cut

    out = tmp_path_factory.mktemp("cut") / "cut.mp4"
    cut(dst_clip, out, 2.0, 4.0, progress=False)
    return out


VFR_TIMES = [0.0, 0.04, 0.08, 0.2, 0.24, 0.5, 0.52, 0.54, 1.0, 1.1]


@pytest.fixture(scope="session")
def vfr_clip(dst_clip, tmp_path_factory) -> Path:
    """A variable-frame-rate MKV made with PyAV from real frames: irregular gaps of 20 to 460 ms."""
    from doppel.media.reader import read_frames

    path = tmp_path_factory.mktemp("vfr") / "vfr.mkv"
    container = av.open(str(path), "w")
    stream = container.add_stream("libx264", rate=25, options={"crf": "20", "bf": "0"})
    stream.width, stream.height, stream.pix_fmt = 256, 256, "yuv420p"
    tb = Fraction(1, 1000)
    stream.codec_context.time_base = tb
    frames = read_frames(dst_clip, every_n=5)
    for t, frame in zip(VFR_TIMES, frames):
        small = np.ascontiguousarray(frame.image[::2, ::2])
        vf = av.VideoFrame.from_ndarray(small, format="bgr24")
        vf.pts, vf.time_base = round(t / tb), tb
        for packet in stream.encode(vf):
            container.mux(packet)
    for packet in stream.encode(None):
        container.mux(packet)
    container.close()
    return path


def stream_durations(path: Path) -> tuple[float, float | None, int]:
    """(video seconds from frame timestamps, audio seconds from packets or None, video frames)."""
    with av.open(str(path)) as c:
        v = c.streams.video[0]
        vpts = sorted(p.pts for p in c.demux(v) if p.pts is not None)
        step = vpts[1] - vpts[0]
        video = float((vpts[-1] - vpts[0] + step) * v.time_base)
    with av.open(str(path)) as c:
        if not c.streams.audio:
            return video, None, len(vpts)
        a = c.streams.audio[0]
        packets = [p for p in c.demux(a) if p.pts is not None]
        audio = float((packets[-1].pts + packets[-1].duration - packets[0].pts) * a.time_base)
    return video, audio, len(vpts)
