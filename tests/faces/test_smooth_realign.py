"""Temporal smoothing (measured on a real still-headed clip) and re-cutting faces from their metadata."""

from __future__ import annotations

import numpy as np
import pytest

from doppel.core.images import list_images, read_face
from doppel.core.metadata import read_metadata
from doppel.faces.align import realign
from doppel.faces.extract import ExtractOptions, extract


def _jitter(folder) -> float:
    lm = np.stack([read_metadata(p).source_landmarks for p in list_images(folder)]).astype(np.float64)
    width = np.ptp(lm[:, :, 0], axis=1).mean()
    return float(np.linalg.norm(lm[1:-1] - (lm[:-2] + lm[2:]) / 2, axis=-1).mean() / width)


def test_smoothing_reduces_landmark_jitter_on_a_still_head(data_dir, tmp_path):
    clip = data_dir / "clips" / "man_h_glasses.mp4"
    extract(clip, tmp_path / "raw", ExtractOptions(size=64, max_frames=60), progress=False)
    extract(clip, tmp_path / "smooth", ExtractOptions(size=64, max_frames=60, smooth=True), progress=False)
    raw, smooth = _jitter(tmp_path / "raw"), _jitter(tmp_path / "smooth")
    assert smooth < 0.6 * raw, (raw, smooth)
    # smoothing must not drag the face away from where it is
    a = np.stack([read_metadata(p).source_landmarks for p in list_images(tmp_path / "raw")])
    b = np.stack([read_metadata(p).source_landmarks for p in list_images(tmp_path / "smooth")])
    assert np.linalg.norm(a - b, axis=-1).mean() < 0.02 * np.ptp(a[:, :, 0], axis=1).mean()


@pytest.fixture(scope="module")
def astronaut_faces(data_dir, tmp_path_factory):
    photo = data_dir / "identities" / "skimage" / "astronaut.png"
    out = tmp_path_factory.mktemp("astronaut")
    extract(photo, out / "wf256", ExtractOptions(size=256), progress=False)
    extract(photo, out / "f128", ExtractOptions(size=128, face_type="full"), progress=False)
    return out


def test_realign_to_a_smaller_face_type_matches_a_fresh_extraction(astronaut_faces):
    wide = read_face(astronaut_faces / "wf256" / "astronaut_0.jpg")
    fresh = read_face(astronaut_faces / "f128" / "astronaut_0.jpg")
    image, meta = realign(wide, "full", 128)
    assert image.shape == (128, 128, 3) and meta.size == 128 and meta.face_type.value == "full"
    assert np.abs(meta.landmarks - fresh.meta.landmarks).max() < 0.05
    assert np.allclose(meta.face_to_source, fresh.meta.face_to_source, atol=1e-3)
    assert np.abs(image.astype(float) - fresh.image).mean() < 6


def test_realign_to_a_larger_face_type_replicates_edges(astronaut_faces):
    tight = read_face(astronaut_faces / "f128" / "astronaut_0.jpg")
    image, meta = realign(tight, "head", 128)
    assert meta.face_type.value == "head"
    # outside the old crop there is no new detail: a corner takes the old image's nearest edge pixel
    to_old = np.vstack([tight.meta.source_to_face, [0, 0, 1]]) @ np.vstack([meta.face_to_source, [0, 0, 1]])
    x, y = np.clip(to_old[:2] @ [0.5, 0.5, 1], 0, 127).round().astype(int)
    assert (x in (0, 127)) or (y in (0, 127)), "the head crop should reach outside the full-face crop"
    assert np.abs(image[0, 0].astype(float) - tight.image[y, x]).max() < 30
    assert image[0, 0].max() > 0 or tight.image[y, x].max() == 0
