"""Helpers shared by the curate tests (imported by name: tests folders are not packages)."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

from doppel.core.images import TRASH_DIR

# Five of the eight faceapi_bbt people keep the identity tests quick (the embedding costs ~0.2 s a face).
BBT_PEOPLE = ("amy", "howard", "leonard", "penny", "raj")


def copy_faceset(src: Path, dest: Path) -> Path:
    shutil.copytree(src, dest, ignore=shutil.ignore_patterns(TRASH_DIR))
    return dest


def fingerprint(folder: Path, recursive: bool = False) -> dict[str, str]:
    """relative name -> sha256 of every file outside the trash."""
    pattern = "**/*" if recursive else "*"
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.glob(pattern))
        if p.is_file() and TRASH_DIR not in p.relative_to(folder).parts
    }


def count_all(folder: Path) -> int:
    """Files in the set and in its trash (journal excluded)."""
    return sum(1 for p in folder.rglob("*") if p.is_file() and p.name != "journal.json" and not p.name.startswith("."))


def person_of(path: Path) -> str:
    """The person a bbt face shows, from its file name (`amy3_0.jpg` -> `amy`)."""
    return Path(path).stem.split("_")[0].rstrip("0123456789")
