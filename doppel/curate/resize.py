"""`resize_faceset`: re-cut every face to another size and/or face type, into a new folder.

Uses the face matrices in the metadata (doppel.faces.align.realign), so no source frames are
needed. Resumable: faces already in the output folder are skipped (each write is atomic).
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from doppel.core.errors import DoppelError
from doppel.core.images import write_face
from doppel.curate.faceset import map_faces, scan_faceset
from doppel.core.index_sync import INDEX_NAME


@dataclass(frozen=True)
class ResizeResult:
    out_dir: Path
    written: int
    skipped_existing: int
    problems: tuple[tuple[Path, str], ...]


def resize_faceset(folder: str | Path, out_dir: str | Path, size: int, face_type: str | None = None, jpeg_quality: int = 95, progress: bool = True) -> ResizeResult:
    from doppel.core.images import AlignedFace
    from doppel.faces.align import realign

    folder, out_dir = Path(folder), Path(out_dir)
    if not 32 <= size <= 4096:
        raise DoppelError(f"--size {size} is out of range (32..4096)")
    if out_dir.resolve() == folder.resolve():
        raise DoppelError("the output folder must differ from the faceset", out_dir, hint="Pass --out to a new folder")
    scan = scan_faceset(folder)
    out_dir.mkdir(parents=True, exist_ok=True)
    todo = [f for f in scan.faces if not (out_dir / f.name).exists()]

    def one(face) -> None:
        image, meta = realign(AlignedFace(face.path, face.image, face.meta), face_type or face.meta.face_type, size)
        meta.embedding = None  # the embedding belongs to the old pixels
        meta.extra.pop("embedding_model", None)
        write_face(out_dir / face.name, image, meta, jpeg_quality)

    done, failed = map_faces(todo, one, "resizing faces", progress)
    if (folder / INDEX_NAME).is_file() and not (out_dir / INDEX_NAME).exists():
        shutil.copy2(folder / INDEX_NAME, out_dir / INDEX_NAME)  # same names, so the index still holds
    return ResizeResult(out_dir, len(done), len(scan.faces) - len(todo), tuple(scan.problems()) + tuple(failed))
