"""Reading a faceset folder once: which files are faces, which lack metadata, which are broken.

Nothing here raises on a bad file: a folder with stray files, stripped metadata or damaged images
is reported, so each command can say what it skipped and carry on with the rest.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Callable, Iterable, TypeVar

import numpy as np

from doppel.core.errors import DoppelError, NoMetadataError
from doppel.core.images import IMAGE_EXTENSIONS, TRASH_DIR, read_image
from doppel.core.metadata import FaceMeta, read_metadata

# Files doppel itself keeps in a faceset folder; they are not "stray".
OWN_FILES = ("alignments.json", "extract.json", "doppel_meta.json")

T = TypeVar("T")


class FaceFile:
    """One aligned face file; the image is read on first use and can be dropped with `forget()`."""

    def __init__(self, path: Path, meta: FaceMeta | None):
        self.path = path
        self.meta = meta

    @cached_property
    def image(self) -> np.ndarray:
        return read_image(self.path)

    def forget(self) -> None:
        self.__dict__.pop("image", None)

    @property
    def name(self) -> str:
        return self.path.name

    def __repr__(self) -> str:
        return f"FaceFile({self.path.name})"


@dataclass
class Faceset:
    folder: Path
    faces: list[FaceFile] = field(default_factory=list)  # images with doppel metadata
    no_meta: list[FaceFile] = field(default_factory=list)  # readable images without metadata
    unreadable: list[tuple[Path, str]] = field(default_factory=list)  # (file, why)
    other_files: list[Path] = field(default_factory=list)  # not images at all

    def problems(self) -> list[tuple[Path, str]]:
        out = [(f.path, "no doppel face metadata") for f in self.no_meta]
        out += self.unreadable
        out += [(p, "not an image") for p in self.other_files]
        return out


def _is_image_name(p: Path) -> bool:
    return p.suffix.lower() in IMAGE_EXTENSIONS


def scan_faceset(folder: str | Path, recursive: bool = False) -> Faceset:
    """Classify every file of a faceset folder (the trash and hidden files are skipped)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DoppelError("not a folder", folder, hint="Pass the folder of aligned faces")
    result = Faceset(folder)
    pattern = "**/*" if recursive else "*"
    for p in sorted(folder.glob(pattern)):
        rel = p.relative_to(folder)
        if not p.is_file() or TRASH_DIR in rel.parts or any(part.startswith(".") for part in rel.parts):
            continue
        if not _is_image_name(p):
            if p.name not in OWN_FILES:
                result.other_files.append(p)
            continue
        try:
            result.faces.append(FaceFile(p, read_metadata(p)))
        except NoMetadataError:
            try:  # rare, so worth a decode: a broken file is not "an image without metadata"
                read_image(p)
                result.no_meta.append(FaceFile(p, None))
            except DoppelError as e:
                result.unreadable.append((p, e.message))
        except DoppelError as e:
            result.unreadable.append((p, e.message))
    return result


def map_faces(
    faces: Iterable[FaceFile],
    fn: Callable[[FaceFile], T],
    description: str = "reading faces",
    progress: bool = True,
) -> tuple[list[tuple[FaceFile, T]], list[tuple[Path, str]]]:
    """Apply fn to each face (reading its image on demand) with a progress bar.

    Returns (face, value) pairs for the faces that worked and (path, why) for those that did not.
    Images are dropped after use so that large sets fit in memory.
    """
    faces = list(faces)
    done: list[tuple[FaceFile, T]] = []
    failed: list[tuple[Path, str]] = []
    iterator: Iterable[FaceFile] = faces
    if progress and len(faces) > 50:
        from rich.progress import track

        iterator = track(faces, description=description, transient=True)
    for face in iterator:
        try:
            done.append((face, fn(face)))
        except DoppelError as e:
            failed.append((face.path, e.message))
        finally:
            face.forget()
    return done, failed
