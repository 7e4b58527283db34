"""`doppel video cut`: a frame-accurate piece of a video, with one of its audio tracks.

The video is re-encoded (a stream copy can only cut at keyframes); timestamps are kept, so VFR
stays VFR. A cut is not rendered content: it carries no watermark and no synthetic tag.
"""

from __future__ import annotations

from pathlib import Path

from doppel.core.errors import DoppelError
from doppel.media.info import video_info
from doppel.media.progress import progress_bar
from doppel.media.reader import read_frames
from doppel.media.writer import DEFAULT_PRESET, VideoWriter


def cut(video: str | Path, out: str | Path, start: float = 0.0, end: float | None = None, audio_track: int = 0,
        codec: str = "h264", crf: int = 18, bitrate: int | None = None, preset: str = DEFAULT_PRESET,
        progress: bool = True) -> int:
    """Copy the frames with start <= timestamp < end (seconds) to `out`; returns the frame count."""
    video = Path(video)
    info = video_info(video)
    if start < 0 or (end is not None and end <= start):
        raise DoppelError(f"bad time range {start}..{end}", video, hint="Use 0 <= --from < --to")
    if info.duration is not None and start >= info.duration:
        raise DoppelError(f"--from {start}s is past the end ({info.duration:.2f}s)", video)
    if info.audio and audio_track >= len(info.audio):
        raise DoppelError(f"no audio track {audio_track} (the file has {len(info.audio)})", video,
                          hint=f"Use --audio-track 0..{len(info.audio) - 1}")
    stop = end if end is not None else float("inf")
    expected = round((min(stop, info.duration or stop) - start) * info.fps) if info.fps else None
    count = 0
    with VideoWriter(out, fps=info.fps, codec=codec, crf=crf, bitrate=bitrate, preset=preset, provenance=False,
                     b_frames=not info.variable_frame_rate,
                     audio_from=video if info.audio else None, audio_start=start, audio_track=audio_track) as writer:
        with progress_bar(f"cutting {video.name}", expected, progress) as bar:
            for frame in read_frames(video):
                t = frame.timestamp if frame.timestamp is not None else frame.index / info.fps
                if t + 1e-6 < start:
                    continue
                if t + 1e-6 >= stop:
                    break
                writer.write(frame.image, t - start)
                count += 1
                bar.advance()
    return count
