"""MTCNN in plain torch (weights from the facenet-pytorch wheel, package never imported)."""

from __future__ import annotations

import sys

import cv2
import numpy as np
import torch

from doppel.core.images import read_image
from doppel.faces.mtcnn import MTCNNDetector, nms


def test_mtcnn_finds_the_astronaut_with_five_points(data_dir):
    image = cv2.resize(read_image(data_dir / "identities" / "skimage" / "astronaut.png"), (256, 256), interpolation=cv2.INTER_AREA)
    found = MTCNNDetector(device="cpu").detect(image)
    assert len(found) == 1 and found[0].score > 0.95
    from doppel.faces.landmarks import FaceAnalyzer

    with FaceAnalyzer() as reference, FaceAnalyzer(detector="mtcnn", device="cpu") as analyzer:
        lm = reference.analyze(image)[0].landmarks68
        face = analyzer.analyze(image)[0]
    eyes = np.array([lm[36:42].mean(0), lm[42:48].mean(0)])
    assert np.linalg.norm(found[0].points[:2] - eyes, axis=1).max() < 6
    x0, y0, x1, y1 = found[0].box
    assert x0 < lm[36, 0] and lm[45, 0] < x1 and y0 < lm[19, 1] and lm[57, 1] < y1
    assert face.detector == "mtcnn" and np.abs(face.landmarks68 - lm).mean() < 2
    assert "facenet_pytorch" not in sys.modules and "torchvision" not in sys.modules


def test_nms_matches_a_brute_force_greedy_pass():
    rng = np.random.default_rng(1)
    xy = rng.uniform(0, 100, (300, 2))
    wh = rng.uniform(5, 40, (300, 2))
    boxes = torch.tensor(np.hstack([xy, xy + wh]), dtype=torch.float32)
    scores = torch.tensor(rng.uniform(0, 1, 300), dtype=torch.float32)
    kept = nms(boxes, scores, 0.5).tolist()

    def iou(a, b):
        iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]) + 1)
        ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]) + 1)
        area = lambda r: (r[2] - r[0] + 1) * (r[3] - r[1] + 1)
        return iw * ih / (area(a) + area(b) - iw * ih)

    expected = []
    for i in scores.argsort(descending=True).tolist():
        if all(iou(boxes[i].tolist(), boxes[j].tolist()) <= 0.5 for j in expected):
            expected.append(i)
    assert kept == expected and 10 < len(kept) < 300


def _small_frames(data_dir, count=4, side=256):
    from doppel.media.reader import read_frames

    frames = [f.image for _, f in zip(range(count), read_frames(data_dir / "clips" / "dst_woman_b.mp4", every_n=90))]
    return [cv2.resize(f, (side, side), interpolation=cv2.INTER_AREA) for f in frames]


def test_mtcnn_batch_matches_one_frame_at_a_time(data_dir):
    frames = _small_frames(data_dir)
    frames.append(cv2.resize(frames[0], (320, 240)))  # another size: its own pass, result in its place
    detector = MTCNNDetector(device="cpu")
    batched = detector.detect_batch(frames)
    assert len(batched) == len(frames) and all(len(found) == 1 for found in batched)
    for image, found in zip(frames, batched):
        alone = detector.detect(image)
        assert len(alone) == 1
        assert np.abs(np.array(alone[0].box) - np.array(found[0].box)).max() < 0.5
        assert abs(alone[0].score - found[0].score) < 1e-3
    assert batched[-1][0].box[2] > 256 * 320 / 256 * 0.5  # mapped to its own (wider) frame


def test_extraction_batches_mtcnn_across_frames(data_dir, tmp_path, monkeypatch):
    from doppel.core.images import list_images
    from doppel.core.metadata import read_metadata
    from doppel.faces.extract import ExtractOptions, extract

    folder = tmp_path / "frames"
    folder.mkdir()
    for i, image in enumerate(_small_frames(data_dir)):
        cv2.imwrite(str(folder / f"{i:03d}.png"), image)
    sizes = []
    real = MTCNNDetector.detect_batch

    def spy(self, images):
        sizes.append(len(images))
        return real(self, images)

    monkeypatch.setattr(MTCNNDetector, "detect_batch", spy)
    result = extract(folder, tmp_path / "out", ExtractOptions(size=64, detector="mtcnn", device="cpu"), progress=False)
    assert result.faces_written == 4 and result.frames_without_face == 0
    assert sizes[0] == 4  # the four frames went through the detector in one pass
    assert {read_metadata(p).detector for p in list_images(tmp_path / "out")} == {"mtcnn"}
