"""Faceset archives: one file to share a faceset, and nothing in it that can run code.

An uncompressed zip (JPEGs barely compress) of the face files, whose metadata is inside them, plus
`doppel_faceset.json`: format, version and the name, size and sha256 of every file. Unpacking
accepts only plain names listed in that manifest (no folders, no "..", no absolute paths), checks
sizes and checksums, never overwrites a file, and writes each file atomically.
"""

from __future__ import annotations

import hashlib
import json
import struct
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

from doppel import __version__
from doppel.core import schema
from doppel.core.atomic import atomic_path, write_bytes
from doppel.core.errors import DoppelError
from doppel.core.images import IMAGE_EXTENSIONS, list_images
from doppel.core.index_sync import INDEX_NAME
from doppel.core.schema import MAX_JSON_BYTES

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


_MAX_FILES = 1_000_000
_MAX_FILE_BYTES = 1 << 30
_ZIP_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, EOFError, NotImplementedError, ValueError, OSError,
               struct.error, UnicodeDecodeError)  # what zipfile raises on damaged archives


def read_manifest(archive: str | Path) -> dict:
    """The archive's manifest, every entry checked (plain name, size, sha256); the one place it is read."""
    archive = Path(archive)
    hint = "Make archives with 'doppel faceset pack'"
    if not archive.is_file():
        raise DoppelError("archive not found", archive)
    try:
        with zipfile.ZipFile(archive) as zf, zf.open(MANIFEST) as f:
            data = f.read(MAX_JSON_BYTES + 1)
    except KeyError:
        raise DoppelError(f"not a doppel faceset archive (no {MANIFEST})", archive, hint=hint) from None
    except _ZIP_ERRORS as e:
        raise DoppelError(f"not a doppel faceset archive ({_reason(e)})", archive, hint=hint) from None
    try:
        if len(data) > MAX_JSON_BYTES:
            raise schema.SchemaError(f"{MANIFEST}: larger than {MAX_JSON_BYTES >> 20} MiB")
        return _check_manifest(schema.parse_json(data, MANIFEST))
    except DoppelError as e:
        raise DoppelError(f"not a doppel faceset archive ({e.message})", archive, hint=e.hint or hint) from None


def _check_manifest(manifest) -> dict:
    f = schema.field
    manifest = schema.obj(manifest, MANIFEST)
    if manifest.get("format") != FORMAT:
        raise schema.SchemaError(f"format: expected '{FORMAT}'")
    if f(manifest, "version", schema.integer, 1, default=1) > VERSION:
        raise DoppelError("archive is from a newer doppel", hint="Upgrade doppel")
    files, seen = [], set()
    for i, entry in enumerate(f(manifest, "files", schema.items, max_len=_MAX_FILES)):
        where = f"files[{i}]."
        entry = schema.obj(entry, where[:-1])
        name = f(entry, "name", schema.text, 255, prefix=where)
        if not _safe_name(name):
            raise DoppelError(f"archive holds an unsafe file name {name!r}; nothing was extracted", hint="Do not use this archive")
        if name in seen:
            raise schema.SchemaError(f"{where}name: {name} is listed twice")
        seen.add(name)
        digest = f(entry, "sha256", schema.sha256, prefix=where)
        files.append({"name": name, "bytes": f(entry, "bytes", schema.integer, 0, _MAX_FILE_BYTES, prefix=where), "sha256": digest})
    return {**manifest, "files": files}


def _reason(e: Exception) -> str:
    return (str(e).splitlines() or [type(e).__name__])[0][:160] or type(e).__name__


def unpack_faceset(archive: str | Path, out_dir: str | Path) -> PackResult:
    """Extract an archive made by `pack_faceset` into `out_dir` (new files only)."""
    archive, out_dir = Path(archive), Path(out_dir)
    entries = read_manifest(archive)["files"]
    clashes = [e["name"] for e in entries if (out_dir / e["name"]).exists()]
    if clashes:
        raise DoppelError(f"{len(clashes)} files already exist there, e.g. {clashes[0]}; nothing was extracted", out_dir, hint="Unpack into an empty folder")
    with zipfile.ZipFile(archive) as zf:
        members = {i.filename for i in zf.infolist()}

        def read(e: dict) -> bytes:
            if e["name"] not in members:
                raise DoppelError(f"archive is missing {e['name']}; nothing was extracted", archive)
            try:
                with zf.open(e["name"]) as f:
                    data = f.read(e["bytes"] + 1)  # never read more than the manifest promised
            except _ZIP_ERRORS as error:
                raise DoppelError(f"{e['name']} is damaged in the archive ({_reason(error)}); nothing was extracted", archive,
                                  hint="Get the archive again") from None
            if len(data) != e["bytes"] or hashlib.sha256(data).hexdigest() != e["sha256"]:
                raise DoppelError(f"{e['name']} is damaged in the archive (size or checksum); nothing was extracted", archive, hint="Get the archive again")
            return data

        for e in entries:  # check everything before writing anything
            read(e)
        out_dir.mkdir(parents=True, exist_ok=True)
        total = 0
        for e in entries:
            data = read(e)
            write_bytes(out_dir / e["name"], data)
            total += len(data)
    return PackResult(out_dir, len(entries), total)
