"""XSeg on real faces of one clip: label a handful, train briefly, predict the held-out ones.

Labels: one include polygon per face, the hull of its 68 landmarks with the brow line lifted 30 %
toward the hairline (`hull_polygon(meta.landmarks, 0.3)`), as `doppel xseg label` writes them.
Because aligned faces sit at nearly the same place, a fixed average mask already scores well on
them; so the held-out faces are also re-cropped with a random shift, rotation and scale (labels
warped alike), where only a model that finds the face keeps a high IoU.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest

from doppel.core.errors import DoppelError
from doppel.core.images import TRASH_DIR, list_images, read_image
from doppel.core.metadata import read_metadata, write_metadata
from doppel.masks.xseg import (
    XSegConfig,
    XSegTrainOptions,
    apply_xseg,
    decode_mask,
    face_mask,
    hull_polygon,
    iou,
    load_xseg,
    polygons_to_mask,
    predict_masks,
    remove_xseg,
    train_xseg,
)
from doppel.masks.xseg_io import WEIGHTS_FILE

EVERY = 5  # every 5th face is labelled for training; the rest are held out


def _label(meta) -> np.ndarray:
    return polygons_to_mask([hull_polygon(meta.landmarks, 0.3)], meta.size)


@pytest.fixture(scope="module")
def split(src_faces, tmp_path_factory) -> tuple[Path, list[Path]]:
    """A training folder with labelled copies of every 5th face; the other faces, untouched, held out."""
    faces = list_images(src_faces)
    assert len(faces) >= 20, "the source faceset is too small for this test"
    train = tmp_path_factory.mktemp("xseg_train")
    for f in faces[::EVERY]:
        shutil.copy(f, train / f.name)
        meta = read_metadata(train / f.name)
        meta.xseg_polygons = [hull_polygon(meta.landmarks, 0.3)]
        write_metadata(train / f.name, meta)
    held = [f for i, f in enumerate(faces) if i % EVERY]
    return train, held


@pytest.fixture(scope="module")
def trained(split, tmp_path_factory) -> Path:
    train, _ = split
    model_dir = tmp_path_factory.mktemp("xseg_model")
    result = train_xseg(train, model_dir, XSegTrainOptions(iterations=250, batch_size=8), XSegConfig(64, 8, 3), progress=False)
    assert result.iteration == 250 and result.labelled_faces == len(list_images(train))
    return model_dir


def test_polygons_include_then_exclude():
    square = {"kind": "include", "points": [[10, 10], [50, 10], [50, 50], [10, 50]]}
    hole = {"kind": "exclude", "points": [[20, 20], [40, 20], [40, 40], [20, 40]]}
    m = polygons_to_mask([square, hole], 64)
    assert m[15, 15] == 1 and m[30, 30] == 0 and m[5, 5] == 0
    assert 1500 - 400 - 100 < m.sum() < 1600 - 400 + 100
    # Order matters: an include after the exclude fills the hole again.
    assert polygons_to_mask([square, hole, {**hole, "kind": "include"}], 64)[30, 30] == 1


def test_predicts_held_out_faces(trained, split):
    _, held = split
    model = load_xseg(trained)
    metas = [read_metadata(f) for f in held]
    preds = predict_masks(model, [read_image(f) for f in held])
    aligned = [iou(p, _label(m)) for p, m in zip(preds, metas)]
    assert np.mean(aligned) >= 0.8, f"held-out IoU {np.mean(aligned):.3f}"

    rng = np.random.default_rng(1)
    prior = np.mean([_label(read_metadata(f)) for f in list_images(split[0])], axis=0)
    images, labels = [], []
    for f, meta in zip(held, metas):
        s = meta.size
        m = cv2.getRotationMatrix2D((s / 2, s / 2), rng.uniform(-20, 20), rng.uniform(0.8, 1.1))
        m[:, 2] += rng.uniform(-0.12, 0.12, 2) * s
        images.append(cv2.warpAffine(read_image(f), m, (s, s), borderMode=cv2.BORDER_REFLECT))
        labels.append(cv2.warpAffine(_label(meta), m, (s, s)))
    moved = [iou(p, lab) for p, lab in zip(predict_masks(model, images), labels)]
    baseline = [iou(prior, lab) for lab in labels]
    assert np.mean(moved) >= 0.8, f"re-cropped held-out IoU {np.mean(moved):.3f}"
    assert np.mean(moved) > np.mean(baseline) + 0.1, f"model {np.mean(moved):.3f} vs fixed mask {np.mean(baseline):.3f}"


def test_apply_resume_and_remove(trained, split, tmp_path):
    _, held = split
    faces = tmp_path / "faces"
    faces.mkdir()
    for f in held[:6]:
        shutil.copy(f, faces / f.name)
    first = apply_xseg(trained, faces, progress=False)
    assert (first.applied, first.skipped) == (6, 0)
    assert apply_xseg(trained, faces, progress=False).applied == 0  # resumed run: nothing to redo
    meta = read_metadata(list_images(faces)[0])
    stored = decode_mask(meta.xseg_mask, meta.size)
    assert iou(stored, _label(meta)) >= 0.7
    assert np.array_equal(face_mask(meta, meta.size), stored)

    meta.xseg_polygons = [hull_polygon(meta.landmarks, 0.3)]
    write_metadata(list_images(faces)[0], meta)
    assert remove_xseg(faces) == 6
    after = read_metadata(list_images(faces)[0])
    assert after.xseg_mask is None and after.xseg_polygons  # labels survive a plain remove
    assert remove_xseg(faces, labels=True) == 1
    assert read_metadata(list_images(faces)[0]).xseg_polygons is None
    backups = list((faces / TRASH_DIR).glob("xseg-labels-*.json"))
    assert len(backups) == 1 and list_images(faces)[0].name in backups[0].read_text()


def test_tampered_weights_refused(trained, tmp_path):
    copy = tmp_path / "model"
    shutil.copytree(trained, copy)
    data = bytearray((copy / WEIGHTS_FILE).read_bytes())
    data[-10] ^= 0xFF
    (copy / WEIGHTS_FILE).write_bytes(bytes(data))
    with pytest.raises(DoppelError, match="checksum"):
        load_xseg(copy)
    with pytest.raises(DoppelError, match="no XSeg model"):
        load_xseg(tmp_path / "nothing")


def test_train_without_labels_is_a_clear_error(src_faces, tmp_path):
    with pytest.raises(DoppelError, match="no labelled faces"):
        train_xseg(src_faces, tmp_path / "m", XSegTrainOptions(iterations=1), progress=False)
