"""Keep a destination's `alignments.json` in step with renames, trashing and restores.

Merge walks that index frame by frame, so a face that is renamed must be renamed there too, and a
face the user trashes (a false detection) must leave its frame: that frame is then not swapped,
as in DeepFaceLab. Folders without an index are left alone.
"""

from __future__ import annotations

from pathlib import Path

from doppel.core.alignments import Alignments

INDEX_NAME = "alignments.json"


def _load(folder: Path) -> Alignments | None:
    path = folder / INDEX_NAME
    if not path.is_file():
        return None
    index = Alignments.load(path)
    faces_root = (path.parent / (index.faces_dir or ".")).resolve()
    return index if faces_root == folder.resolve() else None


def rename_in_index(folder: Path, mapping: dict[str, str]) -> None:
    """Apply old -> new relative names (POSIX style) to the index, once."""
    index = _load(folder)
    if index is None or not mapping:
        return
    changed = False
    for frame in index.frames:
        new = [mapping.get(name, name) for name in frame.faces]
        if new != frame.faces:
            frame.faces, changed = new, True
    if changed:
        index.save(folder / INDEX_NAME)


def drop_from_index(folder: Path, names: list[str]) -> dict[str, int]:
    """Remove faces from their frames; returns name -> frame index for those that were listed."""
    index = _load(folder)
    if index is None or not names:
        return {}
    wanted = set(names)
    dropped: dict[str, int] = {}
    for frame in index.frames:
        for name in frame.faces:
            if name in wanted:
                dropped[name] = frame.index
        frame.faces = [n for n in frame.faces if n not in wanted]
    if dropped:
        index.save(folder / INDEX_NAME)
    return dropped


def add_to_index(folder: Path, entries: dict[str, int]) -> None:
    """Put restored faces back into their frames (name -> frame index)."""
    index = _load(folder)
    if index is None or not entries:
        return
    frames = index.by_index()
    changed = False
    for name, frame_index in entries.items():
        frame = frames.get(frame_index)
        if frame is not None and name not in frame.faces:
            frame.faces.append(name)
            frame.faces.sort()
            changed = True
    if changed:
        index.save(folder / INDEX_NAME)
