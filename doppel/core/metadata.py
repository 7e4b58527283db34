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
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from doppel.core import schema
from doppel.core.containers import (ITXT, ContainerError, JpegSegment, PngChunk, is_jpeg, is_png, itxt_chunk, itxt_text,
                                    jpeg_segment, jpeg_segments, png_chunks)
from doppel.core.errors import DoppelError, NoMetadataError
from doppel.core.facetype import FaceType

SCHEMA_VERSION = 2  # 2: the mesh is packed float32 (base64) instead of a list of numbers
_MAGIC = b"doppel\x00"
_APP15 = 0xEF
_MAX_SEGMENT_PAYLOAD = 65533 - len(_MAGIC) - 4  # 2-byte length field, 4-byte chunk header
_PNG_KEYWORD = b"doppel"
MAX_FACE_SIZE = 16384


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
    def from_dict(cls, d: Any) -> "FaceMeta":
        """Check every field of a record (type, shape, range) and build the metadata; SchemaError
        names the first bad field. This is the one place face metadata from a file is trusted."""
        d = _migrate(dict(schema.obj(d, "face metadata")))
        f = schema.field
        source = schema.obj(d.get("source", {}), "source")
        pose = schema.obj(d.get("pose", {}), "pose")
        return cls(
            face_type=_face_type(f(d, "face_type", schema.text)),
            size=f(d, "size", schema.integer, 1, MAX_FACE_SIZE, default=512),
            source=SourceInfo(
                filename=f(source, "filename", schema.text, default="", prefix="source."),
                frame_index=f(source, "frame_index", schema.integer, 0, default=0, prefix="source."),
                timestamp=f(source, "timestamp", schema.number, default=None, prefix="source."),
                width=f(source, "width", schema.integer, 0, default=0, prefix="source."),
                height=f(source, "height", schema.integer, 0, default=0, prefix="source."),
            ),
            face_index=f(d, "face_index", schema.integer, 0, default=0),
            source_rect=f(d, "source_rect", schema.array, (4,), default=np.zeros(4)).tolist(),
            landmarks=f(d, "landmarks", schema.array, (68, 2)).astype(np.float32),
            source_landmarks=f(d, "source_landmarks", schema.array, (68, 2)).astype(np.float32),
            face_to_source=schema.invertible(f(d, "face_to_source", schema.array, (2, 3)), "face_to_source"),
            pose=Pose(**{k: f(pose, k, schema.number, default=0.0, prefix="pose.") for k in ("yaw", "pitch", "roll")}),
            detector=f(d, "detector", schema.text, default=""),
            score=f(d, "score", schema.number, default=0.0),
            mesh=f(d, "mesh", _unpack, default=None),
            embedding=_optional_list(f(d, "embedding", schema.array, (None,), default=None)),
            xseg_polygons=f(d, "xseg_polygons", _polygons, default=None),
            xseg_mask=f(d, "xseg_mask", _base64_text, default=None),
            original_name=f(d, "original_name", schema.text, default=None),
            extra=dict(f(d, "extra", _free_form, default={})),
        )

    def to_json(self) -> bytes:
        return json.dumps(self.to_dict(), separators=(",", ":")).encode("utf-8")

    @classmethod
    def from_json(cls, data: bytes | str) -> "FaceMeta":
        return cls.from_dict(schema.parse_json(data, "face metadata", free_form=False))


def _round(a: np.ndarray | None, digits: int = 2) -> list:
    return np.round(np.asarray(a, np.float64), digits).tolist()


def _pack(a: np.ndarray) -> dict:
    """A large float array as base64 of little-endian float32: writing 1434 mesh numbers as JSON text cost
    ~0.8 ms per face, a fifth of a frame's non-model work in extraction; this costs ~10 us."""
    a = np.ascontiguousarray(a, "<f4")
    return {"encoding": "base64-float32le", "shape": list(a.shape), "data": base64.b64encode(a.tobytes()).decode("ascii")}


def _unpack(value: Any, name: str) -> np.ndarray:
    """A mesh: packed float32 (schema 2) or nested lists (schema 1), N x 3 finite numbers."""
    if isinstance(value, dict):
        encoding = schema.field(value, "encoding", schema.choice, ("base64-float32le",), prefix=name + ".")
        shape = schema.field(value, "shape", schema.array, (2,), prefix=name + ".")
        data = schema.field(value, "data", schema.text, 1 << 24, prefix=name + ".")
        try:
            raw = base64.b64decode(data, validate=True)
        except ValueError:
            raise schema.SchemaError(f"{name}.data: not base64 ({encoding})") from None
        rows, cols = (int(v) for v in shape)
        if cols != 3 or rows < 0 or rows * cols * 4 != len(raw):
            raise schema.SchemaError(f"{name}: shape {rows}x{cols} does not match {len(raw)} bytes of N x 3 float32")
        value = np.frombuffer(raw, "<f4").reshape(rows, cols)
    return schema.array(value, name, (None, 3)).astype(np.float32)


def _free_form(value: Any, name: str) -> dict:
    schema.check_depth(schema.obj(value, name), name)
    return value


def _base64_text(value: Any, name: str) -> str:
    text = schema.text(value, name, 1 << 26)
    try:
        base64.b64decode(text, validate=True)
    except ValueError:
        raise schema.SchemaError(f"{name}: not base64") from None
    return text


def _face_type(name: str) -> FaceType:
    try:
        return FaceType.parse(name)
    except DoppelError as e:
        raise schema.SchemaError(f"face_type: {e.message}") from None


def _polygons(value: Any, name: str) -> list[dict]:
    polygons = []
    for i, item in enumerate(schema.items(value, name, max_len=10_000)):
        item = schema.obj(item, f"{name}[{i}]")
        polygons.append({
            "kind": schema.field(item, "kind", schema.choice, ("include", "exclude"), prefix=f"{name}[{i}]."),
            "points": schema.field(item, "points", schema.array, (None, 2), prefix=f"{name}[{i}].").tolist(),
        })
    return polygons


def _optional_list(a: np.ndarray | None) -> list[float] | None:
    return None if a is None else a.tolist()


def _migrate(d: dict) -> dict:
    version = schema.field(d, "schema", schema.integer, 1, default=1)
    if version > SCHEMA_VERSION:
        raise DoppelError(
            f"face metadata schema {version} is newer than this doppel understands ({SCHEMA_VERSION})",
            hint="Upgrade doppel",
        )
    # One migration step per schema change goes here. 1 -> 2: the mesh was nested lists (`_unpack` reads both).
    d["schema"] = SCHEMA_VERSION
    return d


# ---- JPEG ---------------------------------------------------------------------------------


def _is_ours(segment: JpegSegment) -> bool:
    return segment.marker == _APP15 and segment.body.startswith(_MAGIC)


def _jpeg_strip(data: bytes) -> bytes:
    out = bytearray(data[:2])
    last = 2
    for segment in jpeg_segments(data):
        if _is_ours(segment):
            out += data[last : segment.start]
            last = segment.end
    out += data[last:]
    return bytes(out)


def _jpeg_embed(data: bytes, payload: bytes) -> bytes:
    data = _jpeg_strip(data)
    chunks = [payload[i : i + _MAX_SEGMENT_PAYLOAD] for i in range(0, len(payload), _MAX_SEGMENT_PAYLOAD)]
    if len(chunks) > 0xFFFF:
        raise DoppelError("face metadata is too large for a JPEG file")
    segments = b"".join(jpeg_segment(_APP15, _MAGIC + struct.pack(">HH", i, len(chunks)) + chunk) for i, chunk in enumerate(chunks))
    insert_at = 2
    for segment in jpeg_segments(data):
        if segment.marker in (0xE0, 0xE1):  # keep JFIF/EXIF first, as viewers expect
            insert_at = segment.end
        else:
            break
    return data[:insert_at] + segments + data[insert_at:]


def _jpeg_extract(data: bytes) -> bytes | None:
    """The metadata payload, joined from its numbered APP15 chunks; every header is checked."""
    parts: dict[int, bytes] = {}
    total = None
    header = len(_MAGIC) + 4
    for segment in jpeg_segments(data):
        if not _is_ours(segment):
            continue
        body = segment.body
        if len(body) < header:
            raise ContainerError("a face metadata segment is shorter than its header")
        index, count = struct.unpack_from(">HH", body, len(_MAGIC))
        if total is None:
            total = count
        if count != total or not index < count:
            raise ContainerError(f"face metadata chunk header is damaged (chunk {index} of {count}, expected {total})")
        if index in parts:
            raise ContainerError(f"face metadata chunk {index} appears twice")
        parts[index] = body[header:]
    if total is None:
        return None
    if len(parts) != total:
        raise ContainerError(f"face metadata is split over {total} segments and {total - len(parts)} are missing")
    return b"".join(parts[i] for i in range(total))


# ---- PNG ----------------------------------------------------------------------------------


def _png_strip(data: bytes) -> bytes:
    return data[:8] + b"".join(data[c.start : c.end] for c in png_chunks(data) if not _png_is_ours(c))


def _png_is_ours(chunk: PngChunk) -> bool:
    return chunk.kind == ITXT and chunk.body.startswith(_PNG_KEYWORD + b"\x00")


def _png_embed(data: bytes, payload: bytes) -> bytes:
    data = _png_strip(data)
    for chunk in png_chunks(data):
        if chunk.kind == b"IHDR":
            return data[: chunk.end] + itxt_chunk(_PNG_KEYWORD, payload) + data[chunk.end :]
    raise ContainerError("PNG without IHDR")


def _png_extract(data: bytes) -> bytes | None:
    for chunk in png_chunks(data):
        text = itxt_text(chunk, _PNG_KEYWORD)
        if text is not None:
            return text
    return None


# ---- public API ---------------------------------------------------------------------------


def embed_metadata(image_bytes: bytes, meta: FaceMeta) -> bytes:
    """Return encoded image bytes (JPEG or PNG) with `meta` inside."""
    return embed_metadata_bytes(image_bytes, meta.to_json())


def embed_metadata_bytes(image_bytes: bytes, payload: bytes) -> bytes:
    """Image bytes with a raw metadata payload inside (the counterpart of `extract_metadata_bytes`)."""
    if is_jpeg(image_bytes):
        return _jpeg_embed(image_bytes, payload)
    if is_png(image_bytes):
        return _png_embed(image_bytes, payload)
    raise DoppelError("face metadata can only be stored in JPEG or PNG images")


def extract_metadata_bytes(image_bytes: bytes) -> bytes | None:
    """The metadata payload of JPEG or PNG bytes, None if there is none; ContainerError if damaged."""
    if is_jpeg(image_bytes):
        return _jpeg_extract(image_bytes)
    if is_png(image_bytes):
        return _png_extract(image_bytes)
    return None


def strip_metadata(image_bytes: bytes) -> bytes:
    if is_jpeg(image_bytes):
        return _jpeg_strip(image_bytes)
    if is_png(image_bytes):
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
    hint = "Re-extract this face, restore it with 'doppel faceset meta restore', or move it out"
    try:
        raw = extract_metadata_bytes(data)
    except ContainerError as e:
        raise DoppelError(f"damaged image ({e.message})", path, hint=hint) from None
    if raw is None:
        raise NoMetadataError(
            "no doppel face metadata in this image",
            path,
            hint="Extract faces with 'doppel extract', or restore it with 'doppel faceset meta restore'",
        )
    try:
        return FaceMeta.from_json(raw)
    except DoppelError as e:
        raise schema.damaged("face metadata", e, path, hint) from None


def write_metadata(path: str | Path, meta: FaceMeta) -> None:
    """Replace the metadata inside an existing image file, atomically."""
    from doppel.core.atomic import write_bytes

    path = Path(path)
    write_bytes(path, embed_metadata(path.read_bytes(), meta))
