"""Placement smoothing makes the merged face steadier than the raw per-frame landmarks."""

from __future__ import annotations

import numpy as np

from doppel.merge.faces import load_faces, smooth_faces
from doppel.merge.jitter import jitter


def test_smoothing_reduces_placement_jitter(dst_aligned):
    _, by_frame = load_faces(dst_aligned / "alignments.json")

    def placement(radius: int) -> float:
        tracks = smooth_faces(by_frame, radius)
        return jitter({i: f.landmarks[0].astype(np.float64) for i, f in tracks.items()})

    raw, smoothed = placement(0), placement(2)
    assert np.isfinite(raw) and raw > 0
    assert smoothed < 0.6 * raw, (raw, smoothed)
    # Smoothing must not drag the face away: the smoothed points stay within a few pixels.
    tracks = smooth_faces(by_frame, 2)
    drift = max(float(np.abs(tracks[i].landmarks[0] - by_frame[i][0].source_landmarks).max()) for i in tracks)
    assert drift < 12.0
