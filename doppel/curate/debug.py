"""`draw_debug`: copies of the faces with their landmarks, hull and pose drawn on, to check an
extraction by eye. The copies are plain images in another folder; the faceset is not touched."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from doppel.core.images import write_image
from doppel.curate.faceset import map_faces, scan_faceset
from doppel.core import face_mask as lm

_GROUPS = (
    (lm.JAW, (255, 200, 0), False),
    (lm.RIGHT_BROW, (0, 200, 255), False),
    (lm.LEFT_BROW, (0, 200, 255), False),
    (lm.NOSE, (0, 255, 0), False),
    (lm.RIGHT_EYE, (255, 0, 255), True),
    (lm.LEFT_EYE, (255, 0, 255), True),
    (slice(48, 60), (0, 0, 255), True),
    (slice(60, 68), (0, 128, 255), True),
)


def draw_landmarks(image: np.ndarray, landmarks: np.ndarray, text: str = "") -> np.ndarray:
    out = image.copy()
    pts = np.asarray(landmarks, np.float32).reshape(-1, 2)
    scale = max(1, out.shape[0] // 256)
    hull = cv2.convexHull(np.round(pts).astype(np.int32))
    cv2.polylines(out, [hull], True, (255, 255, 255), scale, cv2.LINE_AA)
    for group, colour, closed in _GROUPS:
        g = np.round(pts[group]).astype(np.int32)
        cv2.polylines(out, [g], closed, colour, scale, cv2.LINE_AA)
    for x, y in pts:
        cv2.circle(out, (int(round(x)), int(round(y))), scale, (0, 255, 255), -1, cv2.LINE_AA)
    if text:
        font = max(0.25, out.shape[1] / 600)  # the text fits the width at any face size
        cv2.putText(out, text, (3, int(28 * font) + 2), cv2.FONT_HERSHEY_SIMPLEX, font, (255, 255, 255), 1, cv2.LINE_AA)
    return out


def draw_debug(folder: str | Path, out_dir: str | Path, progress: bool = True) -> tuple[int, tuple[tuple[Path, str], ...]]:
    """Write a debug copy of every face into `out_dir`. Returns (written, problems)."""
    folder, out_dir = Path(folder), Path(out_dir)
    scan = scan_faceset(folder)

    def one(face) -> None:
        p = face.meta.pose
        text = f"yaw {p.yaw:+.0f} pitch {p.pitch:+.0f} roll {p.roll:+.0f}"
        write_image(out_dir / f"{face.path.stem}.jpg", draw_landmarks(face.image, face.meta.landmarks, text), jpeg_quality=90)

    done, failed = map_faces(scan.faces, one, "drawing landmarks", progress)
    return len(done), tuple(scan.problems()) + tuple(failed)
