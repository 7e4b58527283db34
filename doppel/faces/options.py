"""Extraction options, declared once: type, default, range and help. The CLI builds its flags from these."""

from __future__ import annotations

from dataclasses import dataclass

from doppel.core.facetype import FaceType
from doppel.core.options import check_options, option
from doppel.faces.detect import DETECTORS


@dataclass(frozen=True)
class ExtractOptions:
    size: int = option(512, "Side of the aligned face images, pixels.", min=32, max=4096)
    face_type: str = option("whole-face", "How much of the head a face covers.", choices=[f.value for f in FaceType])
    detector: str = option("mediapipe", "Face detector (mtcnn runs on CUDA when present).", choices=list(DETECTORS))
    min_face: int = option(0, "Ignore faces smaller than this, pixels of the source frame.", min=0)
    max_faces: int = option(0, "Keep at most this many faces per frame, largest first (0 = all).", min=0)
    every_n: int = option(1, "Process one frame in N.", min=1)
    max_frames: int | None = option(None, "Stop after this many processed frames (default: all).", min=1)
    device: str | None = option(None, "Device for the mtcnn detector: auto, cpu, cuda, mps.")
    jpeg_quality: int = option(90, "JPEG quality of the face images.", min=1, max=100)
    smooth: bool = option(False, "Smooth landmarks over time in videos (steadier faces, less jitter).")
    debug_dir: str | None = option(None, "Also write frames with boxes and landmarks drawn into this folder.")
    rotation_retry: bool = option(True, "When a frame has no upright face, try it rotated 90, 270 and 180 degrees.")
    alignments: str = option("auto", "Write OUT/alignments.json: auto (videos and image folders), on, off.",
                             choices=["auto", "on", "off"])
    track: bool = option(True, "In videos, follow faces from the previous frame and re-detect every few frames (faster).")
    workers: int = option(0, "Parallel worker processes, each on its own stretch of the input (0 = auto: one per CPU core, up to 8).",
                          min=0, max=64)

    def __post_init__(self):
        if isinstance(self.alignments, bool):  # accept True/False from library callers
            object.__setattr__(self, "alignments", "on" if self.alignments else "off")
        object.__setattr__(self, "face_type", FaceType.parse(self.face_type).value)
        check_options(self)

    # Options that change what a face file looks like: a resumed run must use the same ones.
    SHAPE_KEYS = ("size", "face_type")
