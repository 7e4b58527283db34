"""DeepFaceLab facesets: read the pickled metadata safely and convert it to doppel's JSON, and back.

DFL keeps a dict in the JPEG APP15 segment (old PNG facesets: an `fcWp` chunk): face_type,
landmarks (68 points, face coordinates), source_filename, source_rect, source_landmarks,
image_to_face_mat (2x3, frame -> face) and, when labelled, seg_ie_polys and xseg_mask (PNG or
JPEG bytes). The image data itself is kept byte for byte; only the metadata changes.
"""

from __future__ import annotations

import base64
import re
import struct
import zlib
from pathlib import Path

import cv2
import numpy as np

from doppel.core.errors import DoppelError
from doppel.core.facetype import FaceType
from doppel.core.metadata import FaceMeta, Pose, SourceInfo, embed_metadata
from doppel.interop.safe_pickle import plain_dumps, safe_loads

_APP15 = 0xEF
_PNG_SIG = b"\x89PNG\r\n\x1a\n"
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


def _jpeg_segments(data: bytes):
    """(marker, start, end) of each segment before the scan data."""
    pos = 2
    while pos + 4 <= len(data) and data[pos] == 0xFF:
        marker = data[pos + 1]
        if marker == 0xDA:
            return
        (length,) = struct.unpack(">H", data[pos + 2 : pos + 4])
        yield marker, pos, pos + 2 + length
        pos += 2 + length


def _is_dfl_app15(data: bytes, start: int, end: int) -> bool:
    return not data[start + 4 : end].startswith(b"doppel")  # doppel's own APP15 segments start with "doppel"


def dfl_payload(data: bytes) -> bytes | None:
    """The raw pickled metadata of a DFL JPEG or PNG face, or None."""
    if data.startswith(b"\xff\xd8"):
        for marker, start, end in _jpeg_segments(data):
            if marker == _APP15 and _is_dfl_app15(data, start, end):
                return data[start + 4 : end]
        return None
    if data.startswith(_PNG_SIG):
        pos = len(_PNG_SIG)
        while pos + 8 <= len(data):
            length, ctype = struct.unpack(">I4s", data[pos : pos + 8])
            if ctype == _PNG_CHUNK:
                return data[pos + 8 : pos + 8 + length]
            pos += 12 + length
    return None


def strip_dfl(data: bytes) -> bytes:
    """Image bytes without DFL's pickled metadata (everything else kept)."""
    if data.startswith(b"\xff\xd8"):
        out, pos = [], 0
        for marker, start, end in _jpeg_segments(data):
            if marker == _APP15 and _is_dfl_app15(data, start, end):
                out.append(data[pos:start])
                pos = end
        out.append(data[pos:])
        return b"".join(out)
    if data.startswith(_PNG_SIG):
        out, pos = [data[: len(_PNG_SIG)]], len(_PNG_SIG)
        while pos + 8 <= len(data):
            length, ctype = struct.unpack(">I4s", data[pos : pos + 8])
            if ctype != _PNG_CHUNK:
                out.append(data[pos : pos + 12 + length])
            pos += 12 + length
        return b"".join(out)
    return data


def embed_dfl(data: bytes, payload: bytes) -> bytes:
    """Put a pickled DFL dict into JPEG (APP15 after the other APPn segments) or PNG (fcWp) bytes."""
    data = strip_dfl(data)
    if data.startswith(b"\xff\xd8"):
        if len(payload) > 65533:
            raise DoppelError("metadata too large for one JPEG segment")
        insert = 2
        for marker, start, end in _jpeg_segments(data):
            if 0xE0 <= marker <= 0xEF:
                insert = end
        segment = b"\xff\xef" + struct.pack(">H", len(payload) + 2) + payload
        return data[:insert] + segment + data[insert:]
    if data.startswith(_PNG_SIG):
        iend = data.rfind(b"IEND") - 4
        chunk = struct.pack(">I4s", len(payload), _PNG_CHUNK) + payload
        chunk += struct.pack(">I", zlib.crc32(_PNG_CHUNK + payload) & 0xFFFFFFFF)
        return data[:iend] + chunk + data[iend:]
    raise DoppelError("only JPEG and PNG faces can carry DFL metadata")


def read_dfl_dict(path: str | Path) -> dict:
    """The DFL metadata dict of one face file, loaded with the restricted unpickler."""
    path = Path(path)
    data = path.read_bytes()
    payload = dfl_payload(data)
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


def _array(d: dict, key: str, shape: tuple[int, ...], path: Path) -> np.ndarray:
    try:
        a = np.asarray(d[key], np.float64)
        return a.reshape(shape)
    except KeyError:
        raise DoppelError(f"DFL metadata lacks '{key}'", path) from None
    except (ValueError, TypeError) as e:
        raise DoppelError(f"DFL metadata '{key}' has the wrong shape ({e})", path) from None


def _polygons(seg) -> list[dict] | None:
    """DFL seg_ie_polys ({'polys': [{'type', 'pts'}]} or an old list of (type, pts)) -> doppel polygons."""
    if not seg:
        return None
    items = seg.get("polys", []) if isinstance(seg, dict) else seg
    polys = []
    for item in items:
        kind, pts = (item.get("type"), item.get("pts")) if isinstance(item, dict) else item
        points = np.asarray(pts, np.float64).reshape(-1, 2)
        if len(points):
            polys.append({"kind": "include" if int(kind) == 1 else "exclude", "points": np.round(points, 2).tolist()})
    return polys or None


def _mask_png_b64(buf) -> str | None:
    if buf is None:
        return None
    raw = np.asarray(buf, np.uint8).ravel() if isinstance(buf, np.ndarray) else np.frombuffer(bytes(buf), np.uint8)
    mask = cv2.imdecode(raw, cv2.IMREAD_GRAYSCALE)
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
    ok, rvec, _ = cv2.solvePnP(obj, img, cam, None, flags=cv2.SOLVEPNP_ITERATIVE)
    return rotation_to_pose(cv2.Rodrigues(rvec)[0]) if ok else Pose()


_FRAME_NUMBER = re.compile(r"(\d+)(?!.*\d)")


def dfl_to_meta(d: dict, image_size: int, path: Path) -> FaceMeta:
    name = str(d.get("face_type", "full_face"))
    if name not in DFL_FACE_TYPES:
        raise DoppelError(f"DFL face type '{name}' has no doppel equivalent", path)
    landmarks = _array(d, "landmarks", (68, 2), path)
    to_face = _array(d, "image_to_face_mat", (2, 3), path)
    source_landmarks = _array(d, "source_landmarks", (68, 2), path) if d.get("source_landmarks") is not None else None
    if source_landmarks is None:  # map the face landmarks back with the inverse transform
        inv = np.linalg.inv(np.vstack([to_face, [0, 0, 1]]))[:2]
        source_landmarks = landmarks @ inv[:, :2].T + inv[:, 2]
    face_to_source = np.linalg.inv(np.vstack([to_face, [0.0, 0.0, 1.0]]))[:2]
    source_name = str(d.get("source_filename") or "")
    number = _FRAME_NUMBER.search(Path(source_name).stem)
    rect = [float(v) for v in (d.get("source_rect") or [0, 0, 0, 0])][:4]
    xs, ys = source_landmarks[:, 0], source_landmarks[:, 1]
    width, height = int(max(rect[2], xs.max()) * 1.1) + 1, int(max(rect[3], ys.max()) * 1.1) + 1  # frame size unknown in DFL
    extra = {"dfl": {k: v for k, v in d.items() if isinstance(v, (str, int, float, bool))
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
        xseg_polygons=_polygons(d.get("seg_ie_polys")),
        xseg_mask=_mask_png_b64(d.get("xseg_mask")),
        original_name=path.name,
        extra=extra,
    )


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
    data = path.read_bytes()
    d = read_dfl_dict(path)
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        raise DoppelError("not a readable image", path)
    h, w = image.shape[:2]
    if h != w:
        raise DoppelError(f"aligned faces are square; this one is {w}x{h}", path)
    meta = dfl_to_meta(d, w, path)
    return embed_metadata(strip_dfl(data), meta), meta


def export_bytes(data: bytes, meta: FaceMeta) -> bytes:
    """Image bytes with DFL metadata added (doppel's own metadata is kept: DFL ignores it)."""
    return embed_dfl(data, plain_dumps(meta_to_dfl(meta)))
