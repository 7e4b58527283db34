"""DeepFaceLab facesets: read the pickled metadata safely and convert it to doppel's JSON, and back.

DFL keeps a dict in the JPEG APP15 segment (old PNG facesets: an `fcWp` chunk): face_type,
landmarks (68 points, face coordinates), source_filename, source_rect, source_landmarks,
image_to_face_mat (2x3, frame -> face) and, when labelled, seg_ie_polys and xseg_mask (PNG or
JPEG bytes). The image data itself is kept byte for byte; only the metadata changes.
"""

from __future__ import annotations

import base64
import re
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from doppel.core import schema
from doppel.core.containers import (ContainerError, JpegSegment, check_image_size, is_jpeg, is_png, jpeg_segment,
                                    jpeg_segments, png_chunk, png_chunks)
from doppel.core.errors import DoppelError
from doppel.core.facetype import FaceType
from doppel.core.metadata import FaceMeta, Pose, SourceInfo, embed_metadata
from doppel.interop.safe_pickle import plain_dumps, safe_loads

_APP15 = 0xEF
_PNG_CHUNK = b"fcWp"

# DFL face type names -> doppel. The *_no_align variants are the same crop without rotation.
DFL_FACE_TYPES = {
    "half_face": FaceType.HALF,
    "midfull_face": FaceType.MID_FULL,
    "full_face": FaceType.FULL,
    "full_face_no_align": FaceType.FULL,
    "whole_face": FaceType.WHOLE_FACE,
    "head": FaceType.HEAD,
    "head_no_align": FaceType.HEAD,
}
DOPPEL_TO_DFL = {
    FaceType.HALF: "half_face",
    FaceType.MID_FULL: "midfull_face",
    FaceType.FULL: "full_face",
    FaceType.WHOLE_FACE: "whole_face",
    FaceType.HEAD: "head",
}


# ---- containers ---------------------------------------------------------------------------


def _is_dfl_segment(segment: JpegSegment) -> bool:
    return segment.marker == _APP15 and not segment.body.startswith(b"doppel")  # doppel's own APP15 segments start with "doppel"


def dfl_payload(data: bytes) -> bytes | None:
    """The raw pickled metadata of a DFL JPEG or PNG face, or None; ContainerError if the file is damaged."""
    if is_jpeg(data):
        return next((s.body for s in jpeg_segments(data) if _is_dfl_segment(s)), None)
    if is_png(data):
        return next((c.body for c in png_chunks(data) if c.kind == _PNG_CHUNK), None)
    return None


def strip_dfl(data: bytes) -> bytes:
    """Image bytes without DFL's pickled metadata (everything else kept)."""
    if is_jpeg(data):
        drop = [s for s in jpeg_segments(data) if _is_dfl_segment(s)]
    elif is_png(data):
        drop = [c for c in png_chunks(data) if c.kind == _PNG_CHUNK]
    else:
        return data
    out, pos = [], 0
    for part in drop:
        out.append(data[pos : part.start])
        pos = part.end
    out.append(data[pos:])
    return b"".join(out)


def embed_dfl(data: bytes, payload: bytes) -> bytes:
    """Put a pickled DFL dict into JPEG (APP15 after the other APPn segments) or PNG (fcWp, before IEND) bytes."""
    data = strip_dfl(data)
    if is_jpeg(data):
        insert = 2
        for segment in jpeg_segments(data):
            if 0xE0 <= segment.marker <= 0xEF:
                insert = segment.end
        return data[:insert] + jpeg_segment(_APP15, payload) + data[insert:]
    if is_png(data):
        iend = next(c.start for c in png_chunks(data) if c.kind == b"IEND")
        return data[:iend] + png_chunk(_PNG_CHUNK, payload) + data[iend:]
    raise DoppelError("only JPEG and PNG faces can carry DFL metadata")


def read_dfl_dict(path: str | Path) -> dict:
    """The DFL metadata dict of one face file, loaded with the restricted unpickler."""
    path = Path(path)
    try:
        payload = dfl_payload(path.read_bytes())
    except OSError as e:
        raise DoppelError(f"cannot read file ({e.strerror or e})", path) from e
    except ContainerError as e:
        raise DoppelError(f"damaged image ({e.message})", path) from None
    if payload is None:
        raise DoppelError("no DeepFaceLab metadata in this image", path, hint="Is it an aligned DFL face?")
    try:
        value = safe_loads(payload)
    except DoppelError as e:
        raise type(e)(e.message, path, hint="The file's metadata was refused; nothing from it was run") from e
    if not isinstance(value, dict):
        raise DoppelError(f"DFL metadata is a {type(value).__name__}, not a dict", path)
    return value


# ---- conversion ---------------------------------------------------------------------------


def _polygons(seg: Any, name: str) -> list[dict] | None:
    """DFL seg_ie_polys ({'polys': [{'type', 'pts'}]} or an old list of (type, pts)) -> doppel polygons."""
    if seg is None or (isinstance(seg, (dict, list, tuple)) and not seg):
        return None
    if isinstance(seg, dict):
        entries = schema.items(seg.get("polys", []), f"{name}.polys", max_len=10_000)
    else:
        entries = schema.items(seg, name, max_len=10_000)
    polys = []
    for i, item in enumerate(entries):
        where = f"{name}[{i}]"
        if isinstance(item, dict):
            kind, pts = schema.field(item, "type", schema.integer, prefix=where + "."), item.get("pts")
        elif isinstance(item, (list, tuple)) and len(item) == 2:
            kind, pts = schema.integer(item[0], where + ".type"), item[1]
        else:
            raise schema.SchemaError(f"{where}: expected a polygon (type and points)")
        if isinstance(pts, (list, tuple)) and not pts:
            continue
        points = schema.array(pts, where + ".pts", (None, 2), bound=_BOUND)
        if len(points):
            polys.append({"kind": "include" if kind == 1 else "exclude", "points": np.round(points, 2).tolist()})
    return polys or None


def _mask_png_b64(buf: Any, name: str) -> str | None:
    """DFL's xseg_mask (PNG or JPEG bytes, as an array or bytes) -> base64 PNG; None if it does not decode."""
    if isinstance(buf, np.ndarray) and buf.dtype.kind in "biu":
        raw = np.ascontiguousarray(buf, np.uint8).ravel()
    elif isinstance(buf, (bytes, bytearray)):
        raw = np.frombuffer(bytes(buf), np.uint8)
    else:
        raise schema.SchemaError(f"{name}: expected image bytes, got {type(buf).__name__}")
    try:
        mask = cv2.imdecode(raw, cv2.IMREAD_GRAYSCALE) if raw.size else None
    except cv2.error:
        mask = None
    if mask is None:
        return None
    ok, png = cv2.imencode(".png", mask)
    return base64.b64encode(png.tobytes()).decode("ascii") if ok else None


def pose_from_2d(landmarks68: np.ndarray, width: int, height: int) -> Pose:
    """Rough head pose from 2D landmarks (DFL stores no 3D points): PnP against doppel's mean face."""
    try:
        from doppel.faces.pose import POSE_POINTS, mean_face_3d, rotation_to_pose
    except ImportError:
        return Pose()
    obj = mean_face_3d()[POSE_POINTS].astype(np.float64)
    img = landmarks68[POSE_POINTS].astype(np.float64)
    f = float(max(width, height, 1))
    cam = np.array([[f, 0, width / 2], [0, f, height / 2], [0, 0, 1]], np.float64)
    try:
        ok, rvec, _ = cv2.solvePnP(obj, img, cam, None, flags=cv2.SOLVEPNP_ITERATIVE)
    except cv2.error:  # degenerate landmarks (all on a line): the pose stays unknown
        return Pose()
    return rotation_to_pose(cv2.Rodrigues(rvec)[0]) if ok and np.isfinite(rvec).all() else Pose()


_FRAME_NUMBER = re.compile(r"(\d{1,9})(?!.*\d)")
_BOUND = 1e6  # pixels: no frame is larger; bigger coordinates are damage


def dfl_to_meta(d: dict, image_size: int, path: Path) -> FaceMeta:
    """doppel metadata from a DFL dict, every field checked first (one line naming the file otherwise)."""
    try:
        return _dfl_to_meta(d, image_size, path)
    except DoppelError as e:
        raise schema.damaged("DFL metadata", e, path, "The other faces are converted; re-extract this one in DFL") from None


def _dfl_to_meta(d: dict, image_size: int, path: Path) -> FaceMeta:
    f = schema.field
    name = f(d, "face_type", schema.text, default="full_face")
    if name not in DFL_FACE_TYPES:
        raise schema.SchemaError(f"face type '{name[:40]}' has no doppel equivalent")
    landmarks = f(d, "landmarks", schema.array, (68, 2), bound=_BOUND)
    to_face = schema.invertible(f(d, "image_to_face_mat", schema.array, (2, 3), bound=_BOUND), "image_to_face_mat")
    face_to_source = np.linalg.inv(np.vstack([to_face, [0.0, 0.0, 1.0]]))[:2]
    source_landmarks = f(d, "source_landmarks", schema.array, (68, 2), bound=_BOUND, default=None)
    if source_landmarks is None:  # map the face landmarks back with the inverse transform
        source_landmarks = landmarks @ face_to_source[:, :2].T + face_to_source[:, 2]
    source_name = f(d, "source_filename", schema.text, default=None) or ""
    number = _FRAME_NUMBER.search(Path(source_name).stem)
    rect = f(d, "source_rect", schema.array, (4,), bound=_BOUND, default=None)
    rect = [0.0] * 4 if rect is None else rect.tolist()
    xs, ys = source_landmarks[:, 0], source_landmarks[:, 1]
    width, height = int(max(rect[2], xs.max()) * 1.1) + 1, int(max(rect[3], ys.max()) * 1.1) + 1  # frame size unknown in DFL
    extra = {"dfl": {k: v for k, v in d.items() if isinstance(k, str) and _plain_scalar(v)
                     and k not in ("face_type", "source_filename")}}
    return FaceMeta(
        face_type=DFL_FACE_TYPES[name],
        size=int(image_size),
        source=SourceInfo(filename=source_name, frame_index=int(number.group(1)) if number else 0),
        source_rect=rect,
        landmarks=landmarks.astype(np.float32),
        source_landmarks=source_landmarks.astype(np.float32),
        face_to_source=face_to_source,
        pose=pose_from_2d(source_landmarks, width, height),
        detector="deepfacelab",
        xseg_polygons=_polygons(d.get("seg_ie_polys"), "seg_ie_polys"),
        xseg_mask=f(d, "xseg_mask", _mask_png_b64, default=None),
        original_name=path.name,
        extra=extra,
    )


def _plain_scalar(v: Any) -> bool:
    """A value JSON writes as it is (kept in `extra` so an export gives DFL its fields back)."""
    if isinstance(v, float):
        return np.isfinite(v)
    return isinstance(v, (str, int, bool)) and (not isinstance(v, str) or len(v) < 4096)


def meta_to_dfl(meta: FaceMeta) -> dict:
    """doppel metadata -> a DFL dict of plain Python values (DFL turns the lists back into arrays)."""
    to_face = np.linalg.inv(np.vstack([np.asarray(meta.face_to_source, np.float64), [0, 0, 1]]))[:2]
    d = {
        "face_type": DOPPEL_TO_DFL[meta.face_type],
        "landmarks": np.asarray(meta.landmarks, np.float64).tolist(),
        "source_filename": meta.source.filename or meta.original_name or "",
        "source_rect": [float(v) for v in meta.source_rect],
        "source_landmarks": np.asarray(meta.source_landmarks, np.float64).tolist(),
        "image_to_face_mat": to_face.tolist(),
    }
    if meta.xseg_polygons:
        d["seg_ie_polys"] = {"polys": [{"type": 1 if p.get("kind") == "include" else 0, "pts": p["points"]}
                                       for p in meta.xseg_polygons]}
    if meta.xseg_mask:
        # PNG bytes as a uint8 array, as DFL stores them (it calls cv2.imdecode on this value)
        d["xseg_mask"] = np.frombuffer(base64.b64decode(meta.xseg_mask), np.uint8).copy()
    return d


def dfl_face_bytes(path: Path) -> tuple[bytes, FaceMeta]:
    """(image bytes with doppel metadata instead of DFL's, the metadata) for one DFL face file."""
    d = read_dfl_dict(path)
    data = path.read_bytes()
    try:
        check_image_size(data)
        image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    except ContainerError as e:
        raise DoppelError(f"damaged image ({e.message})", path) from None
    except cv2.error:
        image = None
    if image is None:
        raise DoppelError("not a readable image", path)
    h, w = image.shape[:2]
    if h != w:
        raise DoppelError(f"aligned faces are square; this one is {w}x{h}", path)
    meta = dfl_to_meta(d, w, path)
    try:
        return embed_metadata(strip_dfl(data), meta), meta
    except ContainerError as e:  # damage after the DFL segment, found while rewriting the file
        raise DoppelError(f"damaged image ({e.message})", path) from None


def export_bytes(data: bytes, meta: FaceMeta) -> bytes:
    """Image bytes with DFL metadata added (doppel's own metadata is kept: DFL ignores it)."""
    return embed_dfl(data, plain_dumps(meta_to_dfl(meta)))
