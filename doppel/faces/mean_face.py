"""Build mean_face.json: doppel's mean 3D face in the 68-point layout, from real near-frontal footage.

Run `python -m doppel.faces.mean_face [DATA_DIR]` (default ../shared/data). It meshes frames of the
talking-head clips, aligns them (generalised Procrustes), rotates the average so its symmetry plane is
x = 0 and makes it exactly symmetric. The pitch reference is the average head pitch of those clips
(people looking at the camera), which is what "frontal" means for the pose readout.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from doppel.core.atomic import write_json
from doppel.faces.mesh68 import MESH_TO_68, MIRROR_68
from doppel.faces.umeyama import umeyama

CLIPS = ("src_woman_a.mp4", "dst_woman_b.mp4", "man_h_glasses.mp4", "man_e_greenscreen_noaudio.mp4",
         "src_woman_d_long.mp4", "woman_i_outdoor_portrait.mp4")
MIRROR = np.diag([-1.0, 1.0, 1.0])


def _normalise(p: np.ndarray) -> np.ndarray:
    p = p - p.mean(0)
    return p / np.sqrt((p**2).sum(1).mean())


def _procrustes_mean(shapes: list[np.ndarray], rounds: int = 5) -> np.ndarray:
    shapes = [_normalise(s) for s in shapes]
    mean = shapes[0]
    for _ in range(rounds):
        aligned = []
        for s in shapes:
            t = umeyama(s, mean, scale=False)
            aligned.append(s @ t[:3, :3].T)
        mean = _normalise(np.mean(aligned, 0))
    return mean


def _symmetrise(p: np.ndarray) -> np.ndarray:
    """Rotate so that left/right pairs are mirror images across x = 0, then average with the mirror."""
    t = umeyama(p, (p @ MIRROR)[MIRROR_68], scale=False)  # ~ a rotation by twice the asymmetry
    angle = np.arccos(  # half of that rotation, via its axis and angle
        np.clip((np.trace(t[:3, :3]) - 1) / 2, -1, 1)) / 2
    axis = np.array([t[2, 1] - t[1, 2], t[0, 2] - t[2, 0], t[1, 0] - t[0, 1]])
    if np.linalg.norm(axis) > 1e-9:
        axis /= np.linalg.norm(axis)
        k = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
        half = np.eye(3) + np.sin(angle) * k + (1 - np.cos(angle)) * k @ k
        p = p @ half.T
    p = p - p.mean(0)
    return _normalise((p + (p @ MIRROR)[MIRROR_68]) / 2)


def build(data_dir: Path, every: int = 15) -> np.ndarray:
    from doppel.faces.landmarks import FaceAnalyzer
    from doppel.media.reader import read_frames

    shapes = []
    with FaceAnalyzer(max_faces=1, rotation_retry=False) as analyzer:
        for name in CLIPS:
            for frame in read_frames(data_dir / "clips" / name, every_n=every):
                faces = analyzer.analyze(frame.image)
                if faces:
                    shapes.append(faces[0].mesh[MESH_TO_68].astype(np.float64))
    return _symmetrise(_procrustes_mean(shapes)), len(shapes)


def main() -> None:
    data_dir = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("../shared/data")
    mean, count = build(data_dir)
    out = Path(__file__).with_name("mean_face.json")
    write_json(out, {"about": f"doppel mean 3D face, 68-point layout, from {count} frames of {', '.join(CLIPS)}",
                     "points68": np.round(mean, 5).tolist()})
    print(f"wrote {out} from {count} faces")


if __name__ == "__main__":
    main()
