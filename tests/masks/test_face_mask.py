"""The one mask rule: training, merge, XSeg and the studio see the same mask for a face."""

from __future__ import annotations

import numpy as np

from doppel.core.face_mask import face_mask, landmark_mask
from doppel.core.facetype import FaceType
from doppel.core.images import list_images, read_face
from doppel.core.metadata import read_metadata, write_metadata
from doppel.masks.xseg_labels import encode_mask
from doppel.train.faceset import load_face


def _iou(a, b):
    a, b = a > 0.5, b > 0.5
    return (a & b).sum() / max((a | b).sum(), 1)


def test_training_uses_the_rule_with_the_forehead(dst_faces):
    path = list_images(dst_faces)[0]
    meta = read_metadata(path)
    _, train_mask, _, _ = load_face(read_face(path), 128, FaceType.WHOLE_FACE)
    rule = face_mask(meta, 128)
    assert _iou(train_mask, rule) > 0.97
    plain_hull = landmark_mask(np.asarray(meta.landmarks) * (128 / meta.size), 128, FaceType.FULL)
    # The whole-face rule covers more than the hull that stops at the brows: the forehead.
    assert (rule > 0.5).sum() > 1.1 * (plain_hull > 0.5).sum()
    rows = np.nonzero((rule > 0.5).any(1))[0]
    brow_top = (np.asarray(meta.landmarks)[17:27, 1] * 128 / meta.size).min()
    assert rows.min() < brow_top - 5


def test_the_forehead_rises_along_the_face_and_stays_off_the_temples(dst_faces):
    """Brows are lifted up the face (chin to nose bridge), most between them: the mask's top reaches
    the forehead, but above the brows it stays inside the face's width (no hair at the temples)."""
    from doppel.core.face_mask import FOREHEAD, hull_points

    for path in list_images(dst_faces)[:5]:
        lm = np.asarray(read_metadata(path).landmarks, np.float32)[:, :2]
        pts = hull_points(lm, FOREHEAD[FaceType.WHOLE_FACE])
        lifted, brows = pts[68:], lm[17:27]
        up = (lm[27] - lm[8]) / np.linalg.norm(lm[27] - lm[8])
        rise = (lifted - brows) @ up
        height = float(np.linalg.norm(lm[27] - lm[8]))
        assert rise[4:6].min() > 0.3 * height  # the middle of the forehead
        assert rise[[0, 9]].max() < 0.5 * rise[4:6].min()  # less at the temples
        across = np.array([up[1], -up[0]])  # the face's horizontal axis
        jaw = lm[0:17] @ across
        side = lifted @ across
        assert side.min() >= jaw.min() - 1 and side.max() <= jaw.max() + 1


def test_a_stored_xseg_mask_wins_everywhere(dst_faces, tmp_path):
    src = list_images(dst_faces)[1]
    path = tmp_path / src.name
    path.write_bytes(src.read_bytes())
    meta = read_metadata(path)
    square = np.zeros((meta.size, meta.size), np.float32)
    square[meta.size // 4 : meta.size * 3 // 4, meta.size // 4 : meta.size * 3 // 4] = 1.0
    meta.xseg_mask = encode_mask(square)
    write_metadata(path, meta)
    _, train_mask, _, _ = load_face(read_face(path), 128, FaceType.WHOLE_FACE)
    rule = face_mask(read_metadata(path), 128)
    expected = np.zeros((128, 128), np.float32)
    expected[32:96, 32:96] = 1.0
    assert _iou(rule, expected) > 0.95
    assert _iou(train_mask, expected) > 0.95
