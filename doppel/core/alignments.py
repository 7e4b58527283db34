"""The alignments index of a destination video: for every frame, which aligned faces it has.

Merge walks this index frame by frame, so frames with no face are known (and pass through),
not silently missing. Stored as versioned JSON next to the aligned faces.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from doppel.core.atomic import write_json
from doppel.core.errors import DoppelError

ALIGNMENTS_SCHEMA = 1


@dataclass
class FrameEntry:
    index: int
    timestamp: float | None = None  # seconds
    faces: list[str] = field(default_factory=list)  # aligned face file names, relative to faces_dir


@dataclass
class Alignments:
    source: str  # the video (or frames folder) the index describes
    faces_dir: str  # folder of aligned faces, relative to the index file when possible
    frames: list[FrameEntry] = field(default_factory=list)
    fps: float | None = None
    width: int = 0
    height: int = 0
    complete: bool = False  # True once every frame of the source was visited
    schema: int = ALIGNMENTS_SCHEMA

    def save(self, path: str | Path) -> None:
        write_json(path, asdict(self))

    @classmethod
    def load(cls, path: str | Path) -> "Alignments":
        path = Path(path)
        try:
            d = json.loads(path.read_text())
        except FileNotFoundError as e:
            raise DoppelError("alignments index not found", path, hint="Run 'doppel extract' on the destination first") from e
        except (OSError, ValueError) as e:
            raise DoppelError(f"alignments index is unreadable ({e})", path, hint="Re-run 'doppel extract'") from e
        if d.get("schema", 1) > ALIGNMENTS_SCHEMA:
            raise DoppelError("alignments index is from a newer doppel", path, hint="Upgrade doppel")
        frames = [FrameEntry(**f) for f in d.pop("frames", [])]
        return cls(frames=frames, **d)

    def by_index(self) -> dict[int, FrameEntry]:
        return {f.index: f for f in self.frames}
