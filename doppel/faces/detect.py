"""The face detectors by name (`create_detector`), behind one small interface (doppel/faces/detection.py):
`detect(image_bgr) -> list[Detection]`.

- "mediapipe": BlazeFace full-range (CPU default, fast, good on small and multiple faces).
- "mtcnn": MTCNN in plain PyTorch (batched, runs on CUDA when present); see mtcnn.py.
- "haar": OpenCV's Haar cascade, a fallback that needs nothing else. It has many false positives,
  which the landmark stage rejects (the mesh finds no face in them).
"""

from __future__ import annotations

import os

import cv2
import numpy as np

from doppel.core.errors import DoppelError
from doppel.faces.detection import Detection, Detector
from doppel.faces.processes import note_native_graphs

os.environ.setdefault("GLOG_minloglevel", "2")  # mediapipe's C++ log lines are noise for users

DETECTORS = ("mediapipe", "mtcnn", "haar")
TORCH_DETECTORS = ("mtcnn",)  # torch's thread pools do not survive a fork: extraction keeps threads for these


class MediapipeDetector(Detector):
    name = "mediapipe"

    def __init__(self, min_score: float = 0.5):
        import mediapipe as mp

        note_native_graphs()
        self._model = mp.solutions.face_detection.FaceDetection(model_selection=1, min_detection_confidence=min_score)

    def detect(self, image: np.ndarray) -> list[Detection]:
        h, w = image.shape[:2]
        result = self._model.process(cv2.cvtColor(image, cv2.COLOR_BGR2RGB))
        found = []
        for det in result.detections or []:
            rb = det.location_data.relative_bounding_box
            box = (rb.xmin * w, rb.ymin * h, (rb.xmin + rb.width) * w, (rb.ymin + rb.height) * h)
            kps = det.location_data.relative_keypoints
            # BlazeFace keypoints: right eye, left eye, nose tip, mouth centre, right ear, left ear.
            points = np.array([[k.x * w, k.y * h] for k in kps], np.float32) if kps else None
            found.append(Detection(box, float(det.score[0]), points))
        return found

    def close(self) -> None:
        self._model.close()


class HaarDetector(Detector):
    name = "haar"

    def __init__(self, min_score: float = 0.5):
        path = os.path.join(cv2.data.haarcascades, "haarcascade_frontalface_default.xml")
        self._model = cv2.CascadeClassifier(path)
        if self._model.empty():
            raise DoppelError("OpenCV's Haar cascade is missing", path, hint="Reinstall opencv-python-headless")

    def detect(self, image: np.ndarray) -> list[Detection]:
        gray = cv2.equalizeHist(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY))
        min_side = max(24, min(gray.shape) // 40)
        boxes, _levels, weights = self._model.detectMultiScale3(
            gray, scaleFactor=1.1, minNeighbors=5, minSize=(min_side, min_side), outputRejectLevels=True
        )
        found = []
        for (x, y, bw, bh), weight in zip(np.asarray(boxes).reshape(-1, 4), np.asarray(weights).reshape(-1)):
            # Haar boxes are tight around eyes-to-mouth; grow them a little to cover the face like the others.
            found.append(Detection((x, y - 0.05 * bh, x + bw, y + 1.05 * bh), float(1 / (1 + np.exp(-weight))), None))
        return found


def create_detector(name: str, device=None, min_score: float = 0.5) -> Detector:
    """The detector called `name` (one of DETECTORS)."""
    name = name.lower()
    if name == "mediapipe":
        return MediapipeDetector(min_score)
    if name == "haar":
        return HaarDetector(min_score)
    if name == "mtcnn":
        from doppel.faces.mtcnn import MTCNNDetector

        return MTCNNDetector(device=device, min_score=min_score)
    raise DoppelError(f"unknown detector '{name}'", hint=f"Use one of: {', '.join(DETECTORS)}")
