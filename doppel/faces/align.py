"""Alignment: a similarity transform (Umeyama) of the stable 68-point landmarks onto doppel's mean face,
then the face type's padding.

Geometry (documented in docs/extract.md): the mean face's brows, eyes, nose and mouth (points 17-67,
not the jaw, which moves with the mouth and the head turn) fill a unit square, centred. A face type
with padding p maps the square [-p, 1+p] onto the output image, so the inner face spans 1/(1+2p) of
its side; `shift_up` then moves the crop toward the forehead by that share of the side. The
numbers follow DeepFaceLab's, so facesets look the same size as DFL users expect.
"""

from __future__ import annotations

from functools import lru_cache

import cv2
import numpy as np

from doppel.core.facetype import FaceType
from doppel.core.images import AlignedFace
from doppel.core.metadata import FaceMeta
from doppel.faces.pose import mean_face_3d
from doppel.faces.umeyama import umeyama

STABLE = slice(17, 68)  # brows, nose, eyes, mouth


@lru_cache(maxsize=1)
def mean_face_2d() -> np.ndarray:
    """68x2 frontal mean face; points 17-67 centred in the unit square, touching two of its sides."""
    pts = mean_face_3d()[:, :2].copy()
    inner = pts[STABLE]
    lo, hi = inner.min(0), inner.max(0)
    scale = 1.0 / float((hi - lo).max())
    return (pts - (lo + hi) / 2) * scale + 0.5


def unit_to_face(face_type: FaceType | str, size: int) -> np.ndarray:
    """3x3 matrix: mean-face unit square -> pixels of a `size` aligned face of `face_type`."""
    ft = FaceType.parse(face_type)
    p = ft.padding
    s = size / (1.0 + 2.0 * p)
    return np.array([[s, 0, p * s], [0, s, p * s + ft.shift_up * size], [0, 0, 1]], np.float64)


def alignment_matrix(landmarks68: np.ndarray, face_type: FaceType | str, size: int) -> np.ndarray:
    """2x3 affine: source pixels -> aligned face pixels."""
    lm = np.asarray(landmarks68, np.float64)[:, :2]
    to_unit = umeyama(lm[STABLE], mean_face_2d()[STABLE])
    return (unit_to_face(face_type, size) @ to_unit)[:2]


def align_face(
    frame: np.ndarray, landmarks68: np.ndarray, face_type: FaceType | str, size: int
) -> tuple[np.ndarray, np.ndarray]:
    """(aligned face image, 2x3 source->face matrix). Pixels outside the frame are black."""
    m = alignment_matrix(landmarks68, face_type, size)
    # Shrinking a lot with plain bilinear aliases; area-average first when the face is much larger.
    scale = float(np.sqrt(abs(np.linalg.det(m[:, :2]))))
    interp = cv2.INTER_AREA if scale < 0.5 else cv2.INTER_LINEAR
    if interp == cv2.INTER_AREA:
        return _warp_downscaled(frame, m, size), m
    image = cv2.warpAffine(frame, m, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
    return image, m


def _warp_downscaled(frame: np.ndarray, m: np.ndarray, size: int) -> np.ndarray:
    """Warp at twice the size or more, then area-resize: cheap anti-aliasing for big source faces."""
    factor = 2
    while float(np.sqrt(abs(np.linalg.det(m[:, :2])))) * factor * 2 <= 1.0:
        factor *= 2
    big = np.vstack([m * factor, [0, 0, 1]])[:2]
    image = cv2.warpAffine(frame, big, (size * factor, size * factor), flags=cv2.INTER_LINEAR)
    return cv2.resize(image, (size, size), interpolation=cv2.INTER_AREA)


def transform_points(points: np.ndarray, affine: np.ndarray) -> np.ndarray:
    pts = np.asarray(points, np.float64)[:, :2]
    return (pts @ np.asarray(affine)[:, :2].T + np.asarray(affine)[:, 2]).astype(np.float32)


def invert(affine: np.ndarray) -> np.ndarray:
    return cv2.invertAffineTransform(np.asarray(affine, np.float64))


def realign(face: AlignedFace, face_type: FaceType | str, size: int) -> tuple[np.ndarray, FaceMeta]:
    """Re-cut an existing aligned face to another face type and/or size, from the aligned image alone.

    The source frame is not needed: the new crop is warped from the old aligned image through the
    matrices in its metadata. Where the new crop reaches outside the old one (a larger face type), the
    edge pixels are replicated, so going to a larger face type than the faceset has gives no new detail.
    """
    from dataclasses import replace

    ft = FaceType.parse(face_type)
    meta = face.meta
    new_source_to_face = alignment_matrix(meta.source_landmarks, ft, size)
    old_face_to_source = np.vstack([meta.face_to_source, [0, 0, 1]])
    old_to_new = new_source_to_face @ old_face_to_source
    image = cv2.warpAffine(face.image, old_to_new, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    new_meta = replace(
        meta,
        face_type=ft,
        size=size,
        landmarks=transform_points(meta.source_landmarks, new_source_to_face),
        face_to_source=invert(new_source_to_face),
        xseg_mask=None,  # a learned mask is in the old face's pixels; it must be redone
        xseg_polygons=_warp_polygons(meta.xseg_polygons, old_to_new),
    )
    return image, new_meta


def _warp_polygons(polygons: list[dict] | None, affine: np.ndarray) -> list[dict] | None:
    if not polygons:
        return polygons
    return [
        {**poly, "points": transform_points(np.asarray(poly["points"], np.float64).reshape(-1, 2), affine).tolist()}
        for poly in polygons
    ]
