"""Carry the audio of a reference video into an output, cut to the output's time span.

Packets are copied (no re-encode) when the output container accepts the codec, else the
audio is re-encoded to AAC. A packet is kept when its midpoint falls inside the span, so
the audio ends within half a packet (about 12 ms for AAC at 44.1 kHz) of the video.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av

from doppel.core.errors import DoppelError
from doppel.media.reader import open_container

# Audio codecs each container takes as-is; anything else is re-encoded to AAC.
COPYABLE = {
    "mp4": {"aac", "mp3", "alac", "ac3", "eac3", "opus", "flac"},
    "mov": {"aac", "mp3", "alac", "ac3", "pcm_s16le", "pcm_s24le", "pcm_f32le"},
    "matroska": None,  # everything
}


class AudioCarrier:
    """Feeds audio packets of `reference` into `output`, interleaved with the video by time."""

    def __init__(self, reference: str | Path, output: av.container.OutputContainer, container_format: str,
                 start: float = 0.0, track: int = 0):
        self.reference = Path(reference)
        self.start = float(start)
        self.end: float | None = None
        self._in = open_container(self.reference) if self.reference.exists() else None
        if self._in is None:
            raise DoppelError("audio reference not found", self.reference)
        if len(self._in.streams.audio) <= track:
            self._in.close()
            self._in = None
            self.stream = None  # no audio to carry: the output is silent, which is not an error
            return
        src = self._in.streams.audio[track]
        video = self._in.streams.video[0] if self._in.streams.video else None
        # Times are relative to the reference's first video frame, as the reader's timestamps are.
        self._zero = float(video.start_time * video.time_base) if video is not None and video.start_time else 0.0
        self._src = src
        allowed = COPYABLE.get(container_format)
        self.copy = allowed is None or src.codec_context.name in allowed
        if self.copy:
            self.stream = output.add_stream_from_template(src)
        else:
            # AAC wants a named layout; an unnamed "2 channels" is refused, so mono stays mono, all else is stereo
            layout = "mono" if src.codec_context.channels == 1 else "stereo"
            self.stream = output.add_stream("aac", rate=src.codec_context.sample_rate or 48000, layout=layout)
        self._packets = self._in.demux(src)
        self._pending: av.Packet | None = None
        self._done = False
        self.last_end = 0.0  # output time where the last muxed audio ends

    def _time(self, pts: int | None, tb: Fraction) -> float | None:
        return None if pts is None else float(pts * tb) - self._zero - self.start

    def feed(self, output: av.container.OutputContainer, until: float, end: float | None = None) -> None:
        """Mux reference audio whose midpoint is before `until` (and before `end`, the video's end)."""
        if self.stream is None or self._done:
            return
        while True:
            packet = self._pending or next(self._packets, None)
            self._pending = None
            if packet is None or packet.size == 0 and packet.pts is None:
                self._done = True
                break
            t = self._time(packet.pts, packet.time_base)
            if t is None:
                continue
            dur = float(packet.duration * packet.time_base) if packet.duration else 0.0
            mid = t + dur / 2
            if end is not None and mid >= end:
                self._done = True
                break
            if mid >= until:
                self._pending = packet
                break
            if t < -0.001:
                continue  # starts before the output does: drop it rather than shift the audio
            self._mux(output, packet, t, dur)

    def _mux(self, output, packet: av.Packet, t: float, dur: float) -> None:
        if self.copy:
            tb = packet.time_base
            shift = round((self._zero + self.start) / tb)
            packet.pts -= shift
            if packet.dts is not None:
                packet.dts -= shift
            packet.stream = self.stream
            output.mux(packet)
        else:
            for frame in packet.decode():
                frame.pts = None
                for out in self.stream.encode(frame):
                    output.mux(out)
        self.last_end = max(self.last_end, t + dur)

    def finish(self, output: av.container.OutputContainer, end: float) -> None:
        self.feed(output, until=float("inf"), end=end)
        if self.stream is not None and not self.copy:
            for out in self.stream.encode(None):
                output.mux(out)
        self.close()

    def close(self) -> None:
        if self._in is not None:
            self._in.close()
            self._in = None
