"""A before/after picture of a swap: destination, result and a source face, at a few frames.

Rows: the destination's face region, the same region of the result, a source face of a similar
head pose. Columns: frames spread over the clip. The picture stays on the user's machine (it is made
from their clips); doppel ships no such picture.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from doppel.core.alignments import Alignments
from doppel.core.atomic import atomic_path
from doppel.core.images import list_images, read_face
from doppel.core.metadata import read_metadata
from doppel.media.reader import read_frames

TILE = 192


def _face_box(rect, shape, grow: float = 0.6) -> tuple[int, int, int, int]:
    """A square around the face rectangle, grown so the forehead, hair line and chin show."""
    x0, y0, x1, y1 = rect
    side = max(x1 - x0, y1 - y0) * (1 + grow)
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    h, w = shape[:2]
    side = min(side, w, h)
    left = int(np.clip(cx - side / 2, 0, w - side))
    top = int(np.clip(cy - side / 2, 0, h - side))
    return left, top, int(side), int(side)


def _tile(image: np.ndarray, box) -> np.ndarray:
    x, y, w, h = box
    return cv2.resize(image[y : y + h, x : x + w], (TILE, TILE), interpolation=cv2.INTER_AREA)


def _label(tile: np.ndarray, text: str) -> np.ndarray:
    out = tile.copy()
    cv2.putText(out, text, (6, 18), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 0), 3, cv2.LINE_AA)
    cv2.putText(out, text, (6, 18), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (255, 255, 255), 1, cv2.LINE_AA)
    return out


def before_after_strip(dst_video: str | Path, result_video: str | Path, dst_aligned: str | Path, src_aligned: str | Path,
                       out: str | Path, columns: int = 4) -> Path:
    """Write the picture to `out` (JPEG or PNG) and return its path."""
    index = Alignments.load(Path(dst_aligned) / "alignments.json")
    faces_dir = Path(dst_aligned)
    with_faces = [e for e in index.frames if e.faces and (faces_dir / e.faces[0]).exists()]
    if not with_faces:
        raise ValueError("no destination frame has a face")
    picks = [with_faces[int(round(i))] for i in np.linspace(0, len(with_faces) - 1, columns + 2)[1:-1]]
    wanted = {e.index: read_metadata(faces_dir / e.faces[0]) for e in picks}
    dst_tiles, res_tiles = {}, {}
    for video, tiles in ((dst_video, dst_tiles), (result_video, res_tiles)):
        for frame in read_frames(video):
            if frame.index in wanted:
                tiles[frame.index] = _tile(frame.image, _face_box(wanted[frame.index].source_rect, frame.image.shape))
            if frame.index >= max(wanted):
                break
    src_paths = list_images(src_aligned)
    src_yaw = np.array([read_metadata(p).pose.yaw for p in src_paths]) if src_paths else np.zeros(0)
    columns_out = []
    for i, meta in wanted.items():
        if i not in dst_tiles or i not in res_tiles:
            continue
        if len(src_paths):
            src_face = read_face(src_paths[int(np.argmin(np.abs(src_yaw - meta.pose.yaw)))]).image
            src_tile = cv2.resize(src_face, (TILE, TILE), interpolation=cv2.INTER_AREA)
        else:
            src_tile = np.zeros((TILE, TILE, 3), np.uint8)
        columns_out.append(np.vstack([_label(dst_tiles[i], f"destination {i}"), _label(res_tiles[i], "result"),
                                      _label(src_tile, "source")]))
    picture = np.hstack(columns_out)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(out) as tmp:
        if not cv2.imwrite(str(tmp), picture):
            raise OSError(f"could not write {out}")
    return out
