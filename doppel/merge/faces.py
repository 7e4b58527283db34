"""The destination's faces for merging: read from the alignments index, smoothed over time,
and cut from each frame at the model's resolution and face type."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from doppel.core.alignments import Alignments
from doppel.core.errors import DoppelError
from doppel.core.face_mask import stored_mask
from doppel.core.facetype import FaceType
from doppel.core.metadata import FaceMeta, read_metadata
from doppel.faces.align import alignment_matrix, invert, transform_points
from doppel.imaging.warp import warp_from_frame
from doppel.merge.render import MergeFace


@dataclass
class FrameFaces:
    """The faces of one frame: metadata plus the landmarks merge places the face with."""

    index: int
    metas: list[FaceMeta]
    landmarks: list[np.ndarray]  # 68x2 frame pixels, temporally smoothed
    motion: list[tuple[float, float]]  # face-centre motion in frame pixels per frame


def load_faces(alignments_path: str | Path) -> tuple[Alignments, dict[int, list[FaceMeta]]]:
    """The index and the metadata of every face it lists, keyed by frame index."""
    alignments_path = Path(alignments_path)
    alignments = Alignments.load(alignments_path)
    faces_dir = Path(alignments.faces_dir)
    if not faces_dir.is_absolute():
        faces_dir = alignments_path.parent / faces_dir
    by_frame: dict[int, list[FaceMeta]] = {}
    for entry in alignments.frames:
        metas = []
        for name in entry.faces:
            path = faces_dir / name
            if not path.exists():  # deleted while curating: that face is not swapped
                continue
            try:
                metas.append(read_metadata(path))
            except DoppelError:
                continue
        if metas:
            by_frame[entry.index] = sorted(metas, key=lambda m: m.face_index)
    return alignments, by_frame


def smooth_faces(by_frame: dict[int, list[FaceMeta]], radius: int) -> dict[int, FrameFaces]:
    """Gaussian-smooth each face's landmarks over neighbouring frames (a track = same face_index,
    consecutive frames); a gap in the track ends the window, so cuts do not blend two shots."""
    out: dict[int, FrameFaces] = {}
    tracks: dict[int, dict[int, np.ndarray]] = {}
    for index, metas in by_frame.items():
        for meta in metas:
            tracks.setdefault(meta.face_index, {})[index] = np.asarray(meta.source_landmarks, np.float64)
    sigma = max(radius / 2.0, 1e-6)
    for index, metas in sorted(by_frame.items()):
        landmarks, motion = [], []
        for meta in metas:
            track = tracks[meta.face_index]
            acc, total = np.zeros((68, 2)), 0.0
            for side in (-1, 1):
                for d in range(0 if side < 0 else 1, radius + 1):
                    j = index + side * d
                    if j not in track:
                        break
                    w = float(np.exp(-0.5 * (d / sigma) ** 2))
                    acc += w * track[j]
                    total += w
            smoothed = acc / total if total > 0 else track[index]
            landmarks.append(smoothed.astype(np.float32))
            prev_c = track.get(index - 1, track[index]).mean(0)
            next_c = track.get(index + 1, track[index]).mean(0)
            v = (next_c - prev_c) / 2.0
            motion.append((float(v[0]), float(v[1])))
        out[index] = FrameFaces(index, metas, landmarks, motion)
    return out


def _xseg_in_model_space(meta: FaceMeta, face_to_frame: np.ndarray, size: int) -> np.ndarray | None:
    mask = stored_mask(meta, meta.size)
    if mask is None:
        return None
    # meta face pixels -> frame -> model face pixels
    meta_to_model = np.vstack([invert(face_to_frame), [0, 0, 1]]) @ np.vstack([meta.face_to_source, [0, 0, 1]])
    return cv2.warpAffine(mask.astype(np.float32), meta_to_model[:2], (size, size), flags=cv2.INTER_LINEAR)


def prepare_faces(frame: np.ndarray, faces: FrameFaces, face_type: FaceType, size: int) -> list[MergeFace]:
    """Cut each face from the frame at the model's face type and resolution."""
    out = []
    for meta, lm, (mx, my) in zip(faces.metas, faces.landmarks, faces.motion):
        to_face = alignment_matrix(lm, face_type, size)
        face_to_frame = invert(to_face)
        image = warp_from_frame(frame, face_to_frame, size).astype(np.float32) / 255.0
        motion = to_face[:, :2] @ np.array([mx, my])  # a direction: no translation
        out.append(
            MergeFace(
                face_to_frame=face_to_frame,
                image=image,
                landmarks=transform_points(lm, to_face),
                xseg=_xseg_in_model_space(meta, face_to_frame, size),
                motion=(float(motion[0]), float(motion[1])),
                face_type=face_type,
            )
        )
    return out
