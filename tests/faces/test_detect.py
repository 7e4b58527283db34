"""Detectors and the face analyzer on real photos: group counts, rotation retry, pose signs."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from doppel.core.images import read_image
from doppel.media.reader import read_frames

# Faces visible in each photo, counted by eye.
GROUPS = {
    "faceapi_bbt_groups/bbt1.jpg": 4,
    "faceapi_bbt_groups/bbt2.jpg": 3,  # the hardest: a third face half out of frame at the edge
    "faceapi_bbt_groups/bbt3.jpg": 5,
    "faceapi_bbt_groups/bbt4.jpg": 6,
    "faceapi_bbt_groups/bbt5.jpg": 5,
    "face_recognition_groups/examples_knn_examples_test_obama_and_biden.jpg": 3,  # a small child at the edge
    "face_recognition_groups/examples_knn_examples_test_kit_with_rose.jpg": 2,
    "dlib_voc/2008_001322.jpg": 3,
    "dlib_voc/2009_004587.jpg": 2,
    "dlib_voc/Tom_Cruise_avp_2014_4.jpg": 1,
    "dlib_voc/bald_guys.jpg": 24,  # a collage; most faces are small in a 2000 px image
}
HARD = {"faceapi_bbt_groups/bbt2.jpg", "dlib_voc/bald_guys.jpg"}


@pytest.mark.parametrize("name", sorted(GROUPS))
def test_group_photo_face_counts(analyzer, data_dir, name):
    faces = analyzer.analyze(read_image(data_dir / "multiface" / name), tiles=True)
    tolerance = 1 if name in HARD else 0
    assert abs(len(faces) - GROUPS[name]) <= tolerance, f"{name}: {len(faces)} faces, expected {GROUPS[name]}"


def _astronaut(data_dir):
    return read_image(data_dir / "identities" / "skimage" / "astronaut.png")


@pytest.mark.parametrize("code", [cv2.ROTATE_90_CLOCKWISE, cv2.ROTATE_180, cv2.ROTATE_90_COUNTERCLOCKWISE])
def test_rotated_image_is_found_by_rotation_retry(analyzer, data_dir, code):
    upright = analyzer.analyze(_astronaut(data_dir))
    rotated = cv2.rotate(_astronaut(data_dir), code)
    faces = analyzer.analyze(rotated)
    assert len(faces) == 1
    expected_roll = {cv2.ROTATE_90_CLOCKWISE: 90, cv2.ROTATE_180: 180, cv2.ROTATE_90_COUNTERCLOCKWISE: -90}[code]
    delta = (faces[0].pose.roll - upright[0].pose.roll - expected_roll + 180) % 360 - 180
    assert abs(delta) < 10, (faces[0].pose, upright[0].pose)


def test_rotation_retry_off_finds_nothing_upside_down(data_dir):
    from doppel.faces.landmarks import FaceAnalyzer

    with FaceAnalyzer(rotation_retry=False) as plain:
        assert plain.analyze(cv2.rotate(_astronaut(data_dir), cv2.ROTATE_180)) == []


def _turned_frame(data_dir):
    """A frame of the fast-motion clip where the head is turned about 20 degrees."""
    return next(f.image for f in read_frames(data_dir / "clips" / "man_f_fast_motion.mp4", start=40) if f.index == 40)


def test_mirrored_face_flips_yaw(analyzer, data_dir):
    frame = _turned_frame(data_dir)
    face = analyzer.analyze(frame)[0]
    pose = face.pose
    mirrored = analyzer.analyze(np.ascontiguousarray(frame[:, ::-1]))[0].pose
    assert abs(pose.yaw) > 10
    # documented sign: yaw > 0 when the nose points to the image's right (nose tip right of the jaw's middle)
    lm = face.landmarks68
    assert np.sign(pose.yaw) == np.sign(lm[30, 0] - (lm[0, 0] + lm[16, 0]) / 2)
    assert np.sign(pose.yaw) == -np.sign(mirrored.yaw)
    assert abs(pose.yaw + mirrored.yaw) < 5
    assert abs(pose.pitch - mirrored.pitch) < 5


def test_frontal_face_reads_near_zero(analyzer, data_dir):
    frame = next(iter(read_frames(data_dir / "clips" / "src_woman_a.mp4")))
    pose = analyzer.analyze(frame.image)[0].pose
    assert abs(pose.yaw) < 8 and abs(pose.pitch) < 10 and abs(pose.roll) < 5, pose


def test_landmarks68_sit_on_the_face(analyzer, data_dir):
    face = analyzer.analyze(_astronaut(data_dir))[0]
    lm = face.landmarks68
    x0, y0, x1, y1 = face.box
    assert (lm[36:48, 0] > x0).all() and (lm[36:48, 0] < x1).all()
    assert lm[36:42, 0].mean() < lm[42:48, 0].mean()  # iBUG right eye is on the image left
    assert lm[17:27, 1].mean() < lm[36:48, 1].mean() < lm[30, 1] < lm[48:68, 1].mean() < lm[8, 1]


def test_haar_fallback_finds_the_astronaut(data_dir):
    from doppel.faces.landmarks import FaceAnalyzer

    with FaceAnalyzer(detector="haar") as haar, FaceAnalyzer() as default:
        faces = haar.analyze(_astronaut(data_dir))
        reference = default.analyze(_astronaut(data_dir))[0]
    assert len(faces) == 1 and faces[0].detector == "haar"
    assert np.abs(faces[0].landmarks68 - reference.landmarks68).mean() < 3


def test_tight_face_crops_are_found(analyzer, data_dir):
    from doppel.core.images import list_images

    crops = list_images(data_dir / "identities" / "faceapi_bbt" / "sheldon")
    assert len(crops) == 5
    for path in crops:  # 150 px greyscale crops filled by the face: found through the padded retry
        faces = analyzer.analyze(read_image(path))
        assert len(faces) == 1, path.name
        assert np.ptp(faces[0].landmarks68[:, 0]) > 60
