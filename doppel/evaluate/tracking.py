"""Faces across frames for `evaluate`: which face to score, following it into the next frames, and
the runs of consecutive frames the jitter measures read."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from doppel.evaluate import measures


def main_face(faces, near=None):
    """The face to score: the one nearest `near` (x, y) when given, else the largest."""
    if not faces:
        return None
    if near is None:
        return faces[0]
    return min(faces, key=lambda f: float(np.sum((f.landmarks68.mean(0) - near) ** 2)))


TEMPORAL_RUN = 3  # consecutive frames analysed from each sampled frame: enough for a second difference


@dataclass
class TemporalRuns:
    """Runs of consecutive frames where both faces were found: landmarks and mean face colours."""

    dst_lms: list = field(default_factory=list)
    res_lms: list = field(default_factory=list)
    dst_cols: list = field(default_factory=list)
    res_cols: list = field(default_factory=list)

    def new_run(self) -> None:
        for runs in (self.dst_lms, self.res_lms, self.dst_cols, self.res_cols):
            if not runs or runs[-1]:
                runs.append([])

    def add(self, d_frame, r_frame, d_face, r_face) -> None:
        from doppel.core.face_mask import face_hull_mask

        if d_face is None or r_face is None:  # continuity broken
            self.new_run()
            return
        if not self.dst_lms:
            self.new_run()
        shape = d_frame.image.shape[:2]
        self.dst_lms[-1].append(d_face.landmarks68)
        self.res_lms[-1].append(r_face.landmarks68)
        self.dst_cols[-1].append(measures.mean_face_colour(d_frame.image, face_hull_mask(d_face.landmarks68, shape)))
        self.res_cols[-1].append(measures.mean_face_colour(r_frame.image, face_hull_mask(r_face.landmarks68, shape)))


def follow(analyzer, image, previous):
    """The face in the next frame: the still-image mesh re-run around the previous face (fast, and
    stateless, so the tool adds no smoothing or memory of its own), else detected afresh."""
    from doppel.faces.landmarks import CROP_SCALE, Face
    from doppel.faces.mesh68 import mesh_to_68

    if previous is None:
        return None
    x0, y0, x1, y1 = previous.mesh_box
    side = max(x1 - x0, y1 - y0) * 1.25 * CROP_SCALE  # as the analyser's own tracking crop
    mesh = analyzer.mesh_in_crop(image, ((x0 + x1) / 2, (y0 + y1) / 2), side, previous.roll)
    if mesh is not None:
        return Face(previous.box, previous.score, mesh, mesh_to_68(mesh), previous.pose, previous.detector)
    return main_face(analyzer.analyze(image), previous.landmarks68.mean(0))
