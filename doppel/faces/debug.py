"""Debug drawings: detector boxes, the 68 points and the pose, on a copy of the frame."""

from __future__ import annotations

import cv2
import numpy as np

from doppel.faces.landmarks import Face


def draw_faces(image: np.ndarray, faces: list[Face]) -> np.ndarray:
    out = image.copy()
    thick = max(1, round(max(image.shape[:2]) / 500))
    for i, face in enumerate(faces):
        x0, y0, x1, y1 = (int(round(v)) for v in face.box)
        cv2.rectangle(out, (x0, y0), (x1, y1), (0, 255, 0), thick)
        for x, y in face.landmarks68:
            cv2.circle(out, (int(round(x)), int(round(y))), thick + 1, (0, 0, 255), -1)
        label = f"{i} {face.detector} {face.score:.2f} y{face.pose.yaw:+.0f} p{face.pose.pitch:+.0f} r{face.pose.roll:+.0f}"
        cv2.putText(out, label, (x0, max(12, y0 - 4)), cv2.FONT_HERSHEY_SIMPLEX, 0.4 * thick, (0, 255, 255), thick)
    return out
