"""The 68-point iBUG layout (as DeepFaceLab and dlib users know it) taken from the 478-point mediapipe mesh.

Each entry is the mesh vertex nearest to the iBUG point of the same number. We never run dlib's
68-point predictor (its training data forbids commercial use); these points come from the mesh.
"""

from __future__ import annotations

import numpy as np

# iBUG 0-16: jaw contour, from the subject's right ear (image left) over the chin to the left ear.
JAW = [162, 234, 93, 58, 172, 136, 149, 148, 152, 377, 378, 365, 397, 288, 323, 454, 389]
# 17-21 right brow (image left), 22-26 left brow, each from outer to inner / inner to outer as iBUG.
BROWS = [71, 63, 105, 66, 107, 336, 296, 334, 293, 301]
# 27-30 nose bridge top to tip, 31-35 nostril base from image left to right.
NOSE = [168, 197, 5, 4, 75, 97, 2, 326, 305]
# 36-41 right eye (image left), 42-47 left eye: outer corner, upper lid x2, inner corner, lower lid x2.
EYES = [33, 160, 158, 133, 153, 144, 362, 385, 387, 263, 373, 380]
# 48-59 outer lip from the image-left corner clockwise, 60-67 inner lip.
MOUTH = [61, 39, 37, 0, 267, 269, 291, 405, 314, 17, 84, 181, 78, 82, 13, 312, 308, 317, 14, 87]

MESH_TO_68 = np.array(JAW + BROWS + NOSE + EYES + MOUTH, dtype=np.int64)
assert MESH_TO_68.shape == (68,)

# Left/right pairs of the 68 layout, for mirroring (a mirrored face swaps them).
MIRROR_68 = np.array(
    list(range(16, -1, -1))  # jaw
    + list(range(26, 21, -1)) + list(range(21, 16, -1))  # brows
    + [27, 28, 29, 30] + [35, 34, 33, 32, 31]  # nose
    + [45, 44, 43, 42, 47, 46] + [39, 38, 37, 36, 41, 40]  # eyes
    + [54, 53, 52, 51, 50, 49, 48, 59, 58, 57, 56, 55]  # outer lip
    + [64, 63, 62, 61, 60, 67, 66, 65],  # inner lip
    dtype=np.int64,
)


def mesh_to_68(mesh: np.ndarray) -> np.ndarray:
    """68x2 points (x, y) from a 468- or 478-point mesh (x, y[, z])."""
    return np.asarray(mesh, np.float32)[MESH_TO_68, :2].copy()
