"""Temporal jitter: how much a face's landmarks shake from frame to frame, as a share of its size.

Jitter is the mean length of the landmarks' second difference (x[t+1] - 2 x[t] + x[t-1]) divided by
the distance between the eye centres, over runs of consecutive frames. Smooth motion scores near 0;
a still head with noisy detection scores high. Merge uses it to compare the merged video's face with
the destination's own (`compare_videos`), and placement smoothing with the raw detections.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from doppel.core.face_mask import LEFT_EYE, RIGHT_EYE


def jitter(track: dict[int, np.ndarray]) -> float:
    """Jitter of one face track: {frame index: 68x2 landmarks}. NaN with fewer than 3 consecutive frames."""
    values = []
    for t, lm in track.items():
        if t - 1 in track and t + 1 in track:
            accel = track[t + 1] - 2 * lm + track[t - 1]
            eyes = float(np.linalg.norm(lm[LEFT_EYE].mean(0) - lm[RIGHT_EYE].mean(0)))
            if eyes > 1:
                values.append(float(np.linalg.norm(accel, axis=1).mean()) / eyes)
    return float(np.mean(values)) if values else float("nan")


def video_landmarks(path: str | Path, max_frames: int | None = None) -> dict[int, np.ndarray]:
    """68 landmarks of the first face of every frame (detected from scratch, no tracking or smoothing)."""
    from doppel.faces.landmarks import FaceAnalyzer
    from doppel.media.reader import read_frames

    track: dict[int, np.ndarray] = {}
    with FaceAnalyzer() as analyzer:
        for frame in read_frames(path):
            if max_frames is not None and frame.index >= max_frames:
                break
            faces = analyzer.analyze(frame.image)
            if faces:
                track[frame.index] = np.asarray(faces[0].landmarks68, np.float64)
    return track


def compare_videos(destination: str | Path, merged: str | Path, max_frames: int | None = None) -> tuple[float, float]:
    """(destination jitter, merged jitter), measured the same way on both videos."""
    return jitter(video_landmarks(destination, max_frames)), jitter(video_landmarks(merged, max_frames))
