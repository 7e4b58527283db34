"""`contact_sheet`: one PNG with a thumbnail of every face (or an even sample), labelled, for a
person to look over a faceset without an image viewer."""

from __future__ import annotations

import math
from pathlib import Path

import cv2
import numpy as np

from doppel.core.errors import DoppelError
from doppel.core.images import write_image
from doppel.curate.faceset import map_faces, scan_faceset

LABEL_HEIGHT = 14


def _label(face) -> tuple[str, tuple[int, int, int]]:
    if face.meta is None:
        return "no metadata", (0, 0, 255)
    return f"y{face.meta.pose.yaw:+.0f} p{face.meta.pose.pitch:+.0f}", (220, 220, 220)


def contact_sheet(folder: str | Path, out: str | Path, thumb: int = 96, columns: int | None = None, max_faces: int = 600, progress: bool = True) -> tuple[Path, int]:
    """Write the sheet to `out` (PNG or JPEG by extension). Returns (path, faces shown).

    Faces without metadata are shown too, labelled in red, so they are easy to find.
    """
    scan = scan_faceset(folder)
    faces = scan.faces + scan.no_meta
    faces.sort(key=lambda f: f.name)
    if not faces:
        raise DoppelError("no images to show", folder, hint="Pass a folder of aligned faces")
    if len(faces) > max_faces:  # an even sample keeps the sheet a size a viewer can open
        faces = [faces[int(i)] for i in np.linspace(0, len(faces) - 1, max_faces)]
    cell_h = thumb + 2 * LABEL_HEIGHT

    def tile(face) -> np.ndarray:
        cell = np.full((cell_h, thumb, 3), 24, np.uint8)
        cell[:thumb] = cv2.resize(face.image, (thumb, thumb), interpolation=cv2.INTER_AREA)
        scale = max(0.3, thumb / 300)
        cv2.putText(cell, face.name[:max(6, thumb // 7)], (2, thumb + LABEL_HEIGHT - 3), cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), 1, cv2.LINE_AA)
        text, colour = _label(face)
        cv2.putText(cell, text, (2, thumb + 2 * LABEL_HEIGHT - 3), cv2.FONT_HERSHEY_SIMPLEX, scale, colour, 1, cv2.LINE_AA)
        return cell

    done, _failed = map_faces(faces, tile, "drawing sheet", progress)
    cols = columns or max(1, math.ceil(math.sqrt(len(done) * 1.6)))
    rows = math.ceil(len(done) / cols)
    sheet = np.full((rows * cell_h, cols * thumb, 3), 0, np.uint8)
    for i, (_face, cell) in enumerate(done):
        r, c = divmod(i, cols)
        sheet[r * cell_h : (r + 1) * cell_h, c * thumb : (c + 1) * thumb] = cell
    out = Path(out)
    write_image(out, sheet)
    return out, len(done)
