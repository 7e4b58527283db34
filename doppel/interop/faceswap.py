"""`doppel import-faceswap`: Faceswap's PNG faces, read without unpickling, re-cut from the frames.

Faceswap writes each face's header into a PNG iTXt chunk with keyword "faceswap" as `str(dict)`:
{"alignments": {x, y, w, h, landmarks_xy (68 points, frame pixels), mask, identity},
 "source": {alignments_version, original_filename, face_index, source_filename, source_is_video,
 source_frame_dims}}. Python literals only, so `ast.literal_eval` reads it safely: no pickle.

The header has no crop transform for the face image (Faceswap recomputes it from its own mean
face and centering), so doppel re-cuts each face from the original frame with its own aligner,
using Faceswap's landmarks. The frames are therefore needed: the source video (frames named
`<video>_<frame number from 1, 6 digits>.png` by Faceswap) or the folder of frame images.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from doppel.core import schema
from doppel.core.containers import ContainerError, is_png, itxt_text, png_chunks
from doppel.core.errors import DoppelError
from doppel.core.facetype import FaceType
from doppel.core.images import list_images, read_image, write_face
from doppel.core.metadata import FaceMeta, SourceInfo
from doppel.interop.dfl import pose_from_2d
from doppel.media.progress import progress_bar
from doppel.media.reader import is_video, read_frames

_KEYWORD = b"faceswap"
_MAX_HEADER = 16 * 1024 * 1024
_VIDEO_FRAME = re.compile(r"_(\d{6})\.\w+$")


def read_faceswap_header(data: bytes, path: Path | None = None) -> dict:
    if not is_png(data):
        raise DoppelError("not a PNG (Faceswap faces are PNG files)", path)
    try:
        text = next((t for t in (itxt_text(c, _KEYWORD) for c in png_chunks(data)) if t is not None), None)
    except ContainerError as e:
        raise DoppelError(f"damaged image ({e.message})", path) from None
    if text is None:
        raise DoppelError("no Faceswap header in this PNG", path, hint="Is it a face extracted by Faceswap 2.x?")
    if len(text) > _MAX_HEADER:
        raise DoppelError("Faceswap header too large", path)
    try:
        value = ast.literal_eval(text.decode("utf-8"))
    except (ValueError, TypeError, SyntaxError, UnicodeDecodeError, MemoryError, RecursionError) as e:
        raise DoppelError(f"unreadable Faceswap header ({type(e).__name__})", path) from None
    if not isinstance(value, dict) or not isinstance(value.get("alignments"), dict) or not isinstance(value.get("source"), dict):
        raise DoppelError("Faceswap header lacks 'alignments'/'source'", path)
    return value


@dataclass
class FaceswapFace:
    path: Path
    landmarks: np.ndarray  # 68x2, frame pixels
    box: list[float]  # x0 y0 x1 y1
    source_filename: str
    face_index: int
    frame_index: int | None  # 0-based, for faces taken from a video


def parse_face(path: Path) -> FaceswapFace:
    header = read_faceswap_header(path.read_bytes(), path)
    al, src = header["alignments"], header["source"]
    f = schema.field
    try:
        landmarks = f(al, "landmarks_xy", schema.array, (68, 2), bound=1e6, prefix="alignments.")
        x, y, w, h = (f(al, k, schema.number, -1e6, 1e6, prefix="alignments.") for k in ("x", "y", "w", "h"))
        name = f(src, "source_filename", schema.text, default="", prefix="source.")
        face_index = f(src, "face_index", schema.integer, 0, 1000, default=0, prefix="source.")
    except DoppelError as e:
        raise schema.damaged("Faceswap header", e, path) from None
    match = _VIDEO_FRAME.search(name)
    frame_index = int(match.group(1)) - 1 if src.get("source_is_video") and match else None
    return FaceswapFace(path, landmarks, [x, y, x + w, y + h], name, face_index, frame_index)


@dataclass
class FaceswapImportResult:
    converted: int = 0
    kept: int = 0
    refused: list[tuple[str, str]] = field(default_factory=list)


def _write(face: FaceswapFace, frame: np.ndarray, frame_index: int, timestamp, out: Path, face_type: FaceType,
           size: int) -> None:
    from doppel.faces.align import align_face, invert, transform_points

    image, to_face = align_face(frame, face.landmarks, face_type, size)
    h, w = frame.shape[:2]
    meta = FaceMeta(
        face_type=face_type,
        size=size,
        source=SourceInfo(filename=face.source_filename, frame_index=frame_index, timestamp=timestamp, width=w, height=h),
        face_index=face.face_index,
        source_rect=face.box,
        landmarks=transform_points(face.landmarks, to_face),
        source_landmarks=face.landmarks.astype(np.float32),
        face_to_source=invert(to_face),
        pose=pose_from_2d(face.landmarks, w, h),
        detector="faceswap",
        original_name=face.path.name,
    )
    write_face(out / (face.path.stem + ".jpg"), image, meta)


def import_faceswap(src: str | Path, out: str | Path, frames: str | Path, face_type: str = "whole-face",
                    size: int = 512, progress: bool = True) -> FaceswapImportResult:
    """Convert a folder of Faceswap PNG faces into doppel faces, re-cut from `frames` (video or folder)."""
    src, out, frames = Path(src), Path(out), Path(frames)
    ft = FaceType.parse(face_type)
    if not src.is_dir():
        raise DoppelError("not a folder", src, hint="Pass the folder of Faceswap faces")
    if not frames.exists():
        raise DoppelError("frames not found", frames, hint="Pass the source video or the folder of its frames")
    result = FaceswapImportResult()
    faces: list[FaceswapFace] = []
    for path in [p for p in list_images(src) if p.suffix.lower() == ".png"]:
        if (out / (path.stem + ".jpg")).exists():
            result.kept += 1
            continue
        try:
            faces.append(parse_face(path))
        except DoppelError as e:
            result.refused.append((path.name, e.message))
    out.mkdir(parents=True, exist_ok=True)
    with progress_bar(f"importing {src.name}", len(faces), progress) as bar:
        if is_video(frames):
            by_index: dict[int, list[FaceswapFace]] = {}
            for face in faces:
                if face.frame_index is None:
                    result.refused.append((face.path.name, f"source '{face.source_filename}' is not a video frame"))
                else:
                    by_index.setdefault(face.frame_index, []).append(face)
            last = max(by_index, default=-1)
            for frame in read_frames(frames):
                if frame.index > last:
                    break
                for face in by_index.pop(frame.index, []):
                    _write(face, frame.image, frame.index, frame.timestamp, out, ft, size)
                    result.converted += 1
                    bar.advance()
            for left in by_index.values():
                result.refused += [(f.path.name, f"frame {f.frame_index + 1} is not in {frames.name}") for f in left]
        else:
            for face in faces:
                frame_path = frames / face.source_filename
                if not frame_path.is_file():
                    result.refused.append((face.path.name, f"frame '{face.source_filename}' not found in {frames}"))
                    continue
                _write(face, read_image(frame_path), 0, None, out, ft, size)
                result.converted += 1
                bar.advance()
    return result
