"""Encode BGR frames to a video file with PyAV, keeping timestamps, carrying reference audio,
and marking the output as synthetic (invisible watermark + container tag) unless told not to.

    with VideoWriter("out.mp4", like="dst.mp4", audio_from="dst.mp4") as w:
        for frame in frames:
            w.write(frame.image, frame.timestamp)

The file appears only when the writer closes without an error (atomic rename).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

from doppel.core.atomic import atomic_path, leftover_pattern, remove_leftovers, write_error
from doppel.core.errors import DoppelError
from doppel.media.audio import AudioCarrier
from doppel.media.reader import open_container
from doppel.provenance.info import ProvenanceInfo, resolve
from doppel.provenance.tag import container_tags
from doppel.provenance.watermark import embed_watermark


@dataclass(frozen=True)
class CodecSpec:
    encoder: str
    pix_fmt: str
    containers: tuple[str, ...]  # file extensions that can hold it
    uses_crf: bool = False
    even_size: bool = False  # chroma subsampling needs even width and height


CODECS = {
    "h264": CodecSpec("libx264", "yuv420p", (".mp4", ".mov", ".mkv", ".m4v"), uses_crf=True, even_size=True),
    "h265": CodecSpec("libx265", "yuv420p", (".mp4", ".mov", ".mkv", ".m4v"), uses_crf=True, even_size=True),
    "prores": CodecSpec("prores_ks", "yuv422p10le", (".mov", ".mkv"), even_size=True),
    "ffv1": CodecSpec("ffv1", "bgr0", (".mkv", ".avi")),  # lossless
    "png": CodecSpec("png", "rgb24", (".mov",)),  # lossless, one PNG per frame (FFmpeg's MKV muxer refuses PNG)
}
CODEC_NAMES = tuple(CODECS)
_FORMATS = {".mp4": "mp4", ".m4v": "mp4", ".mov": "mov", ".mkv": "matroska", ".avi": "avi"}
DEFAULT_FPS = Fraction(30)
TIME_BASE = Fraction(1, 90000)
# x264/x265 speed preset: "veryfast" encodes about 3x faster than "medium" on 2 cores (see
# benchmarks/_media_limits.py), which keeps encoding inside merge's frame budget; crf sets quality.
DEFAULT_PRESET = "veryfast"
PRESETS = ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow")  # fine enough for every common frame rate and for VFR timestamps


def as_fraction(fps: float | Fraction | str) -> Fraction:
    """30 -> 30, 29.97 -> 30000/1001, "24000/1001" -> 24000/1001."""
    value = Fraction(fps).limit_denominator(1001)
    if value <= 0:
        raise DoppelError(f"frame rate must be positive, got {fps}")
    return value


def probe_rate(path: str | Path) -> tuple[Fraction, Fraction]:
    """(frame rate, time base) of a video's first video stream."""
    with open_container(path) as container:
        stream = container.streams.video[0]
        rate = stream.average_rate or stream.guessed_rate or stream.base_rate
        if not rate:
            raise DoppelError("cannot tell the frame rate", path, hint="Pass --fps")
        return Fraction(rate), stream.time_base or TIME_BASE


def _is_vfr(path: str | Path) -> bool:
    from doppel.media.info import frame_timestamps, is_variable

    stamps = frame_timestamps(path)
    return is_variable([b - a for a, b in zip(stamps, stamps[1:])])


class VideoWriter:
    """Context manager that encodes BGR uint8 frames; see the module docstring.

    fps: frame rate (or taken from `like`); timestamps passed to `write` override it per frame (VFR).
    codec: one of CODEC_NAMES; crf for h264/h265 (lower is better, 18 is visually lossless);
    preset: x264/x265 speed preset (PRESETS).
    b_frames: None = on, unless `like` has a variable frame rate. With B-frames and irregular timestamps
    the MP4 header under-reports the duration (frame timestamps stay exact), so VFR turns them off.
    audio_from: a video or audio file whose audio is muxed in, from `audio_start` seconds into it (track
    `audio_track`), copied when the container takes its codec, else re-encoded to AAC.
    provenance: ProvenanceInfo, None (default record) or False (no watermark, no tag).
    """

    def __init__(
        self,
        path: str | Path,
        fps: float | Fraction | None = None,
        like: str | Path | None = None,
        codec: str = "h264",
        crf: int = 18,
        audio_from: str | Path | None = None,
        provenance: ProvenanceInfo | bool | None = None,
        *,
        preset: str = DEFAULT_PRESET,
        bitrate: int | None = None,
        audio_start: float = 0.0,
        audio_track: int = 0,
        threads: int = 0,
        b_frames: bool | None = None,
    ):
        self.path = Path(path)
        if codec not in CODECS:
            raise DoppelError(f"unknown codec {codec!r}", self.path, hint=f"Use one of {', '.join(CODEC_NAMES)}")
        self.spec = CODECS[codec]
        ext = self.path.suffix.lower()
        if ext not in self.spec.containers:
            raise DoppelError(
                f"{codec} cannot go in a {ext or 'nameless'} file",
                self.path,
                hint=f"Use an output ending in {' or '.join(self.spec.containers)}",
            )
        self.format = _FORMATS[ext]
        if fps is not None:
            self.fps = as_fraction(fps)
        elif like is not None:
            self.fps = probe_rate(like)[0]
        else:
            self.fps = DEFAULT_FPS
        if preset not in PRESETS:
            raise DoppelError(f"unknown preset {preset!r}", self.path, hint=f"Use one of {', '.join(PRESETS)}")
        self.codec, self.crf, self.preset, self.bitrate, self.threads = codec, int(crf), preset, bitrate, threads
        self.audio_from = Path(audio_from) if audio_from is not None else None
        if self.audio_from is not None and not self.audio_from.is_file():
            raise DoppelError("audio reference not found", self.audio_from)
        self.audio_start, self.audio_track = float(audio_start), int(audio_track)
        self.provenance = resolve(provenance)
        self.b_frames = b_frames if b_frames is not None else not (like is not None and _is_vfr(like))
        self.frames_written = 0
        self._stack: contextlib.ExitStack | None = None
        self._container: av.container.OutputContainer | None = None
        self._stream = None
        self._audio: AudioCarrier | None = None
        self._size: tuple[int, int] | None = None  # (h, w) of the frames given
        self._last_pts = -1
        self._last_step = round(1 / (self.fps * TIME_BASE))
        self._closed = False

    # -- lifecycle -------------------------------------------------------------------------
    def __enter__(self) -> "VideoWriter":
        remove_leftovers(self.path.parent, leftover_pattern(self.path))  # of an interrupted run to this output
        self._stack = contextlib.ExitStack()
        try:
            self._tmp = self._stack.enter_context(atomic_path(self.path))
        except OSError as e:
            raise write_error(e, self.path, "the video") from e
        try:
            # faststart: the index goes before the media data, so players can start before the end arrives
            options = {"movflags": "+faststart"} if self.format in ("mp4", "mov") else {}
            self._container = av.open(str(self._tmp), mode="w", format=self.format, options=options)
        except OSError as e:
            self._stack.close()
            raise write_error(e, self.path, "the video") from e
        except av.error.FFmpegError as e:
            self._stack.close()
            raise DoppelError(f"cannot write a video here ({e})", self.path) from e
        if self.provenance is not None:
            self._container.metadata.update(container_tags(self.provenance))
        return self

    def __exit__(self, exc_type, exc, tb) -> bool:
        if exc_type is None:
            try:
                self._finish()
            except BaseException as e:
                self._abort(type(e), e, e.__traceback__)
                raise
            self._stack.__exit__(None, None, None)
        else:
            self._abort(exc_type, exc, tb)
        return False

    def _abort(self, exc_type, exc, tb) -> None:
        if self._audio is not None:
            self._audio.close()
        if self._container is not None:
            with contextlib.suppress(Exception):
                self._container.close()
        self._stack.__exit__(exc_type, exc, tb)  # removes the temp file; nothing appears at path

    def _open_stream(self, h: int, w: int) -> None:
        spec = self.spec
        options = {}
        if spec.uses_crf and self.bitrate is None:
            options["crf"] = str(self.crf)
        if spec.encoder in ("libx264", "libx265"):
            options["preset"] = self.preset
        if spec.encoder == "libx264" and not self.b_frames:
            options["bf"] = "0"
        if spec.encoder == "libx265":
            options["x265-params"] = "log-level=error" + ("" if self.b_frames else ":bframes=0")
        if spec.encoder == "prores_ks":
            options["profile"] = "2"  # 422 standard
        try:
            stream = self._container.add_stream(spec.encoder, rate=self.fps, options=options)
        except (ValueError, av.error.FFmpegError) as e:
            raise DoppelError(f"cannot encode {self.codec} into this file ({e})", self.path) from e
        ph, pw = (h + h % 2, w + w % 2) if spec.even_size else (h, w)
        stream.width, stream.height, stream.pix_fmt = pw, ph, spec.pix_fmt
        stream.time_base = TIME_BASE
        stream.codec_context.time_base = TIME_BASE
        if self.bitrate:
            stream.bit_rate = int(self.bitrate)
        if self.threads:
            stream.codec_context.thread_count = self.threads
        if self.provenance is not None:
            stream.metadata["comment"] = self.provenance.label()
        self._stream, self._size = stream, (h, w)
        if self.audio_from is not None:
            self._audio = AudioCarrier(self.audio_from, self._container, self.format, self.audio_start, self.audio_track)
            if self._audio.stream is None:
                self._audio = None

    # -- writing ---------------------------------------------------------------------------
    def write(self, frame_bgr: np.ndarray, timestamp: float | None = None) -> None:
        """Encode one BGR uint8 frame. `timestamp` (seconds) keeps variable frame rates; without it
        frames are spaced 1/fps apart."""
        if self._container is None or self._closed:
            raise RuntimeError("use VideoWriter as a context manager: with VideoWriter(...) as w: w.write(...)")
        if frame_bgr.dtype != np.uint8 or frame_bgr.ndim != 3 or frame_bgr.shape[2] != 3:
            raise DoppelError("frames must be BGR uint8 images", self.path)
        h, w = frame_bgr.shape[:2]
        if self._stream is None:
            self._open_stream(h, w)
        elif (h, w) != self._size:
            raise DoppelError(f"frame size changed from {self._size[1]}x{self._size[0]} to {w}x{h}", self.path,
                              hint="All frames of a video must have the same size")
        if self.provenance is not None and self.provenance.watermark:
            frame_bgr = embed_watermark(frame_bgr)
        ph, pw = self._stream.height, self._stream.width
        if (ph, pw) != (h, w):  # yuv420p needs even sizes: repeat the last row/column
            frame_bgr = cv2.copyMakeBorder(frame_bgr, 0, ph - h, 0, pw - w, cv2.BORDER_REPLICATE)
        if timestamp is None:
            pts = self._last_pts + self._last_step if self._last_pts >= 0 else 0
        else:
            pts = round(float(timestamp) / TIME_BASE)
            if self._last_pts >= 0:
                self._last_step = max(1, pts - self._last_pts)
        pts = max(pts, self._last_pts + 1)  # timestamps must increase
        self._last_pts = pts
        vf = av.VideoFrame.from_ndarray(np.ascontiguousarray(frame_bgr), format="bgr24")
        vf.pts, vf.time_base = pts, TIME_BASE
        try:
            for packet in self._stream.encode(vf):
                self._container.mux(packet)
            if self._audio is not None:  # audio up to this frame's time, so the muxer interleaves as we go
                self._audio.feed(self._container, until=float(pts * TIME_BASE))
        except OSError as e:  # a full disk: the temp file goes, an earlier output at `path` stays
            raise write_error(e, self.path, "the video") from e
        self.frames_written += 1

    @property
    def duration(self) -> float:
        """Seconds covered by the frames written so far (last timestamp plus one frame)."""
        return 0.0 if self._last_pts < 0 else float((self._last_pts + self._last_step) * TIME_BASE)

    def _finish(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._stream is None:
            raise DoppelError("no frames were written", self.path, hint="Check the input has frames")
        try:
            for packet in self._stream.encode(None):
                self._container.mux(packet)
            if self._audio is not None:
                self._audio.finish(self._container, end=self.duration)
            self._container.close()
        except OSError as e:
            raise write_error(e, self.path, "the video") from e
