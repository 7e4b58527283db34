"""The alignments index of a destination video: for every frame, which aligned faces it has.

Merge walks this index frame by frame, so frames with no face are known (and pass through),
not silently missing. Stored as versioned JSON next to the aligned faces.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from doppel.core import schema
from doppel.core.atomic import write_json
from doppel.core.errors import DoppelError
from doppel.core.schema import read_json

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
        """Read and check an index (every field's type and range); DoppelError naming the file otherwise."""
        path = Path(path)
        hint = "Re-run 'doppel extract' on the destination"
        d = read_json(path, "alignments index", hint="Run 'doppel extract' on the destination first")
        try:
            return cls.from_dict(d)
        except DoppelError as e:
            raise schema.damaged("alignments index", e, path, hint) from None

    @classmethod
    def from_dict(cls, d: Any) -> "Alignments":
        f = schema.field
        d = schema.obj(d, "alignments")
        if f(d, "schema", schema.integer, 1, default=1) > ALIGNMENTS_SCHEMA:
            raise DoppelError("alignments index is from a newer doppel", hint="Upgrade doppel")
        frames = []
        for i, entry in enumerate(f(d, "frames", schema.items, default=[])):
            where = f"frames[{i}]."
            entry = schema.obj(entry, where[:-1])
            faces = f(entry, "faces", schema.items, default=[], prefix=where)
            frames.append(FrameEntry(
                index=f(entry, "index", schema.integer, 0, prefix=where),
                timestamp=f(entry, "timestamp", schema.number, default=None, prefix=where),
                faces=[_face_name(name, f"{where}faces[{j}]") for j, name in enumerate(faces)],
            ))
        return cls(
            source=f(d, "source", schema.text),
            faces_dir=f(d, "faces_dir", schema.text),
            frames=frames,
            fps=f(d, "fps", schema.number, 0.0, default=None),
            width=f(d, "width", schema.integer, 0, default=0),
            height=f(d, "height", schema.integer, 0, default=0),
            complete=f(d, "complete", schema.flag, default=False),
        )

    def by_index(self) -> dict[int, FrameEntry]:
        return {f.index: f for f in self.frames}


def _face_name(value: Any, name: str) -> str:
    """A face file name inside faces_dir: plain, never a path that leads elsewhere."""
    text = schema.text(value, name, max_len=4096)
    if not text or text in (".", "..") or "/" in text or "\\" in text or "\x00" in text:
        raise schema.SchemaError(f"{name}: {text[:60]!r} is not a plain file name")
    return text
