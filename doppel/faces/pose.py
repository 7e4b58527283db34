"""Head pose (yaw, pitch, roll in degrees) from the mesh, against doppel's mean 3D face.

The mean face (mean_face.json, built by `python -m doppel.faces.mean_face`) is the average mesh of
near-frontal faces, rotated so its symmetry plane is x = 0 and then made exactly left/right symmetric.
So a frontal face reads about 0 on every axis, and a mirrored face flips the sign of yaw and roll.

Signs (image x right, y down): yaw > 0 when the nose points to the image's right, pitch > 0 when
the face looks up, roll > 0 when the head leans clockwise as seen in the image.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import numpy as np

from doppel.core.metadata import Pose
from doppel.faces.mesh68 import MESH_TO_68
from doppel.faces.umeyama import umeyama

MEAN_FACE_FILE = Path(__file__).with_name("mean_face.json")

# Rigid points of the 68 layout: upper jaw near the ears, nose, eye corners (no brows, lids, mouth, chin).
POSE_POINTS = np.array([0, 1, 2, 14, 15, 16, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 39, 42, 45])


@lru_cache(maxsize=1)
def mean_face_3d() -> np.ndarray:
    """68x3 mean face: centred, unit RMS radius, frontal, symmetric (x right, y down, z away)."""
    data = json.loads(MEAN_FACE_FILE.read_text())
    return np.asarray(data["points68"], np.float64).reshape(68, 3)


def rotation_to_pose(rot: np.ndarray) -> Pose:
    """Euler angles of rot = Rz(roll) @ Ry(yaw) @ Rx(pitch), with doppel's signs."""
    yaw = np.degrees(np.arcsin(np.clip(-rot[2, 0], -1.0, 1.0)))
    pitch = np.degrees(np.arctan2(rot[2, 1], rot[2, 2]))
    roll = np.degrees(np.arctan2(rot[1, 0], rot[0, 0]))
    return Pose(yaw=float(-yaw), pitch=float(pitch), roll=float(roll))


def head_rotation(points: np.ndarray) -> np.ndarray:
    """3x3 rotation taking the mean face onto `points` (a 478/468-point mesh or 68x3 points, pixels)."""
    pts = np.asarray(points, np.float64)
    if pts.shape[0] != 68:
        pts = pts[MESH_TO_68]
    t = umeyama(mean_face_3d()[POSE_POINTS], pts[POSE_POINTS, :3])
    m = t[:3, :3]
    return m / np.cbrt(np.linalg.det(m))


def estimate_pose(points: np.ndarray) -> Pose:
    """Head pose of one face from its mesh (or 68x3 points with depth)."""
    if not MEAN_FACE_FILE.exists():  # only while building the mean face itself
        return Pose()
    return rotation_to_pose(head_rotation(points))
