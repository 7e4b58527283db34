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
        if not self.reference.is_file():
            raise DoppelError("audio reference not found", self.reference)
        try:  # a video or an audio-only file (.wav, .m4a, ...)
            self._in = av.open(str(self.reference))
        except (av.error.FFmpegError, OSError) as e:
            raise DoppelError(f"not a readable audio/video file ({e})", self.reference) from e
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
            self._resampler = av.AudioResampler(format="fltp", layout=layout, rate=self.stream.rate)
        self._packets = self._in.demux(src)
        self._pending: av.Packet | None = None
        self._done = False
        self.last_end = 0.0  # output time where the last muxed audio ends

    def _time(self, pts: int | None, tb: Fraction) -> float | None:
        return None if pts is None else float(pts * tb) - self._zero - self.start

    def feed(self, output: av.container.OutputContainer, until: float, end: float | None = None) -> None:
        """Mux reference audio up to output time `until`; `end` (the video's end) is given on the last call."""
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
            # Copied packets cannot be cut: keep those whose midpoint is inside. Re-encoded audio is cut
            # to the sample, so a packet is only taken once it fits before `until`.
            point = t + dur / 2 if self.copy else t
            if end is not None and point >= end:
                self._done = True
                break
            if (point if self.copy else t + dur) >= until:
                self._pending = packet
                break
            if self.copy:
                if t >= -0.001:  # a packet starting before the output is dropped rather than shifted
                    self._copy(output, packet)
            elif t + dur > 0:
                self._transcode(output, packet, t, end)
            self.last_end = max(self.last_end, min(t + dur, end) if end is not None else t + dur)

    def _copy(self, output, packet: av.Packet) -> None:
        shift = round((self._zero + self.start) / packet.time_base)
        packet.pts -= shift
        if packet.dts is not None:
            packet.dts -= shift
        packet.stream = self.stream
        output.mux(packet)

    def _transcode(self, output, packet: av.Packet, t: float, end: float | None) -> None:
        for frame in packet.decode():
            tf = self._time(frame.pts, frame.time_base) if frame.pts is not None and frame.time_base else t
            for planar in self._resampler.resample(frame):
                rate, n = planar.sample_rate, planar.samples
                first = max(0, round(-tf * rate))
                last = n if end is None else min(n, round((end - tf) * rate))
                if last > first:
                    if (first, last) != (0, n):
                        samples = planar.to_ndarray()[:, first:last]
                        planar = av.AudioFrame.from_ndarray(samples, format="fltp", layout=self.stream.layout.name)
                        planar.sample_rate = rate
                    planar.pts = None
                    for out in self.stream.encode(planar):
                        output.mux(out)
                tf += n / rate

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
