"""Faceset archives: one file to share a faceset, and nothing in it that can run code.

An uncompressed zip (JPEGs barely compress) of the face files, whose metadata is inside them, plus
`doppel_faceset.json`: format, version and the name, size and sha256 of every file. Unpacking
accepts only plain names listed in that manifest (no folders, no "..", no absolute paths), checks
sizes and checksums, never overwrites a file, and writes each file atomically.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from dataclasses import dataclass
from pathlib import Path

from doppel import __version__
from doppel.core.atomic import atomic_path, write_bytes
from doppel.core.errors import DoppelError
from doppel.core.images import IMAGE_EXTENSIONS, list_images
from doppel.core.index_sync import INDEX_NAME

MANIFEST = "doppel_faceset.json"
FORMAT = "doppel-faceset"
VERSION = 1


@dataclass(frozen=True)
class PackResult:
    path: Path
    files: int
    bytes: int


def pack_faceset(folder: str | Path, out: str | Path) -> PackResult:
    folder, out = Path(folder), Path(out)
    files = list_images(folder)
    if (folder / INDEX_NAME).is_file():
        files.append(folder / INDEX_NAME)
    if not files:
        raise DoppelError("no faces to pack", folder)
    entries, total = [], 0
    with atomic_path(out) as tmp, zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_STORED) as zf:
        for path in files:
            data = path.read_bytes()
            zf.writestr(path.name, data)
            entries.append({"name": path.name, "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()})
            total += len(data)
        manifest = {"format": FORMAT, "version": VERSION, "doppel": __version__, "files": entries}
        zf.writestr(MANIFEST, json.dumps(manifest, indent=1))
    return PackResult(out, len(entries), total)


def _safe_name(name: str) -> bool:
    return (
        bool(name)
        and "/" not in name
        and "\\" not in name
        and ":" not in name
        and name not in (".", "..")
        and not name.startswith(".")
        and (Path(name).suffix.lower() in IMAGE_EXTENSIONS or name == INDEX_NAME)
    )


def read_manifest(archive: str | Path) -> dict:
    archive = Path(archive)
    try:
        with zipfile.ZipFile(archive) as zf:
            manifest = json.loads(zf.read(MANIFEST))
    except FileNotFoundError as e:
        raise DoppelError("archive not found", archive) from e
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as e:
        raise DoppelError(f"not a doppel faceset archive ({e})", archive, hint="Make archives with 'doppel faceset pack'") from e
    if manifest.get("format") != FORMAT or not isinstance(manifest.get("files"), list):
        raise DoppelError("not a doppel faceset archive (bad manifest)", archive)
    if manifest.get("version", 1) > VERSION:
        raise DoppelError("archive is from a newer doppel", archive, hint="Upgrade doppel")
    return manifest


def unpack_faceset(archive: str | Path, out_dir: str | Path) -> PackResult:
    """Extract an archive made by `pack_faceset` into `out_dir` (new files only)."""
    archive, out_dir = Path(archive), Path(out_dir)
    manifest = read_manifest(archive)
    entries = manifest["files"]
    for e in entries:
        name = e.get("name", "") if isinstance(e, dict) else ""
        if not _safe_name(name):
            raise DoppelError(f"archive holds an unsafe file name {name!r}; nothing was extracted", archive, hint="Do not use this archive")
    clashes = [e["name"] for e in entries if (out_dir / e["name"]).exists()]
    if clashes:
        raise DoppelError(f"{len(clashes)} files already exist there, e.g. {clashes[0]}; nothing was extracted", out_dir, hint="Unpack into an empty folder")
    out_dir.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(archive) as zf:
        members = {i.filename for i in zf.infolist()}

        def read(e: dict) -> bytes:
            if e["name"] not in members:
                raise DoppelError(f"archive is missing {e['name']}; nothing was extracted", archive)
            with zf.open(e["name"]) as f:
                data = f.read(int(e["bytes"]) + 1)  # never read more than the manifest promised
            if len(data) != e["bytes"] or hashlib.sha256(data).hexdigest() != e["sha256"]:
                raise DoppelError(f"{e['name']} is damaged in the archive (size or checksum); nothing was extracted", archive, hint="Get the archive again")
            return data

        for e in entries:  # check everything before writing anything
            read(e)
        total = 0
        for e in entries:
            data = read(e)
            write_bytes(out_dir / e["name"], data)
            total += len(data)
    return PackResult(out_dir, len(entries), total)
