"""`doppel video info`: streams, frame rate, frame count, duration and audio of a video."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from fractions import Fraction
from pathlib import Path

from doppel.media.reader import open_container


@dataclass(frozen=True)
class StreamInfo:
    index: int
    kind: str  # video, audio, subtitle, data
    codec: str
    duration: float | None  # seconds
    width: int | None = None
    height: int | None = None
    fps: float | None = None
    frames: int | None = None
    sample_rate: int | None = None
    channels: int | None = None
    language: str | None = None


@dataclass(frozen=True)
class VideoInfo:
    path: str
    container: str
    duration: float | None
    width: int
    height: int
    fps: float
    frames: int
    variable_frame_rate: bool
    streams: list[StreamInfo] = field(default_factory=list)
    metadata: dict = field(default_factory=dict)

    @property
    def audio(self) -> list[StreamInfo]:
        return [s for s in self.streams if s.kind == "audio"]

    @property
    def has_audio(self) -> bool:
        return bool(self.audio)

    def to_dict(self) -> dict:
        return {**asdict(self), "has_audio": self.has_audio}


def _seconds(value, time_base) -> float | None:
    return float(value * time_base) if value is not None and time_base else None


def frame_timestamps(path: str | Path) -> list[float]:
    """Presentation times (seconds from the first frame) of every video frame, read from packet
    headers without decoding."""
    with open_container(path) as container:
        stream = container.streams.video[0]
        tb = stream.time_base or Fraction(1, 1)
        pts = sorted(p.pts for p in container.demux(stream) if p.pts is not None and p.size)
    if not pts:
        return []
    return [float((p - pts[0]) * tb) for p in pts]


def is_variable(deltas: list[float]) -> bool:
    """Frame gaps that differ by more than half the mean gap: a variable frame rate."""
    return bool(deltas) and (max(deltas) - min(deltas)) > 0.5 * (sum(deltas) / len(deltas))


def video_info(path: str | Path) -> VideoInfo:
    path = Path(path)
    stamps = frame_timestamps(path)
    with open_container(path) as container:
        streams = []
        for s in container.streams:
            cc = s.codec_context
            common = dict(index=s.index, kind=s.type, codec=cc.name if cc else "?", duration=_seconds(s.duration, s.time_base),
                          language=s.metadata.get("language"))
            if s.type == "video":
                rate = s.average_rate or s.guessed_rate
                streams.append(StreamInfo(**common, width=cc.width, height=cc.height, fps=float(rate) if rate else None,
                                          frames=s.frames or None))
            elif s.type == "audio":
                streams.append(StreamInfo(**common, sample_rate=cc.sample_rate, channels=cc.channels))
            else:
                streams.append(StreamInfo(**common))
        video = container.streams.video[0]
        rate = video.average_rate or video.guessed_rate
        deltas = [b - a for a, b in zip(stamps, stamps[1:])]
        vfr = is_variable(deltas)
        duration = container.duration / 1_000_000 if container.duration else None
        if deltas:  # MP4 headers can under-report VFR files; the frame timestamps do not
            typical = sorted(deltas)[len(deltas) // 2]
            duration = max(duration or 0.0, stamps[-1] + typical)
        return VideoInfo(
            path=str(path),
            container=container.format.name,
            duration=duration,
            width=video.codec_context.width,
            height=video.codec_context.height,
            fps=float(rate) if rate else (len(stamps) / duration if duration else 0.0),
            frames=len(stamps),
            variable_frame_rate=vfr,
            streams=streams,
            metadata=dict(container.metadata),
        )
