import struct
import zlib

import cv2
import numpy as np
import pytest

from doppel.core.errors import DoppelError
from doppel.core.images import list_images, read_face, write_image
from doppel.interop.faceswap import import_faceswap, read_faceswap_header
from doppel.media.reader import read_frames
from tests.conftest import DST_CLIP


def _faceswap_png(image: np.ndarray, header: dict | str) -> bytes:
    """A PNG with a Faceswap-style iTXt header (keyword 'faceswap', str(dict)), as Faceswap 2.x writes it."""
    png = cv2.imencode(".png", image)[1].tobytes()
    body = b"faceswap" + b"\0\0\0\0\0" + str(header).encode()
    chunk = struct.pack(">I", len(body)) + b"iTXt" + body + struct.pack(">I", zlib.crc32(b"iTXt" + body) & 0xFFFFFFFF)
    split = png.find(b"IDAT") - 4
    return png[:split] + chunk + png[split:]


@pytest.fixture(scope="module")
def frames_and_landmarks(data_dir, tmp_path_factory):
    """Frames 10 and 14 of the destination clip, and doppel-detected landmarks of frame 10."""
    from doppel.faces.extract import ExtractOptions, extract

    tmp = tmp_path_factory.mktemp("fs")
    frames = {}
    for f in read_frames(DST_CLIP):
        if f.index in (10, 14):
            frames[f.index] = f.image
        if f.index >= 14:
            break
    single = tmp / "frame10.png"
    write_image(single, frames[10])
    extract(single, tmp / "faces", ExtractOptions(size=256), progress=False)
    meta = read_face(list_images(tmp / "faces")[0]).meta
    return frames, np.asarray(meta.source_landmarks, np.float64)


def _header(landmarks, source_filename, is_video=True):
    x0, y0 = landmarks.min(axis=0)
    x1, y1 = landmarks.max(axis=0)
    return {
        "alignments": {"x": int(x0), "y": int(y0), "w": int(x1 - x0), "h": int(y1 - y0),
                       "landmarks_xy": landmarks.tolist(), "mask": {"components": {"mask": b"x\x9c\x03\x00\x00\x00\x00\x01",
                       "affine_matrix": [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]], "interpolator": 2, "stored_size": 128}},
                       "identity": {}},
        "source": {"alignments_version": 2.3, "original_filename": "dst_woman_b_000011_0.png", "face_index": 0,
                   "source_filename": source_filename, "source_is_video": is_video, "source_frame_dims": (512, 512)},
    }


def test_import_faceswap_from_video(frames_and_landmarks, tmp_path):
    from doppel.faces.align import align_face

    frames, landmarks = frames_and_landmarks
    src = tmp_path / "fs_faces"
    src.mkdir()
    fs_crop = np.zeros((256, 256, 3), np.uint8)  # Faceswap's own crop is not used: doppel re-cuts from the frame
    (src / "dst_woman_b_000011_0.png").write_bytes(_faceswap_png(fs_crop, _header(landmarks, "dst_woman_b_000011.png")))
    assert read_faceswap_header((src / "dst_woman_b_000011_0.png").read_bytes())["source"]["face_index"] == 0
    result = import_faceswap(src, tmp_path / "out", DST_CLIP, size=256, progress=False)
    assert result.converted == 1 and not result.refused
    face = read_face(tmp_path / "out" / "dst_woman_b_000011_0.jpg")
    assert face.meta.source.frame_index == 10 and face.meta.detector == "faceswap"
    np.testing.assert_allclose(face.meta.source_landmarks, landmarks, atol=0.01)
    right, _ = align_face(frames[10], landmarks, "whole-face", 256)
    wrong, _ = align_face(frames[14], landmarks, "whole-face", 256)
    assert cv2.PSNR(face.image, right) > 35  # cut from frame index 10 (Faceswap's frame 11)
    assert cv2.PSNR(face.image, right) > cv2.PSNR(face.image, wrong) + 3


def test_import_faceswap_refuses_code_and_missing_frames(frames_and_landmarks, tmp_path):
    _, landmarks = frames_and_landmarks
    src = tmp_path / "fs_faces"
    src.mkdir()
    marker = tmp_path / "pwned"
    evil = _faceswap_png(np.zeros((8, 8, 3), np.uint8), f"__import__('os').system('touch {marker}')")
    (src / "evil.png").write_bytes(evil)
    (src / "late.png").write_bytes(_faceswap_png(np.zeros((8, 8, 3), np.uint8), _header(landmarks, "dst_woman_b_009999.png")))
    result = import_faceswap(src, tmp_path / "out", DST_CLIP, size=128, progress=False)
    assert not marker.exists()
    reasons = dict(result.refused)
    assert "unreadable Faceswap header" in reasons["evil.png"] and "not in" in reasons["late.png"]
    with pytest.raises(DoppelError, match="frames not found"):
        import_faceswap(src, tmp_path / "out", tmp_path / "missing.mp4", progress=False)


def _plain_header(**changes):
    landmarks = np.random.default_rng(0).uniform(100, 300, (68, 2))
    header = _header(landmarks, "dst_woman_b_000011.png")
    for key, value in changes.items():
        outer, _, inner = key.partition(".")
        if inner:
            header[outer][inner] = value
        else:
            header[outer] = value
    return header


@pytest.mark.parametrize("changes", [{"source": [1, 2]}, {"alignments": "x"}, {"source.face_index": "first"},
                                     {"alignments.landmarks_xy": [[1, 2]] * 12}, {"alignments.x": float("nan")},
                                     {"source.source_filename": 5}])
def test_faceswap_header_with_wrong_types_is_one_line_naming_the_file(tmp_path, changes):
    from doppel.interop.faceswap import parse_face

    path = tmp_path / "face.png"
    path.write_bytes(_faceswap_png(np.zeros((8, 8, 3), np.uint8), _plain_header(**changes)))
    with pytest.raises(DoppelError) as e:
        parse_face(path)
    assert "face.png" in e.value.one_line() and "\n" not in e.value.one_line()
