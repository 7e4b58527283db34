"""Faceset browser: paged faces in any sort order, metadata and landmarks, masks, trash and restore."""

from __future__ import annotations

import mimetypes
import threading
from pathlib import Path

import cv2
import numpy as np

from doppel.core.errors import DoppelError, NoMetadataError
from doppel.core.images import TRASH_DIR, list_images
from doppel.core.metadata import read_metadata
from doppel.studio.http import HttpError, Request, Response
from doppel.studio.paths import inside, name_only, relative

_sort_cache: dict[tuple[str, str], tuple[float, list[str], dict[str, str], dict[str, float]]] = {}
_sort_lock = threading.Lock()


def faceset_dir(studio, req: Request | None = None, rel: str | None = None) -> Path:
    folder = inside(studio.root, rel if rel is not None else req.arg("dir"))
    if not folder.is_dir():
        raise HttpError(404, "faceset folder not found")
    return folder


def face_path(studio, folder: Path, name: str) -> Path:
    path = inside(studio.root, relative(studio.root, folder / name_only(name)))
    if not path.is_file():
        raise HttpError(404, f"face not found: {name}")
    return path


def facesets(studio) -> list[dict]:
    """Folders of the workspace that hold images (aligned sets first), at most two levels deep."""
    ws = studio.workspace
    seen, out = set(), []
    candidates = [ws.src_aligned, ws.dst_aligned] + sorted(p for p in studio.root.glob("*/*") if p.is_dir())
    candidates += sorted(p for p in studio.root.glob("*") if p.is_dir())
    for folder in candidates:
        if not folder.is_dir() or folder.name.startswith((".", TRASH_DIR)) or folder in seen:
            continue
        seen.add(folder)
        images = list_images(folder)
        if images and _is_face(images[0]):  # previews and frame folders are not facesets
            out.append({"dir": relative(studio.root, folder), "faces": len(images)})
    return out


def _is_face(path: Path) -> bool:
    try:
        read_metadata(path)
        return True
    except DoppelError:  # NoMetadataError included
        return False


def info(studio, req: Request) -> dict:
    from doppel.curate import sort_methods

    return {
        "workspace": studio.root.name,
        "facesets": facesets(studio),
        "sort_methods": [{"name": "name", "help": "File name (as on disk)"}]
        + [{"name": n, "help": h} for n, h in sort_methods()],
        "token_required": bool(studio.token),
    }


def _method_options(method: str, count: int, target=None) -> dict:
    # `final` keeps the best N; browsing (or no N given) ranks the whole set and trashes nothing.
    return {"target": int(target or count)} if method == "final" else {}


def _ordered(folder: Path, method: str) -> tuple[list[str], dict[str, str], dict[str, float]]:
    """File names in `method` order (best first, rejects last) without moving anything; cached
    until the folder changes."""
    if method == "name":
        return [p.name for p in list_images(folder)], {}, {}
    key = (str(folder), method)
    stamp = folder.stat().st_mtime
    with _sort_lock:
        hit = _sort_cache.get(key)
        if hit and hit[0] == stamp:
            return hit[1], hit[2], hit[3]
        from doppel.curate.faceset import scan_faceset
        from doppel.curate.methods import get_method

        scan = scan_faceset(folder)
        ranking = get_method(method).fn(scan.faces, progress=False, **_method_options(method, len(scan.faces)))
        order = [f.name for f in ranking.order] + [f.name for f, _ in ranking.rejects]
        rejects = {f.name: why for f, why in ranking.rejects}
        _sort_cache[key] = (stamp, order, rejects, dict(ranking.scores))
        return order, rejects, dict(ranking.scores)


def faces(studio, req: Request) -> dict:
    folder = faceset_dir(studio, req)
    method = req.arg("sort", "name")
    page, per_page = int(req.arg("page", "0")), max(1, min(500, int(req.arg("per_page", "48"))))
    order, rejects, scores = _ordered(folder, method)
    chunk = order[page * per_page : (page + 1) * per_page]
    items = []
    for name in chunk:
        item = {"name": name, "reject": rejects.get(name), "score": scores.get(name)}
        try:
            meta = read_metadata(folder / name)
            item.update(labels=bool(meta.xseg_polygons), mask=bool(meta.xseg_mask))
        except (NoMetadataError, DoppelError):
            item.update(labels=False, mask=False, no_meta=True)
        items.append(item)
    return {"dir": relative(studio.root, folder), "sort": method, "page": page, "per_page": per_page, "total": len(order), "items": items}


def face_image(studio, req: Request) -> Response:
    path = face_path(studio, faceset_dir(studio, req), req.arg("name"))
    ctype = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return Response(path.read_bytes(), ctype, headers={"Cache-Control": "no-cache"})


def face_meta(studio, req: Request) -> dict:
    path = face_path(studio, faceset_dir(studio, req), req.arg("name"))
    d = read_metadata(path).to_dict()
    d["mesh"] = d["mesh"] is not None  # 478 points are heavy and not shown
    d["embedding"] = d["embedding"] is not None
    d["xseg_mask"] = d["xseg_mask"] is not None
    return d


def face_mask(studio, req: Request) -> Response:
    """The mask a face has as a grey PNG: `source` auto (the one mask rule training and merge use),
    labels, xseg or hull (the landmark hull for the face's type)."""
    from doppel.core.face_mask import decode_mask, face_mask as rule_mask, label_mask, landmark_mask

    path = face_path(studio, faceset_dir(studio, req), req.arg("name"))
    meta = read_metadata(path)
    source, size = req.arg("source", "auto"), meta.size
    if source == "labels":
        mask = label_mask(meta, size)
    elif source == "xseg":
        mask = decode_mask(meta.xseg_mask, size) if meta.xseg_mask else None
    elif source == "hull":
        mask = landmark_mask(meta.landmarks, size, meta.face_type)
    elif source == "auto":
        mask = rule_mask(meta, size)
    else:
        raise HttpError(400, "source must be auto, labels, xseg or hull")
    if mask is None:
        mask = np.zeros((size, size), np.float32)
    ok, buf = cv2.imencode(".png", np.clip(mask * 255, 0, 255).astype(np.uint8))
    return Response(buf.tobytes(), "image/png", headers={"Cache-Control": "no-cache"})


def trash(studio, req: Request) -> dict:
    from doppel.curate import trash_files

    body = req.json()
    folder = faceset_dir(studio, rel=body.get("dir", ""))
    names = [name_only(n) for n in body.get("names", [])]
    with studio.lock:
        entries = trash_files(folder, names, body.get("reason") or "studio: moved to trash")
    return {"trashed": [e.trashed for e in entries]}


def restore(studio, req: Request) -> dict:
    from doppel.curate import restore as restore_files

    body = req.json()
    folder = faceset_dir(studio, rel=body.get("dir", ""))
    names = body.get("names")
    with studio.lock:
        result = restore_files(folder, None if names is None else [str(n) for n in names])
    return {"restored": [r[1] for r in result.restored], "missing": list(result.missing)}


def trashed(studio, req: Request) -> dict:
    from doppel.core.trash import read_journal

    folder = faceset_dir(studio, req)
    return {"entries": [{"trashed": e.trashed, "original": e.original, "reason": e.reason, "time": e.time} for e in read_journal(folder)]}


def apply_sort(studio, req: Request) -> dict:
    """Run `doppel sort` on the folder for real: rename by rank, rejects to the trash."""
    from doppel.curate import sort_faceset

    body = req.json()
    folder = faceset_dir(studio, rel=body.get("dir", ""))
    method = str(body.get("method", ""))
    with studio.lock:
        count = len(list_images(folder))
        result = sort_faceset(folder, method, progress=False, **_method_options(method, count, body.get("target")))
    return {"kept": len(result.kept), "trashed": list(result.trashed)}


ROUTES = {
    ("GET", "/api/info"): info,
    ("GET", "/api/faces"): faces,
    ("GET", "/api/face/image"): face_image,
    ("GET", "/api/face/meta"): face_meta,
    ("GET", "/api/face/mask"): face_mask,
    ("GET", "/api/faces/trashed"): trashed,
    ("POST", "/api/faces/trash"): trash,
    ("POST", "/api/faces/restore"): restore,
    ("POST", "/api/faces/sort"): apply_sort,
}
