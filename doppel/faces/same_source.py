"""An output folder of `doppel extract` belongs to one input: a second, different video must not be
added to it (its frames would interleave with the first one's in the index, and merge would paste
faces into the wrong frames). Re-running the same input resumes; `--new` starts the folder afresh,
with the old faces and index moved into its trash (`doppel trash restore` brings them back)."""

from __future__ import annotations

from pathlib import Path

from doppel.core import schema
from doppel.core.errors import DoppelError
from doppel.core.images import list_images
from doppel.core.index_sync import INDEX_NAME as ALIGNMENTS_NAME
from doppel.core.trash import trash_dir, trash_everything

OPTIONS_NAME = "extract.json"


def recorded_input(out: Path) -> str | None:
    """The input whose faces `out` holds, as recorded by extraction (None when nothing is recorded)."""
    for name, key in ((ALIGNMENTS_NAME, "source"), (OPTIONS_NAME, "input")):
        try:
            value = schema.read_object(out / name, name).get(key)
        except DoppelError:
            continue  # missing here; a damaged file is reported by the code that reads it
        if isinstance(value, str) and value:
            return value
    return None


def read_extract_options(path: Path) -> dict:
    """The options an output folder's faces were extracted with (`extract.json`), checked to be an
    object of plain values; DoppelError naming the file otherwise."""
    hint = "Remove it or use a new folder"
    record = schema.read_object(path, OPTIONS_NAME, hint)
    try:
        options = schema.field(record, "options", schema.obj)
        for key, value in options.items():
            schema.plain(value, f"options.{key}")
    except schema.SchemaError as e:
        raise schema.damaged(OPTIONS_NAME, e, path, hint) from None
    return options


def _same_input(recorded: str, src: Path) -> bool:
    old = Path(recorded)
    if old.resolve() == src.resolve():
        return True
    return not old.exists() and old.name == src.name  # the input was moved since: same file name


def check_same_source(out: str | Path, src: str | Path) -> None:
    """Refuse to extract `src` into `out` when `out` holds faces of another input (or of unknown origin)."""
    out, src = Path(out), Path(src)
    if not out.is_dir():
        return
    recorded = recorded_input(out)
    if recorded is not None and _same_input(recorded, src):
        return
    if recorded is None and not list_images(out):
        return  # an empty (or new) folder
    held = f"the faces of {Path(recorded).name}" if recorded is not None else "faces from elsewhere"
    raise DoppelError(
        f"holds {held}, not of {src.name}", out,
        hint=f"Extract into another folder, or pass --new to move the old faces and index into {trash_dir(out)} "
             f"('doppel trash restore' brings them back)",
    )


def start_afresh(out: str | Path, src: str | Path) -> int:
    """Move everything in `out` into its trash before extracting `src` there. Returns how many files moved."""
    out = Path(out)
    if not out.is_dir():
        return 0
    return len(trash_everything(out, f"extract --new: replaced by the faces of {Path(src).name}"))
