"""Face metadata carried inside the aligned face image itself.

JPEG: JSON in APP15 segments that start with the magic b"doppel\\0" and a chunk header, so a
large record (XSeg polygons, embeddings) can span several 64 KiB segments. PNG: an iTXt chunk
with keyword "doppel". Never pickle: this file is something users share.

Every record carries `schema`; `FaceMeta.from_dict` migrates older schemas forward.
"""

from __future__ import annotations

import base64
import json
import struct
import zlib
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np

from doppel.core.errors import DoppelError, NoMetadataError
from doppel.core.facetype import FaceType

SCHEMA_VERSION = 2  # 2: the mesh is packed float32 (base64) instead of a list of numbers
_MAGIC = b"doppel\x00"
_APP15 = 0xEF
_MAX_SEGMENT_PAYLOAD = 65533 - len(_MAGIC) - 4  # 2-byte length field, 4-byte chunk header
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PNG_KEYWORD = b"doppel"


@dataclass
class Pose:
    """Head pose in degrees. Frontal reads about 0; a mirrored face flips the sign of yaw."""

    yaw: float = 0.0
    pitch: float = 0.0
    roll: float = 0.0


@dataclass
class SourceInfo:
    filename: str = ""
    frame_index: int = 0
    timestamp: float | None = None  # seconds, from the container's timestamps
    width: int = 0
    height: int = 0


@dataclass
class FaceMeta:
    """Everything doppel knows about one aligned face.

    Coordinates: `landmarks` are 68 (x, y) points in the aligned face image; `source_landmarks`
    the same points in the source frame; `face_to_source` is the 2x3 affine that maps aligned-face
    pixels to source-frame pixels (its inverse made the aligned image).
    """

    face_type: FaceType = FaceType.WHOLE_FACE
    size: int = 512
    source: SourceInfo = field(default_factory=SourceInfo)
    face_index: int = 0  # which face of the frame, 0 = first
    source_rect: list[float] = field(default_factory=lambda: [0.0, 0.0, 0.0, 0.0])  # x0 y0 x1 y1
    landmarks: np.ndarray = field(default_factory=lambda: np.zeros((68, 2), np.float32))
    source_landmarks: np.ndarray = field(default_factory=lambda: np.zeros((68, 2), np.float32))
    face_to_source: np.ndarray = field(default_factory=lambda: np.eye(2, 3, dtype=np.float64))
    pose: Pose = field(default_factory=Pose)
    detector: str = ""
    score: float = 0.0
    mesh: np.ndarray | None = None  # optional 478x3 mediapipe mesh, source coordinates
    embedding: list[float] | None = None  # cached identity embedding (dlib 128-d)
    xseg_polygons: list[dict] | None = None  # [{"kind": "include"|"exclude", "points": [[x,y],...]}]
    xseg_mask: str | None = None  # base64 PNG of a learned mask, face coordinates
    original_name: str | None = None  # file name before a sort renamed it
    extra: dict[str, Any] = field(default_factory=dict)  # stage-specific cached values
    schema: int = SCHEMA_VERSION

    @property
    def source_to_face(self) -> np.ndarray:
        m = np.vstack([self.face_to_source, [0.0, 0.0, 1.0]])
        return np.linalg.inv(m)[:2]

    def to_dict(self) -> dict:
        d = asdict(self)
        d["face_type"] = self.face_type.value
        d["landmarks"] = _round(self.landmarks)
        d["source_landmarks"] = _round(self.source_landmarks)
        d["face_to_source"] = np.asarray(self.face_to_source, np.float64).tolist()
        d["mesh"] = None if self.mesh is None else _pack(self.mesh)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "FaceMeta":
        d = _migrate(dict(d))
        known = {f.name for f in fields(cls)}
        kwargs = {k: v for k, v in d.items() if k in known}
        kwargs["face_type"] = FaceType.parse(d["face_type"])
        kwargs["source"] = SourceInfo(**d.get("source", {}))
        kwargs["pose"] = Pose(**d.get("pose", {}))
        kwargs["landmarks"] = np.asarray(d["landmarks"], np.float32).reshape(-1, 2)
        kwargs["source_landmarks"] = np.asarray(d["source_landmarks"], np.float32).reshape(-1, 2)
        kwargs["face_to_source"] = np.asarray(d["face_to_source"], np.float64).reshape(2, 3)
        if d.get("mesh") is not None:
            kwargs["mesh"] = _unpack(d["mesh"])
        return cls(**kwargs)

    def to_json(self) -> bytes:
        return json.dumps(self.to_dict(), separators=(",", ":")).encode("utf-8")

    @classmethod
    def from_json(cls, data: bytes | str) -> "FaceMeta":
        return cls.from_dict(json.loads(data))


def _round(a: np.ndarray | None, digits: int = 2) -> list:
    return np.round(np.asarray(a, np.float64), digits).tolist()


def _pack(a: np.ndarray) -> dict:
    """A large float array as base64 of little-endian float32: writing 1434 mesh numbers as JSON text cost
    ~0.8 ms per face, a fifth of a frame's non-model work in extraction; this costs ~10 us."""
    a = np.ascontiguousarray(a, "<f4")
    return {"encoding": "base64-float32le", "shape": list(a.shape), "data": base64.b64encode(a.tobytes()).decode("ascii")}


def _unpack(value) -> np.ndarray:
    if isinstance(value, dict):
        if value.get("encoding") != "base64-float32le":
            raise ValueError(f"unknown array encoding {value.get('encoding')!r}")
        return np.frombuffer(base64.b64decode(value["data"]), "<f4").reshape(value["shape"]).astype(np.float32)
    return np.asarray(value, np.float32)  # schema 1: nested lists


def _migrate(d: dict) -> dict:
    version = d.get("schema", 1)
    if version > SCHEMA_VERSION:
        raise DoppelError(
            f"face metadata schema {version} is newer than this doppel understands ({SCHEMA_VERSION})",
            hint="Upgrade doppel",
        )
    # One migration step per schema change goes here. 1 -> 2: the mesh was nested lists (`_unpack` reads both).
    d["schema"] = SCHEMA_VERSION
    return d


# ---- JPEG ---------------------------------------------------------------------------------


def _jpeg_segments(data: bytes):
    """Yield (marker, start, end) for each segment before the scan data."""
    if data[:2] != b"\xff\xd8":
        raise ValueError("not a JPEG")
    pos = 2
    while pos + 4 <= len(data):
        if data[pos] != 0xFF:
            raise ValueError("corrupt JPEG marker")
        marker = data[pos + 1]
        if marker == 0xDA:  # start of scan: metadata segments end here
            return
        length = struct.unpack(">H", data[pos + 2 : pos + 4])[0]
        yield marker, pos, pos + 2 + length
        pos += 2 + length


def _jpeg_strip(data: bytes) -> bytes:
    out = bytearray(data[:2])
    last = 2
    for marker, start, end in _jpeg_segments(data):
        if marker == _APP15 and data[start + 4 : start + 4 + len(_MAGIC)] == _MAGIC:
            out += data[last:start]
            last = end
    out += data[last:]
    return bytes(out)


def _jpeg_embed(data: bytes, payload: bytes) -> bytes:
    data = _jpeg_strip(data)
    chunks = [payload[i : i + _MAX_SEGMENT_PAYLOAD] for i in range(0, len(payload), _MAX_SEGMENT_PAYLOAD)]
    segments = bytearray()
    for i, chunk in enumerate(chunks):
        body = _MAGIC + struct.pack(">HH", i, len(chunks)) + chunk
        segments += b"\xff" + bytes([_APP15]) + struct.pack(">H", len(body) + 2) + body
    insert_at = 2
    for marker, _start, end in _jpeg_segments(data):
        if marker in (0xE0, 0xE1):  # keep JFIF/EXIF first, as viewers expect
            insert_at = end
        else:
            break
    return data[:insert_at] + bytes(segments) + data[insert_at:]


def _jpeg_extract(data: bytes) -> bytes | None:
    parts: dict[int, bytes] = {}
    total = 0
    for marker, start, end in _jpeg_segments(data):
        body = data[start + 4 : end]
        if marker == _APP15 and body[: len(_MAGIC)] == _MAGIC:
            index, total = struct.unpack(">HH", body[len(_MAGIC) : len(_MAGIC) + 4])
            parts[index] = body[len(_MAGIC) + 4 :]
    if not parts:
        return None
    if len(parts) != total:
        raise ValueError("face metadata is split over segments and some are missing")
    return b"".join(parts[i] for i in range(total))


# ---- PNG ----------------------------------------------------------------------------------


def _png_chunks(data: bytes):
    if data[:8] != _PNG_SIGNATURE:
        raise ValueError("not a PNG")
    pos = 8
    while pos + 8 <= len(data):
        length, ctype = struct.unpack(">I4s", data[pos : pos + 8])
        end = pos + 12 + length
        yield ctype, pos, end, data[pos + 8 : pos + 8 + length]
        pos = end


def _is_ours(ctype: bytes, body: bytes) -> bool:
    return ctype == b"iTXt" and body.startswith(_PNG_KEYWORD + b"\x00")


def _png_strip(data: bytes) -> bytes:
    out = bytearray(data[:8])
    for ctype, start, end, body in _png_chunks(data):
        if not _is_ours(ctype, body):
            out += data[start:end]
    return bytes(out)


def _png_embed(data: bytes, payload: bytes) -> bytes:
    data = _png_strip(data)
    # keyword \0 compression-flag compression-method language \0 translated-keyword \0 text
    body = _PNG_KEYWORD + b"\x00\x00\x00\x00\x00" + payload
    chunk = struct.pack(">I4s", len(body), b"iTXt") + body
    chunk += struct.pack(">I", zlib.crc32(b"iTXt" + body) & 0xFFFFFFFF)
    for ctype, _start, end, _body in _png_chunks(data):
        if ctype == b"IHDR":
            return data[:end] + chunk + data[end:]
    raise ValueError("PNG without IHDR")


def _png_extract(data: bytes) -> bytes | None:
    for ctype, _start, _end, body in _png_chunks(data):
        if _is_ours(ctype, body):
            return body[len(_PNG_KEYWORD) + 5 :]
    return None


# ---- public API ---------------------------------------------------------------------------


def embed_metadata(image_bytes: bytes, meta: FaceMeta) -> bytes:
    """Return encoded image bytes (JPEG or PNG) with `meta` inside."""
    payload = meta.to_json()
    if image_bytes[:2] == b"\xff\xd8":
        return _jpeg_embed(image_bytes, payload)
    if image_bytes[:8] == _PNG_SIGNATURE:
        return _png_embed(image_bytes, payload)
    raise DoppelError("face metadata can only be stored in JPEG or PNG images")


def extract_metadata_bytes(image_bytes: bytes) -> bytes | None:
    if image_bytes[:2] == b"\xff\xd8":
        return _jpeg_extract(image_bytes)
    if image_bytes[:8] == _PNG_SIGNATURE:
        return _png_extract(image_bytes)
    return None


def strip_metadata(image_bytes: bytes) -> bytes:
    if image_bytes[:2] == b"\xff\xd8":
        return _jpeg_strip(image_bytes)
    if image_bytes[:8] == _PNG_SIGNATURE:
        return _png_strip(image_bytes)
    return image_bytes


def read_metadata(path: str | Path) -> FaceMeta:
    """Read the face metadata of one aligned face file.

    Raises NoMetadataError when the file has none (a plain image, or one an editor stripped) and
    DoppelError when it cannot be read at all.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as e:
        raise DoppelError(f"cannot read file ({e.strerror})", path) from e
    try:
        raw = extract_metadata_bytes(data)
    except ValueError as e:
        raise DoppelError(f"damaged image ({e})", path, hint="Re-extract this face or move it out") from e
    if raw is None:
        raise NoMetadataError(
            "no doppel face metadata in this image",
            path,
            hint="Extract faces with 'doppel extract', or restore it with 'doppel faceset meta restore'",
        )
    try:
        return FaceMeta.from_json(raw)
    except (ValueError, KeyError, TypeError) as e:
        raise DoppelError(f"face metadata is damaged ({e})", path) from e


def write_metadata(path: str | Path, meta: FaceMeta) -> None:
    """Replace the metadata inside an existing image file, atomically."""
    from doppel.core.atomic import write_bytes

    path = Path(path)
    write_bytes(path, embed_metadata(path.read_bytes(), meta))
