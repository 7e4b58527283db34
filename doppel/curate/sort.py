"""`sort_faceset`: run a sort method, trash its rejects, and rename the rest with a rank prefix.

Names become `00000_<original name>`; the original name is kept in each face's metadata, so
`recover_names` can always bring it back, however many sorts ran in between.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from doppel.core.atomic import remove_leftovers
from doppel.core.metadata import write_metadata
from doppel.curate.faceset import scan_faceset
from doppel.curate.methods import get_method
from doppel.curate.rename import finish_pending_renames, rename_all
from doppel.core.trash import trash_with_reasons

@dataclass(frozen=True)
class SortResult:
    method: str
    kept: tuple[Path, ...]  # faces left in the folder, in sorted order (new names)
    trashed: tuple[str, ...]  # file names moved to _trash/
    skipped: tuple[tuple[Path, str], ...]  # files left untouched, and why
    scores: dict[str, float] = field(default_factory=dict)  # original file name -> score
    dry_run: bool = False


def safe_original(original: str | None) -> str | None:
    """The stored original name if it is a plain file name (metadata can come from anyone)."""
    if not original or original != Path(original).name or "\\" in original or original.startswith("."):
        return None
    return original


def base_name(name: str, original: str | None) -> str:
    """The name a face had before any sort (kept in its metadata by the first sort)."""
    return safe_original(original) or name


def sort_faceset(folder: str | Path, method: str, dry_run: bool = False, progress: bool = True, **options) -> SortResult:
    """Sort the faces of `folder` by `method` (see `sort_methods()`); options go to the method
    (e.g. `target=` for final). With dry_run nothing is moved or renamed (identity embeddings are still cached)."""
    folder = Path(folder)
    remove_leftovers(folder)  # metadata writes a killed sort left half done
    finish_pending_renames(folder)
    scan = scan_faceset(folder)
    sort = get_method(method)
    ranking = sort.fn(scan.faces, progress=progress, **options)
    skipped = tuple(scan.problems()) + tuple(ranking.failed)
    width = max(5, len(str(len(ranking.order))))
    new_names = [f"{i:0{width}d}_{base_name(f.name, f.meta.original_name)}" for i, f in enumerate(ranking.order)]
    if dry_run:
        return SortResult(method, tuple(folder / n for n in new_names), tuple(f.name for f, _ in ranking.rejects), skipped, ranking.scores, True)
    entries = trash_with_reasons(folder, [(f.path, f"sort {method}: {why}") for f, why in ranking.rejects])
    todo = [f for f in ranking.order if safe_original(f.meta.original_name) is None]
    if progress and len(todo) > 50:
        from rich.progress import track

        todo = track(todo, description="recording original names", transient=True)
    for face in todo:  # remember the name before the first rename, inside the file
        face.meta.original_name = face.name
        write_metadata(face.path, face.meta)
    rename_all(folder, {f.name: n for f, n in zip(ranking.order, new_names)})
    return SortResult(method, tuple(folder / n for n in new_names), tuple(e.trashed for e in entries), skipped, ranking.scores)


def recover_names(folder: str | Path) -> int:
    """Rename every face back to the original name stored in its metadata. Returns how many."""
    folder = Path(folder)
    finish_pending_renames(folder)
    scan = scan_faceset(folder)
    originals = {f.name: safe_original(f.meta.original_name) for f in scan.faces}
    moving = {name: orig for name, orig in originals.items() if orig and orig != name}
    staying = {p.name for p in folder.iterdir()} - set(moving)
    mapping, taken = {}, set(staying)
    for old, new in moving.items():
        stem, ext = os.path.splitext(new)
        candidate, n = new, 1
        while candidate in taken:
            candidate = f"{stem}~{n}{ext}"
            n += 1
        taken.add(candidate)
        mapping[old] = candidate
    rename_all(folder, mapping)
    return len(mapping)
