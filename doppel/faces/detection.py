"""What a face detector is and what it finds: the `Detector` base class every detector (detect.py,
mtcnn.py) derives from, and `Detection`."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Detection:
    box: tuple[float, float, float, float]  # x0, y0, x1, y1 in image pixels
    score: float
    points: np.ndarray | None = None  # optional 5 points (eyes, nose, mouth corners), 5x2

    @property
    def size(self) -> float:
        return max(self.box[2] - self.box[0], self.box[3] - self.box[1])

    @property
    def center(self) -> tuple[float, float]:
        return ((self.box[0] + self.box[2]) / 2, (self.box[1] + self.box[3]) / 2)


class Detector:
    """Base class: subclasses set `name` and implement `detect`."""

    name = "base"
    batched = False  # True when detect_batch runs several images in one pass (worth grouping frames for)

    def detect(self, image: np.ndarray) -> list[Detection]:
        raise NotImplementedError

    def detect_batch(self, images: list[np.ndarray]) -> list[list[Detection]]:
        """Detections of each image, in order."""
        return [self.detect(image) for image in images]

    def close(self) -> None:
        pass
