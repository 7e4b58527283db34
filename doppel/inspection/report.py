"""`doppel inspect`: what a file says about its origin, and whether its pixels carry the mark."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

from doppel.core.errors import DoppelError
from doppel.provenance.watermark import THRESHOLD, watermark_score

PRESENT_RATE = 0.5  # a video counts as marked when at least half of the checked frames are


@dataclass(frozen=True)
class InspectReport:
    path: str
    kind: str  # "video", "image" or "frames" (a folder of images)
    tag: dict | None  # the provenance record from the container or image file, if any
    frames_checked: int
    frames_marked: int
    mean_score: float
    threshold: float = THRESHOLD

    @property
    def detection_rate(self) -> float:
        return self.frames_marked / self.frames_checked if self.frames_checked else 0.0

    @property
    def watermark_present(self) -> bool:
        return self.frames_checked > 0 and self.detection_rate >= PRESENT_RATE

    @property
    def synthetic(self) -> bool:
        return self.watermark_present or bool(self.tag and self.tag.get("synthetic"))

    def to_dict(self) -> dict:
        return {
            **asdict(self),
            "detection_rate": self.detection_rate,
            "watermark_present": self.watermark_present,
            "synthetic": self.synthetic,
        }

    def lines(self) -> list[str]:
        tag = self.tag
        out = [f"file: {self.path} ({self.kind})"]
        if tag:
            out.append(
                f"tag: synthetic={tag.get('synthetic')} tool={tag.get('tool')} {tag.get('version')} "
                f"model={tag.get('model_id')} created={tag.get('created')}"
            )
        else:
            out.append("tag: none")
        out.append(
            f"watermark: {'present' if self.watermark_present else 'not found'} in "
            f"{self.frames_marked}/{self.frames_checked} frames checked "
            f"({self.detection_rate:.0%}, mean score {self.mean_score:.1f}, threshold {self.threshold:g})"
        )
        return out


def _video_frames(path: Path, max_frames: int):
    from doppel.media.reader import open_container, read_frames

    with open_container(path) as container:
        total = container.streams.video[0].frames or 0
    every_n = max(1, total // max_frames) if total else 1
    for i, frame in enumerate(read_frames(path, every_n=every_n)):
        if i >= max_frames:
            break
        yield frame.image


def inspect(path: str | Path, max_frames: int = 60) -> InspectReport:
    """Read the provenance tag and measure the watermark on up to `max_frames` evenly spaced frames
    of a video, a folder of frames, or one image."""
    from doppel.core.images import list_images, read_image
    from doppel.media.reader import is_image, open_container
    from doppel.provenance.tag import read_container_tag, read_image_tag

    path = Path(path)
    if path.is_dir():
        images = list_images(path)
        if not images:
            raise DoppelError("no images in this folder", path)
        picked = images[:: max(1, len(images) // max_frames)][:max_frames]
        tags = [read_image_tag(p.read_bytes()) for p in picked]
        kind, tag, frames = "frames", next((t for t in tags if t), None), (read_image(p) for p in picked)
    elif not path.is_file():
        raise DoppelError("file not found", path, hint="Pass a video, an image or a folder of frames")
    elif is_image(path):
        kind, tag, frames = "image", read_image_tag(path.read_bytes()), [read_image(path)]
    else:
        with open_container(path) as container:
            tag = read_container_tag(dict(container.metadata))
        kind, frames = "video", _video_frames(path, max_frames)
    scores = [watermark_score(f) for f in frames]
    return InspectReport(
        path=str(path),
        kind=kind,
        tag=tag,
        frames_checked=len(scores),
        frames_marked=sum(s >= THRESHOLD for s in scores),
        mean_score=float(sum(scores) / len(scores)) if scores else 0.0,
    )
