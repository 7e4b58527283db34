"""Manual fix: for destination frames where extraction found no face, draw a box (the mesh then
places the landmarks, or a mean face fills the box), drag landmarks to correct, and save: the
face is aligned and written like `doppel extract` would, and the alignments index gains it."""

from __future__ import annotations

import threading

import cv2
import numpy as np

from doppel.core import schema
from doppel.core.alignments import Alignments, FrameEntry
from doppel.core.facetype import FaceType
from doppel.core.images import write_face
from doppel.core.metadata import FaceMeta, SourceInfo
from doppel.faces.same_source import OPTIONS_NAME, read_extract_options
from doppel.studio.api_merge import _dst_source
from doppel.studio.http import HttpError, Request, Response

_analyzer_lock = threading.Lock()


def _frame(studio, index: int):
    from doppel.media.reader import read_frames

    source, _ = _dst_source(studio)
    frame = next(iter(read_frames(source, start=index)), None)
    if frame is None or frame.index != index:
        raise HttpError(404, f"frame {index} not found")
    return source, frame


def frames(studio, req: Request) -> dict:
    _, index = _dst_source(studio)
    return {"without_face": [f.index for f in index.frames if not f.faces], "total": len(index.frames)}


def frame_image(studio, req: Request) -> Response:
    _, frame = _frame(studio, int(req.arg("index")))
    ok, buf = cv2.imencode(".jpg", frame.image, [cv2.IMWRITE_JPEG_QUALITY, 92])
    return Response(buf.tobytes(), "image/jpeg", headers={"Cache-Control": "no-cache"})


def _box(body: dict, w: int, h: int) -> tuple[float, float, float, float]:
    try:
        x0, y0, x1, y1 = (float(v) for v in body["box"])
    except (KeyError, TypeError, ValueError) as e:
        raise HttpError(400, "box must be [x0, y0, x1, y1]") from e
    x0, x1 = sorted((x0, x1))
    y0, y1 = sorted((y0, y1))
    if x1 - x0 < 8 or y1 - y0 < 8:
        raise HttpError(400, "box is too small")
    return x0, y0, x1, y1


def detect(studio, req: Request) -> dict:
    """Landmarks for a box the user drew: the face mesh inside it, else a mean face fitted to it."""
    from doppel.faces.align import mean_face_2d
    from doppel.faces.detection import Detection
    from doppel.faces.landmarks import FaceAnalyzer

    body = req.json()
    _, frame = _frame(studio, int(body.get("index", -1)))
    h, w = frame.image.shape[:2]
    box = _box(body, w, h)
    with _analyzer_lock:
        if "fix_analyzer" not in studio.cache:
            studio.cache["fix_analyzer"] = FaceAnalyzer(rotation_retry=False)
        # The mesh around the user's box, exactly as extraction runs it around a detector's box.
        faces = studio.cache["fix_analyzer"].faces_from(frame.image, [Detection(box, 1.0)], 0.0)
    if faces:
        return {"landmarks": faces[0].landmarks68.tolist(), "from": "mesh"}
    x0, y0, x1, y1 = box
    pts = mean_face_2d() * [x1 - x0, y1 - y0] + [x0, y0]
    return {"landmarks": pts.tolist(), "from": "mean face"}


def save(studio, req: Request) -> dict:
    """Align the frame with the given 68 landmarks, write the face and record it in alignments.json."""
    from doppel.faces.align import align_face, invert, transform_points

    body = req.json()
    index = int(body.get("index", -1))
    lm = np.asarray(body.get("landmarks", []), np.float64)
    if lm.shape != (68, 2) or not np.isfinite(lm).all():
        raise HttpError(400, "landmarks must be 68 [x, y] pairs")
    source, frame = _frame(studio, index)
    ws = studio.workspace
    options = _extract_options(ws.dst_aligned)
    face_type, size = FaceType.parse(options.get("face_type", "whole-face")), int(options.get("size", 512))
    h, w = frame.image.shape[:2]
    image, m = align_face(frame.image, lm, face_type, size)
    x0, y0 = lm.min(0)
    x1, y1 = lm.max(0)
    meta = FaceMeta(
        face_type=face_type,
        size=size,
        source=SourceInfo(frame.name or source.name, frame.index, frame.timestamp, w, h),
        source_rect=[float(x0), float(y0), float(x1), float(y1)],
        landmarks=transform_points(lm, m).astype(np.float32),
        source_landmarks=lm.astype(np.float32),
        face_to_source=invert(m),
        detector="manual",
        score=1.0,
    )
    with studio.lock:
        index_file = Alignments.load(ws.dst_alignments)
        entry = index_file.by_index().get(index)
        if entry is None:
            entry = FrameEntry(index, frame.timestamp, [])
            index_file.frames.append(entry)
            index_file.frames.sort(key=lambda f: f.index)
        name = f"{index:06d}_{len(entry.faces)}.jpg"
        write_face(ws.dst_aligned / name, image, meta, int(options.get("jpeg_quality", 95)))
        entry.faces.append(name)
        index_file.save(ws.dst_alignments)
    return {"saved": name, "dir": ws.dst_aligned.relative_to(studio.root).as_posix()}


def _extract_options(folder) -> dict:
    """Face type and size the faceset was extracted with (extract.json), so a fixed face matches:
    none when the faces came from elsewhere, a one-line error naming the file when it is damaged."""
    path = folder / OPTIONS_NAME
    if not path.is_file():
        return {}
    options = read_extract_options(path)
    try:
        for key, lo, hi in (("size", 32, 4096), ("jpeg_quality", 1, 100)):
            schema.field(options, key, schema.integer, lo, hi, default=None, prefix="options.")
    except schema.SchemaError as e:
        raise schema.damaged(OPTIONS_NAME, e, path) from None
    return options


ROUTES = {
    ("GET", "/api/fix/frames"): frames,
    ("GET", "/api/fix/frame"): frame_image,
    ("POST", "/api/fix/detect"): detect,
    ("POST", "/api/fix/save"): save,
}
