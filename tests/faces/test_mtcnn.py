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
