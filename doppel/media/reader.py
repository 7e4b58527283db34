"""Streaming frame reader: decode a video (or a folder of images) one frame at a time.

Frames carry their container timestamps, so variable-frame-rate input keeps its timing.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Iterator

import av
import numpy as np

from doppel.core.errors import DoppelError
from doppel.core.images import IMAGE_EXTENSIONS, list_images, read_image

VIDEO_EXTENSIONS = (".mp4", ".mov", ".mkv", ".avi", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv", ".flv", ".ts")


@dataclass
class Frame:
    index: int  # 0-based position in decode order
    image: np.ndarray  # BGR uint8, HxWx3
    timestamp: float | None  # seconds from the stream start; None for still images
    pts: int | None = None  # raw presentation timestamp in the stream's time base
    name: str | None = None  # file name for image inputs


class TruncatedVideoError(DoppelError):
    """Decoding stopped early: the file is damaged after `frames_decoded` frames."""

    def __init__(self, path: Path, frames_decoded: int, reason: str):
        self.frames_decoded = frames_decoded
        super().__init__(
            f"video is damaged: decoding stopped after frame {frames_decoded} ({reason})",
            path,
            hint="The frames before that were processed; re-encode or re-download the file for the rest",
        )


def is_video(path: str | Path) -> bool:
    return Path(path).suffix.lower() in VIDEO_EXTENSIONS


def is_image(path: str | Path) -> bool:
    return Path(path).suffix.lower() in IMAGE_EXTENSIONS


def open_container(path: str | Path) -> av.container.InputContainer:
    path = Path(path)
    if not path.exists():
        raise DoppelError("file not found", path)
    try:
        container = av.open(str(path))
    except (av.error.FFmpegError, OSError) as e:
        raise DoppelError(f"not a readable video ({e})", path, hint="Check the file is a video") from e
    if not container.streams.video:
        container.close()
        raise DoppelError("has no video stream", path)
    return container


def read_frames(path: str | Path, start: int = 0, every_n: int = 1, threads: int = 0) -> Iterator[Frame]:
    """Yield frames of a video, a folder of images, or a single image.

    `start` skips frames before that index (they are still decoded for video); `every_n`
    keeps one frame in n. A video that breaks mid-way raises TruncatedVideoError after the
    good frames were yielded.
    """
    path = Path(path)
    if path.is_dir():
        for i, p in enumerate(list_images(path)):
            if i >= start and (i - start) % every_n == 0:
                yield Frame(i, read_image(p), None, None, p.name)
        return
    if is_image(path):
        yield Frame(0, read_image(path), None, None, path.name)
        return
    container = open_container(path)
    try:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        if threads:
            stream.codec_context.thread_count = threads
        time_base = stream.time_base or Fraction(1, 1)
        start_pts = stream.start_time or 0
        index = 0
        try:
            for frame in container.decode(stream):
                if index >= start and (index - start) % every_n == 0:
                    ts = float((frame.pts - start_pts) * time_base) if frame.pts is not None else None
                    yield Frame(index, frame.to_ndarray(format="bgr24"), ts, frame.pts)
                index += 1
        except (av.error.FFmpegError, av.error.InvalidDataError) as e:
            raise TruncatedVideoError(path, index, str(e)) from e
        expected = stream.frames
        if expected and index < expected * 0.98 - 1:
            raise TruncatedVideoError(path, index, f"the header promises {expected} frames")
    finally:
        container.close()
