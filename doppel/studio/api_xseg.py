"""XSeg in the studio: save a face's polygons, train the segmenter (in a thread of the studio),
watch it, stop it, and apply its masks. The model lives in WORKSPACE/xseg/."""

from __future__ import annotations

import time

from doppel.core.metadata import read_metadata, write_metadata
from doppel.masks import xseg, xseg_io
from doppel.masks.xseg_train import STATUS_FILE, STOP_FILE
from doppel.studio.api_faces import face_path, faceset_dir
from doppel.studio.http import HttpError, Request
from doppel.studio.jobs import read_status

JOB = "xseg-train"


def model_dir(studio):
    return studio.root / "xseg"


def save_polygons(studio, req: Request) -> dict:
    body = req.json()
    folder = faceset_dir(studio, rel=body.get("dir", ""))
    path = face_path(studio, folder, str(body.get("name", "")))
    polys = xseg.validate_polygons(body.get("polygons", []))
    with studio.lock:
        meta = read_metadata(path)
        meta.xseg_polygons = polys or None
        write_metadata(path, meta)
    return {"polygons": len(polys)}


def train(studio, req: Request) -> dict:
    body = req.json()
    dirs = [faceset_dir(studio, rel=d) for d in body.get("dirs") or [f["dir"] for f in _aligned(studio)]]
    fields = {k: body[k] for k in ("iterations", "batch_size", "lr", "save_every") if body.get(k) is not None}
    options = xseg.XSegTrainOptions(device=body.get("device"), **fields)
    config_fields = {k: int(body[k]) for k in ("resolution", "channels", "depth") if body.get(k) is not None}
    config = xseg.XSegConfig(**config_fields)
    out = model_dir(studio)

    def run() -> dict:
        r = xseg.train_xseg(dirs, out, options, config, progress=False)
        return {"iteration": r.iteration, "loss": r.loss, "labelled_faces": r.labelled_faces, "stopped": r.stopped}

    studio.jobs.start_thread(JOB, run)
    return {"started": True}


def _aligned(studio) -> list[dict]:
    ws = studio.workspace
    return [{"dir": p.relative_to(studio.root).as_posix()} for p in (ws.src_aligned, ws.dst_aligned) if p.is_dir()]


def status(studio, req: Request) -> dict:
    job = studio.jobs.get(JOB)
    path = model_dir(studio) / STATUS_FILE
    progress = read_status(path)
    return {"job": job.describe() if job else None, "progress": progress, "model": xseg_io.exists(model_dir(studio))}


def stop_training(studio, wait: float = 0.0) -> bool:
    job = studio.jobs.get(JOB)
    if job is None or not job.running:
        return False
    (model_dir(studio) / STOP_FILE).touch()
    deadline = time.monotonic() + wait
    while job.running and time.monotonic() < deadline:
        time.sleep(0.2)
    return True


def stop(studio, req: Request) -> dict:
    return {"stopping": stop_training(studio)}


def apply(studio, req: Request) -> dict:
    body = req.json()
    folder = faceset_dir(studio, rel=body.get("dir", ""))
    if not xseg_io.exists(model_dir(studio)):
        raise HttpError(409, "no XSeg model yet: train one first")
    with studio.lock:
        r = xseg.apply_xseg(model_dir(studio), folder, device=body.get("device"), progress=False)
    return {"applied": r.applied, "skipped": r.skipped}


def remove(studio, req: Request) -> dict:
    body = req.json()
    folder = faceset_dir(studio, rel=body.get("dir", ""))
    with studio.lock:
        n = xseg.remove_xseg(folder, labels=bool(body.get("labels")))
    return {"changed": n}


ROUTES = {
    ("POST", "/api/xseg/polygons"): save_polygons,
    ("POST", "/api/xseg/train"): train,
    ("GET", "/api/xseg/status"): status,
    ("POST", "/api/xseg/stop"): stop,
    ("POST", "/api/xseg/apply"): apply,
    ("POST", "/api/xseg/remove"): remove,
}
