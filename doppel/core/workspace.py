"""A workspace laid out like DeepFaceLab's, so its users find things where they expect them.

    WORKSPACE/
      data_src/            source video or frames
      data_src/aligned/    aligned source faces (metadata inside each file)
      data_dst/            destination video or frames
      data_dst/aligned/    aligned destination faces
      data_dst/aligned/alignments.json   per-frame index of the destination's faces
      model/               trained model (safetensors + JSON)
      output/              merged frames and the final video

Every command also takes explicit paths; the workspace only supplies defaults.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Workspace:
    root: Path

    @property
    def data_src(self) -> Path:
        return self.root / "data_src"

    @property
    def data_dst(self) -> Path:
        return self.root / "data_dst"

    @property
    def src_aligned(self) -> Path:
        return self.data_src / "aligned"

    @property
    def dst_aligned(self) -> Path:
        return self.data_dst / "aligned"

    @property
    def dst_alignments(self) -> Path:
        return self.dst_aligned / "alignments.json"

    @property
    def model(self) -> Path:
        return self.root / "model"

    @property
    def output(self) -> Path:
        return self.root / "output"

    def create(self) -> "Workspace":
        for d in (self.src_aligned, self.dst_aligned, self.model, self.output):
            d.mkdir(parents=True, exist_ok=True)
        return self


def workspace(root: str | Path) -> Workspace:
    return Workspace(Path(root))
