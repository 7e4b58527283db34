"""Videos to image sequences and back: `extract-frames` and `from-frames`."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

from doppel.core.errors import DoppelError
from doppel.core.images import list_images, read_image, write_image
from doppel.media.info import frame_timestamps
from doppel.media.progress import progress_bar
from doppel.media.reader import open_container, read_frames
from doppel.media.writer import DEFAULT_PRESET, VideoWriter, probe_rate
from doppel.provenance.info import ProvenanceInfo

FRAME_FORMATS = ("png", "jpg")


def extract_frames(video: str | Path, out_dir: str | Path, fps: float | None = None, fmt: str = "png",
                   quality: int = 95, progress: bool = True) -> int:
    """Write the frames of `video` as images named by frame index (000000.png, ...); returns how many.

    `fps` keeps about that many frames per second, chosen by timestamp (so VFR input is sampled
    evenly in time). Files already present are kept, so an interrupted run resumes. Frames taken
    from a video are not rendered content and carry no provenance mark.
    """
    video, out_dir = Path(video), Path(out_dir)
    if fmt not in FRAME_FORMATS:
        raise DoppelError(f"unknown frame format {fmt!r}", hint=f"Use one of {', '.join(FRAME_FORMATS)}")
    if fps is not None and fps <= 0:
        raise DoppelError(f"--fps must be positive, got {fps}")
    with open_container(video) as c:
        total = c.streams.video[0].frames or None
    out_dir.mkdir(parents=True, exist_ok=True)
    written, next_t = 0, 0.0
    with progress_bar(f"frames of {video.name}", total, progress) as bar:
        for frame in read_frames(video):
            bar.advance()
            if fps is not None:
                t = frame.timestamp if frame.timestamp is not None else frame.index / fps
                if t + 1e-6 < next_t:
                    continue
                next_t += 1.0 / fps
                while next_t <= t:  # after a gap (VFR), do not emit a burst of catch-up frames
                    next_t += 1.0 / fps
            target = out_dir / f"{frame.index:06d}.{fmt}"
            if not target.exists():
                write_image(target, frame.image, jpeg_quality=quality)
            written += 1
    return written


def from_frames(frames_dir: str | Path, out: str | Path, fps: float | None = None, like: str | Path | None = None,
                codec: str = "h264", crf: int = 18, audio_from: str | Path | bool | None = None, preset: str = DEFAULT_PRESET,
                provenance: ProvenanceInfo | bool | None = None, progress: bool = True) -> int:
    """Encode a folder of images (name order) into a video; returns the number of frames.

    With `like`, the frame rate and, frame for frame, the timestamps of that video are reused (so a
    VFR original keeps its timing), and its audio is carried unless `audio_from` names another
    video or is False (no audio).
    """
    images = list_images(frames_dir)
    if not images:
        raise DoppelError("no images found", frames_dir, hint="Pass a folder of .png/.jpg frames")
    stamps: list[float] = []
    if like is not None:
        stamps = frame_timestamps(like)
        if fps is None:
            fps = probe_rate(like)[0]
    if audio_from is None:
        audio_from = like
    if audio_from is False:
        audio_from = None
    step = 1.0 / float(Fraction(fps).limit_denominator(1001)) if fps else 1.0 / 30
    with VideoWriter(out, fps=fps, codec=codec, crf=crf, audio_from=audio_from, provenance=provenance,
                     preset=preset) as writer:
        with progress_bar(f"encoding {Path(out).name}", len(images), progress) as bar:
            for i, path in enumerate(images):
                t = stamps[i] if i < len(stamps) else (stamps[-1] + (i - len(stamps) + 1) * step if stamps else i * step)
                writer.write(read_image(path), t)
                bar.advance()
    return len(images)
