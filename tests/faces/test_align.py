"""Alignment geometry: the similarity transform, face-type padding, re-cutting an aligned face."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from doppel.core.facetype import FaceType
from doppel.faces.align import STABLE, alignment_matrix, mean_face_2d, transform_points, unit_to_face
from doppel.faces.pose import mean_face_3d


def test_mean_face_is_centred_and_symmetric():
    mean = mean_face_2d()[STABLE]
    lo, hi = mean.min(0), mean.max(0)
    assert np.isclose((hi - lo).max(), 1.0)
    assert np.allclose((lo + hi) / 2, 0.5, atol=1e-6)
    m3 = mean_face_3d()
    from doppel.faces.mesh68 import MIRROR_68

    assert np.allclose(m3[MIRROR_68] * [-1, 1, 1], m3, atol=1e-4)


@pytest.mark.parametrize("face_type", list(FaceType))
def test_alignment_undoes_rotation_scale_and_shift(face_type):
    size = 256
    canonical = transform_points(mean_face_2d(), unit_to_face(face_type, size)[:2])
    # A face in a frame: the canonical one rotated 25 degrees, scaled 1.7x, moved.
    frame_from_face = cv2.getRotationMatrix2D((128, 128), 25, 1.7)
    frame_from_face[:, 2] += [300, 140]
    in_frame = transform_points(canonical, frame_from_face)
    m = alignment_matrix(in_frame, face_type, size)
    assert np.allclose(transform_points(in_frame, m), canonical, atol=1e-3)


def test_face_types_cover_more_of_the_head_in_order():
    widths = []
    for ft in (FaceType.HALF, FaceType.MID_FULL, FaceType.FULL, FaceType.WHOLE_FACE, FaceType.HEAD):
        pts = transform_points(mean_face_2d(), unit_to_face(ft, 256)[:2])[STABLE]
        widths.append(np.ptp(pts[:, 0]))
    assert all(a > b for a, b in zip(widths, widths[1:])), widths
    # whole-face and head leave room above the brows for the forehead
    wf = transform_points(mean_face_2d(), unit_to_face(FaceType.WHOLE_FACE, 256)[:2])
    assert wf[17:27, 1].min() > 256 * 0.30
