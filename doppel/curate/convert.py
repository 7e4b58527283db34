"""`to_jpg`: turn PNG (or other) faces into JPEG faces with the same metadata; the originals go
to the trash, so nothing is lost. JPEG is the format DeepFaceLab users and trainers expect."""

from __future__ import annotations

from pathlib import Path

from doppel.core.images import write_face
from doppel.curate.faceset import map_faces, scan_faceset
from doppel.core.index_sync import rename_in_index
from doppel.core.trash import trash_files


def to_jpg(folder: str | Path, jpeg_quality: int = 95, progress: bool = True) -> tuple[int, tuple[tuple[Path, str], ...]]:
    """Convert every non-JPEG face. Returns (converted, problems)."""
    folder = Path(folder)
    scan = scan_faceset(folder)
    todo = [f for f in scan.faces if f.path.suffix.lower() not in (".jpg", ".jpeg")]
    problems = list(scan.problems())
    clash = [f for f in todo if (folder / f"{f.path.stem}.jpg").exists()]
    problems += [(f.path, f"{f.path.stem}.jpg already exists; left as it is") for f in clash]
    todo = [f for f in todo if f not in clash]

    def one(face) -> str:
        write_face(folder / f"{face.path.stem}.jpg", face.image, face.meta, jpeg_quality)
        return face.name

    done, failed = map_faces(todo, one, "converting to JPEG", progress)
    rename_in_index(folder, {name: f"{Path(name).stem}.jpg" for _, name in done})
    trash_files(folder, [folder / name for _, name in done], "to-jpg: converted to JPEG")
    return len(done), tuple(problems) + tuple(failed)
