"""Temporal smoothing of landmarks in video: a One Euro filter per face track.

Low speed -> strong smoothing (removes the jitter a still head shows); high speed -> little smoothing
(no lag on real motion). Causal, so extraction still streams. Reference: Casiez et al., CHI 2012.
"""

from __future__ import annotations

import numpy as np


def _alpha(cutoff: float, dt: float) -> float:
    tau = 1.0 / (2 * np.pi * cutoff)
    return 1.0 / (1.0 + tau / dt)


class OneEuro:
    """One Euro filter over an N x D array of points. `min_cutoff` and `d_cutoff` in Hz; `beta` raises the
    cutoff per face width per second of speed (so it behaves the same for small and large faces).

    Defaults were tuned on real clips (benchmarks/extract.py): on a still head the jitter drops to about
    0.4x, and on very fast head motion the landmarks trail by 1 % of the face width on average."""

    def __init__(self, min_cutoff: float = 1.0, beta: float = 20.0, d_cutoff: float = 4.0):
        self.min_cutoff, self.beta, self.d_cutoff = min_cutoff, beta, d_cutoff
        self._x: np.ndarray | None = None
        self._dx: np.ndarray | None = None

    def __call__(self, x: np.ndarray, dt: float) -> np.ndarray:
        x = np.asarray(x, np.float64)
        if self._x is None or self._x.shape != x.shape or dt <= 0:
            self._x, self._dx = x, np.zeros_like(x)
            return x
        dx = (x - self._x) / dt
        a_d = _alpha(self.d_cutoff, dt)
        self._dx = a_d * dx + (1 - a_d) * self._dx
        # One speed for the whole face (mean over points, in face widths/s), so the shape is not distorted.
        width = max(float(np.ptp(x[:, 0])), 1.0)
        speed = float(np.linalg.norm(self._dx[:, :2], axis=-1).mean()) / width
        a = _alpha(self.min_cutoff + self.beta * speed, dt)
        self._x = a * x + (1 - a) * self._x
        return self._x


class TrackSmoother:
    """Smooths each face's mesh across frames. Face i of a frame continues track i when its centre
    is close to where track i was; otherwise that track restarts."""

    def __init__(self, min_cutoff: float = 1.0, beta: float = 20.0):
        self.min_cutoff, self.beta = min_cutoff, beta
        self._tracks: dict[int, tuple[OneEuro, np.ndarray, float]] = {}

    def reset(self) -> None:
        self._tracks.clear()

    def __call__(self, index: int, mesh: np.ndarray, t: float) -> np.ndarray:
        center = mesh[:, :2].mean(0)
        size = float(np.ptp(mesh[:, 0]))
        track = self._tracks.get(index)
        if track is None or np.linalg.norm(center - track[1]) > 0.5 * size:
            track = (OneEuro(self.min_cutoff, self.beta), center, t)
        filt, _, last_t = track
        out = filt(mesh, t - last_t)
        self._tracks[index] = (filt, center, t)
        return out.astype(np.float32)
