"""Load an aligned faceset into memory at model resolution, with its training masks.

Each face is read once (image + metadata), resized to the model resolution, and its masks are
computed once: the one mask rule (doppel/core/face_mask.py: XSeg mask, else labels, else the
landmark hull with the forehead for whole-face/head models), and the eyes/mouth hull inside it. Faces of a larger face
type than the model's are re-cropped through their source landmarks.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from doppel.core.errors import DoppelError
from doppel.core.facetype import FaceType
from doppel.core.images import AlignedFace, list_images, read_face
from doppel.core.face_mask import eyes_mouth_mask, landmark_mask, stored_mask
from doppel.media.progress import progress_bar


@dataclass
class TrainingFaces:
    """Faces of one identity in memory: uint8 arrays, N x R x R (x 3 for images, BGR)."""

    folder: Path
    names: list[str]
    images: np.ndarray
    masks: np.ndarray
    em_masks: np.ndarray
    yaw: np.ndarray

    def __len__(self) -> int:
        return len(self.names)

    def subset(self, index: np.ndarray) -> "TrainingFaces":
        index = np.asarray(index, np.int64)
        return TrainingFaces(
            self.folder,
            [self.names[i] for i in index],
            self.images[index],
            self.masks[index],
            self.em_masks[index],
            self.yaw[index],
        )


def _recrop_matrix(meta, face_type: FaceType, resolution: int) -> np.ndarray:
    """2x3 matrix from the stored face's pixels to a `face_type` crop at `resolution`."""
    try:
        from doppel.faces.align import alignment_matrix
    except ImportError as e:  # the extraction stage is not installed
        raise DoppelError("cannot re-crop faces to another face type without doppel.faces.align") from e
    to_new = np.vstack([alignment_matrix(meta.source_landmarks, face_type, resolution), [0, 0, 1]])
    to_source = np.vstack([np.asarray(meta.face_to_source, np.float64), [0, 0, 1]])
    return (to_new @ to_source)[:2]


_ORDER = [FaceType.HALF, FaceType.MID_FULL, FaceType.FULL, FaceType.WHOLE_FACE, FaceType.HEAD]


def load_face(face: AlignedFace, resolution: int, face_type: FaceType) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """(image uint8 RxRx3, mask float RxR, eyes/mouth mask float RxR, yaw) for one aligned face."""
    path, meta = face.path, face.meta
    h, w = face.image.shape[:2]
    if meta.face_type == face_type:
        m = np.array([[resolution / w, 0, 0], [0, resolution / h, 0]], np.float64)
    elif _ORDER.index(meta.face_type) > _ORDER.index(face_type):
        m = _recrop_matrix(meta, face_type, resolution)
        m = m @ np.vstack([[[meta.size / w, 0, 0], [0, meta.size / h, 0]], [0, 0, 1]])  # file px -> meta px
    else:
        raise DoppelError(
            f"face type {meta.face_type.value} covers less than the model's {face_type.value}",
            path,
            hint=f"Extract with --face-type {face_type.value} or pick a model face type of {meta.face_type.value} or smaller",
        )
    interp = cv2.INTER_AREA if resolution < w else cv2.INTER_CUBIC
    image = cv2.warpAffine(face.image, m, (resolution, resolution), flags=interp, borderMode=cv2.BORDER_REPLICATE)
    lm_px = np.asarray(meta.landmarks, np.float64) * (w / max(meta.size, 1))
    landmarks = lm_px @ m[:, :2].T + m[:, 2]
    xseg = stored_mask(meta, w)
    if xseg is not None:
        mask = cv2.warpAffine(xseg, m, (resolution, resolution), flags=cv2.INTER_LINEAR)
    else:  # the same rule as face_mask(), drawn at the model's resolution for a crisp edge
        mask = landmark_mask(landmarks, resolution, face_type)
    em = eyes_mouth_mask(landmarks, resolution) * mask
    return image, mask, em, float(meta.pose.yaw)


def load_faceset(folder: str | Path, resolution: int, face_type: FaceType, progress: bool = True,
                 recursive: bool = False) -> TrainingFaces:
    """Read every aligned face of `folder` (with `recursive`, of its subfolders too; skipping the trash)
    into memory. A damaged face file (unreadable image, missing or damaged metadata) is named on stderr
    and skipped, as DeepFaceLab does; the rest load."""
    folder = Path(folder)
    paths = list_images(folder, recursive=recursive)
    if not paths:
        raise DoppelError("no face images in this folder", folder, hint="Extract faces into it with 'doppel extract'")
    n = len(paths)
    images = np.empty((n, resolution, resolution, 3), np.uint8)
    masks = np.empty((n, resolution, resolution), np.uint8)
    ems = np.empty((n, resolution, resolution), np.uint8)
    yaw = np.empty(n, np.float32)
    names: list[str] = []
    skipped: list[DoppelError] = []
    with progress_bar(f"loading {folder.name}", n, progress and n > 50, transient=True) as bar:
        for p in paths:
            bar.advance()
            try:
                face = read_face(p)
            except DoppelError as e:
                skipped.append(e)
                print(f"skipped {e.one_line()}", file=sys.stderr)
                continue
            i = len(names)
            image, mask, em, yaw[i] = load_face(face, resolution, face_type)
            images[i] = image
            masks[i] = np.round(np.clip(mask, 0, 1) * 255)
            ems[i] = np.round(np.clip(em, 0, 1) * 255)
            names.append(p.relative_to(folder).as_posix())
    if not names:
        raise DoppelError(f"none of the {n} face files can be read (first: {skipped[0].one_line()})", folder,
                          hint="Extract faces into it with 'doppel extract'")
    if skipped:
        print(f"{folder}: skipped {len(skipped)} of {n} face files (named above); training on the other {len(names)}",
              file=sys.stderr)
    k = len(names)
    return TrainingFaces(folder, names, images[:k], masks[:k], ems[:k], yaw[:k])


def split_holdout(faces: TrainingFaces, share: float, seed: int, min_count: int = 2) -> tuple[TrainingFaces, TrainingFaces | None]:
    """Hold out `share` of the faces (at least `min_count`, leaving at least as many for training)."""
    n = len(faces)
    if share <= 0 or n < 2 * min_count + 2:
        return faces, None
    count = max(min_count, int(round(share * n)))
    count = min(count, n // 2)
    order = np.random.default_rng([seed, 7]).permutation(n)
    return faces.subset(np.sort(order[count:])), faces.subset(np.sort(order[:count]))
