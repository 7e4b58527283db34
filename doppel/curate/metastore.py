"""Keep face metadata safe while the images are edited in an outside program.

Image editors drop unknown JPEG segments, so `save_meta` copies every face's metadata into
`DIR/doppel_meta.json` first, and `restore_meta` puts it back into the edited files afterwards
(matched by file stem, so a JPEG saved back as PNG still matches). A face scaled to another square
size gets its landmarks and matrices scaled with it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from doppel.core import schema
from doppel.core.atomic import write_bytes, write_json
from doppel.core.errors import DoppelError
from doppel.core.metadata import FaceMeta, embed_metadata
from doppel.core.schema import read_json
from doppel.curate.faceset import scan_faceset

STORE_NAME = "doppel_meta.json"
STORE_SCHEMA = 1


@dataclass(frozen=True)
class MetaRestoreResult:
    restored: tuple[str, ...]
    rescaled: tuple[str, ...]  # restored and scaled to the edited image's size
    not_in_store: tuple[str, ...]  # images without metadata that the store does not know
    problems: tuple[tuple[str, str], ...]


def save_meta(folder: str | Path) -> tuple[Path, int]:
    folder = Path(folder)
    scan = scan_faceset(folder)
    if not scan.faces:
        raise DoppelError("no faces with metadata to save", folder)
    store = {"schema": STORE_SCHEMA, "faces": {f.name: f.meta.to_dict() for f in scan.faces}}
    path = folder / STORE_NAME
    write_json(path, store)
    return path, len(scan.faces)


def _load_store(folder: Path) -> dict[str, dict]:
    path = folder / STORE_NAME
    if not path.is_file():
        raise DoppelError("no saved metadata here", path, hint="Run 'doppel faceset meta save' before editing")
    data = read_json(path, "saved metadata")
    try:
        data = schema.obj(data, STORE_NAME)
        if schema.field(data, "schema", schema.integer, default=1) > STORE_SCHEMA:
            raise DoppelError("saved metadata is from a newer doppel", hint="Upgrade doppel")
        return schema.field(data, "faces", schema.obj)  # each record is checked when it is used
    except DoppelError as e:
        raise schema.damaged("saved metadata", e, path) from None


def rescale(meta: FaceMeta, new_size: int) -> FaceMeta:
    """The same face, as if aligned at `new_size` pixels."""
    s = new_size / float(meta.size)
    meta.landmarks = np.asarray(meta.landmarks, np.float32) * s
    meta.face_to_source = np.asarray(meta.face_to_source, np.float64) @ np.diag([1.0 / s, 1.0 / s, 1.0])
    if meta.xseg_polygons:
        meta.xseg_polygons = [{**p, "points": (np.asarray(p["points"], np.float64) * s).tolist()} for p in meta.xseg_polygons]
    meta.xseg_mask = None
    meta.size = new_size
    return meta


def restore_meta(folder: str | Path, overwrite: bool = False) -> MetaRestoreResult:
    """Embed the saved metadata into images that lost it (or into all matches with `overwrite`)."""
    folder = Path(folder)
    store = _load_store(folder)
    by_stem = {Path(name).stem: record for name, record in store.items()}
    scan = scan_faceset(folder)
    targets = scan.no_meta + (scan.faces if overwrite else [])
    restored, rescaled, unknown, problems = [], [], [], []
    for face in targets:
        record = store.get(face.name) or by_stem.get(face.path.stem)
        if record is None:
            unknown.append(face.name)
            continue
        try:
            meta = FaceMeta.from_dict(record)
        except DoppelError as e:
            problems.append((face.name, f"its saved metadata is damaged ({e.message})"))
            continue
        data = face.path.read_bytes()
        image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
        if image is None:
            problems.append((face.name, "not a readable image"))
            continue
        h, w = image.shape[:2]
        if h != w:
            problems.append((face.name, f"image is {w}x{h}: only square faces can take their metadata back"))
            continue
        if w != meta.size:
            meta = rescale(meta, w)
            rescaled.append(face.name)
        meta.embedding = None  # the pixels were edited: the identity embedding is recomputed on demand
        meta.extra.pop("embedding_model", None)
        try:
            write_bytes(face.path, embed_metadata(data, meta))
        except DoppelError:
            problems.append((face.name, "metadata fits only in JPEG or PNG: save the image as one of those"))
            continue
        restored.append(face.name)
    problems += [(p.name, why) for p, why in scan.unreadable]
    return MetaRestoreResult(tuple(restored), tuple(rescaled), tuple(unknown), tuple(problems))
