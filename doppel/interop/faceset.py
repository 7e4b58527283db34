"""`doppel import-dfl` / `doppel export-dfl`: whole folders of faces, one file at a time.

A file whose metadata is refused (unsafe pickle, missing fields) is skipped and reported;
the rest are converted. Sources are only read, outputs are written atomically, and files
already present in OUT are kept (so an interrupted run resumes).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from doppel.core.atomic import write_bytes
from doppel.core.errors import DoppelError
from doppel.core.images import list_images
from doppel.core.metadata import read_metadata
from doppel.interop.dfl import dfl_face_bytes, export_bytes
from doppel.media.progress import progress_bar


@dataclass
class ConvertResult:
    converted: int = 0
    kept: int = 0  # already in OUT from an earlier run
    refused: list[tuple[str, str]] = field(default_factory=list)  # (file name, one-line reason)


def _check_dirs(src: Path, out: Path) -> list[Path]:
    if not src.is_dir():
        raise DoppelError("not a folder", src, hint="Pass the folder of aligned faces")
    if out.resolve() == src.resolve():
        raise DoppelError("output folder is the input folder", out, hint="Pick a new folder; sources are never modified")
    files = [p for p in list_images(src) if p.suffix.lower() in (".jpg", ".jpeg", ".png")]
    if not files:
        raise DoppelError("no JPEG or PNG faces here", src)
    out.mkdir(parents=True, exist_ok=True)
    return files


def _convert_folder(src: str | Path, out: str | Path, label: str, convert, progress: bool) -> ConvertResult:
    """Write convert(path) -> bytes for every face of src into out; files already there are kept
    (so a re-run resumes), and a face that cannot be converted is reported, not fatal."""
    src, out = Path(src), Path(out)
    result = ConvertResult()
    files = _check_dirs(src, out)
    with progress_bar(f"{label} {src.name}", len(files), progress) as bar:
        for path in files:
            bar.advance()
            target = out / path.name
            if target.exists():
                result.kept += 1
                continue
            try:
                data = convert(path)
            except DoppelError as e:
                result.refused.append((path.name, e.message))
                continue
            write_bytes(target, data)
            result.converted += 1
    return result


def import_dfl(src: str | Path, out: str | Path, progress: bool = True) -> ConvertResult:
    """Convert a DeepFaceLab aligned faceset into doppel faces (same images, JSON metadata)."""
    return _convert_folder(src, out, "importing", lambda path: dfl_face_bytes(path)[0], progress)


def export_dfl(src: str | Path, out: str | Path, progress: bool = True) -> ConvertResult:
    """Write doppel faces as DeepFaceLab faces (DFL's APP15/fcWp metadata added, doppel's kept)."""
    return _convert_folder(src, out, "exporting", lambda path: export_bytes(path.read_bytes(), read_metadata(path)), progress)
