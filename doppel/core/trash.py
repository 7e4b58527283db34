"""The trash: what a command clears away (rejected faces, an earlier extraction or model that `--new`
replaces) moves to `DIR/_trash/`, never gets deleted, and comes back exactly (`doppel trash restore`).

`_trash/journal.json` records, for every trashed file, its path relative to DIR, its name inside
the trash, when, and why. The journal entry is written before the move (intent first), so a crash
leaves at worst an entry whose file never moved, which restore skips. Moves are renames on the
same file system, so bytes never change.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterable

from doppel.core import schema
from doppel.core.atomic import write_json
from doppel.core.errors import DoppelError
from doppel.core.images import TRASH_DIR
from doppel.core.index_sync import INDEX_NAME, add_to_index, drop_from_index

JOURNAL_NAME = "journal.json"
JOURNAL_SCHEMA = 1


@dataclass(frozen=True)
class TrashEntry:
    original: str  # path relative to the faceset folder, POSIX separators
    trashed: str  # file name inside _trash/
    time: str  # ISO 8601, UTC
    reason: str
    frame: int | None = None  # alignments frame the face was dropped from, if any


@dataclass(frozen=True)
class RestoreResult:
    restored: tuple[tuple[str, str], ...]  # (name in trash, path relative to the folder)
    missing: tuple[str, ...]  # journal entries whose file was no longer in the trash


def trash_dir(folder: str | Path) -> Path:
    return Path(folder) / TRASH_DIR


def _journal_path(folder: Path) -> Path:
    return trash_dir(folder) / JOURNAL_NAME


def read_journal(folder: str | Path) -> list[TrashEntry]:
    path = _journal_path(Path(folder))
    if not path.is_file():
        return []
    hint = "Move the files out of _trash by hand"
    data = schema.read_object(path, "trash journal", hint)
    f = schema.field
    try:
        entries = []
        for i, e in enumerate(f(data, "entries", schema.items, default=[])):
            e, where = schema.obj(e, f"entries[{i}]"), f"entries[{i}]."
            entries.append(TrashEntry(f(e, "original", schema.text, 4096, prefix=where), f(e, "trashed", schema.text, 255, prefix=where),
                                      f(e, "time", schema.text, 64, prefix=where), f(e, "reason", schema.text, prefix=where),
                                      f(e, "frame", schema.integer, 0, default=None, prefix=where)))
        return entries
    except schema.SchemaError as e:
        raise schema.damaged("trash journal", e, path, hint) from None


def _write_journal(folder: Path, entries: list[TrashEntry]) -> None:
    write_json(_journal_path(folder), {"schema": JOURNAL_SCHEMA, "entries": [e.__dict__ for e in entries]})


def _free_name(directory: Path, name: str, taken: set[str]) -> str:
    """`name`, or `stem~N.ext` when that is already used in `directory` or reserved."""
    stem, ext = os.path.splitext(name)
    candidate, n = name, 1
    while candidate in taken or (directory / candidate).exists():
        candidate = f"{stem}~{n}{ext}"
        n += 1
    return candidate


def _rel(folder: Path, path: Path) -> str:
    """`path` relative to `folder`. A relative path may be a name inside the folder ("a.jpg") or a
    path that already starts with the folder ("faces/a.jpg" for the folder "faces", as `folder / name`
    gives): the one that exists inside the folder wins, so a relative folder is never joined twice."""
    path = Path(path)
    candidates = [path] if path.is_absolute() else [folder / path, path]
    root = folder.resolve()
    inside = []
    for candidate in candidates:
        try:
            inside.append((candidate, candidate.resolve().relative_to(root).as_posix()))
        except ValueError:
            continue
    if not inside:
        raise DoppelError("file is outside the faceset folder", path, hint=f"Only files under {folder} can be trashed")
    return next((rel for candidate, rel in inside if candidate.is_file()), inside[0][1])


def trash_files(folder: str | Path, files: Iterable[str | Path], reason: str) -> list[TrashEntry]:
    """Move files (paths, or names relative to `folder`) into `folder/_trash/` with a journal entry.

    Files that do not exist are ignored. Returns the new journal entries.
    """
    return trash_with_reasons(folder, [(f, reason) for f in files])


def trash_with_reasons(folder: str | Path, items: Iterable[tuple[str | Path, str]]) -> list[TrashEntry]:
    """Like `trash_files`, with a reason per file."""
    folder = Path(folder)
    wanted: dict[str, str] = {}
    for f, why in items:
        rel = _rel(folder, Path(f))
        if (folder / rel).is_file() and rel not in wanted and not rel.startswith(TRASH_DIR + "/"):
            wanted[rel] = why
    if not wanted:
        return []
    tdir = trash_dir(folder)
    tdir.mkdir(exist_ok=True)
    journal = read_journal(folder)
    taken = {e.trashed for e in journal} | {JOURNAL_NAME}
    now = datetime.now(timezone.utc).isoformat(timespec="seconds")
    frames = drop_from_index(folder, list(wanted))
    new_entries = []
    for rel, why in wanted.items():
        name = _free_name(tdir, Path(rel).name, taken)
        taken.add(name)
        new_entries.append(TrashEntry(rel, name, now, why, frames.get(rel)))
    _write_journal(folder, journal + new_entries)  # intent first
    for e in new_entries:
        os.rename(folder / e.original, tdir / e.trashed)
    return new_entries


def trash_everything(folder: str | Path, reason: str) -> list[TrashEntry]:
    """Move every file under `folder` (except the trash itself) into its trash, for a fresh start that
    `restore` can undo. The alignments index goes first, so it is trashed whole, not emptied face by face."""
    folder = Path(folder)
    files = sorted(p for p in folder.rglob("*") if p.is_file() and TRASH_DIR not in p.relative_to(folder).parts)
    first = [p for p in files if p.name == INDEX_NAME and p.parent == folder]
    entries = trash_files(folder, first, reason) + trash_files(folder, [p for p in files if p not in first], reason)
    for sub in sorted((p for p in folder.rglob("*") if p.is_dir() and TRASH_DIR not in p.relative_to(folder).parts),
                      key=lambda p: -len(p.parts)):
        if not any(sub.iterdir()):  # only folders the move left empty
            sub.rmdir()
    return entries


def restore(folder: str | Path, names: Iterable[str] | None = None) -> RestoreResult:
    """Move trashed files back where they were (all, or those whose trash name or original path
    is in `names`). A file now standing at the original path is never overwritten: the restored
    one gets a `~N` suffix instead."""
    folder = Path(folder)
    tdir = trash_dir(folder)
    journal = read_journal(folder)
    wanted = None if names is None else {str(n) for n in names}
    keep, restored, missing = [], [], []
    back_to_index: dict[str, int] = {}
    for e in journal:
        if wanted is not None and e.trashed not in wanted and e.original not in wanted and Path(e.original).name not in wanted:
            keep.append(e)
            continue
        dest_rel = Path(e.original)
        if dest_rel.is_absolute() or ".." in dest_rel.parts or Path(e.trashed).name != e.trashed or "\0" in e.original + e.trashed:
            keep.append(e)  # a hand-edited journal never moves files outside the folder
            continue
        src = tdir / e.trashed
        if not src.is_file():
            missing.append(e.trashed)
            continue
        dest_dir = folder / dest_rel.parent
        dest_dir.mkdir(parents=True, exist_ok=True)
        name = _free_name(dest_dir, dest_rel.name, set())
        final_rel = (dest_rel.parent / name).as_posix()
        os.rename(src, folder / final_rel)
        restored.append((e.trashed, final_rel))
        if e.frame is not None:
            back_to_index[final_rel] = e.frame
    add_to_index(folder, back_to_index)
    if journal:
        _write_journal(folder, keep)  # entries whose file was missing are dropped: nothing to restore
    return RestoreResult(tuple(restored), tuple(missing))


def trashed_untracked(folder: str | Path) -> list[Path]:
    """Files in the trash that the journal does not know (put there by hand or by an older tool)."""
    folder = Path(folder)
    tdir = trash_dir(folder)
    if not tdir.is_dir():
        return []
    known = {e.trashed for e in read_journal(folder)} | {JOURNAL_NAME}
    return sorted(p for p in tdir.iterdir() if p.is_file() and p.name not in known and not p.name.startswith("."))
