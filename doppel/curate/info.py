"""`faceset_info`: what a faceset holds, at a glance (counts, pose spread, blur spread, problems)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from doppel.core.images import TRASH_DIR, list_images
from doppel.curate import metrics
from doppel.curate.faceset import map_faces, scan_faceset
from doppel.curate.methods import _mask
from doppel.core.trash import read_journal, trash_dir, trashed_untracked

POSE_BIN_DEGREES = 10


@dataclass(frozen=True)
class FacesetInfo:
    folder: Path
    faces: int  # images with doppel metadata
    no_meta: tuple[str, ...]  # images without metadata (names)
    unreadable: tuple[tuple[str, str], ...]  # (name, why)
    other_files: tuple[str, ...]  # files that are not images
    trashed: int
    face_types: dict[str, int]
    sizes: dict[int, int]
    sources: dict[str, int]  # source file -> faces
    yaw_histogram: tuple[tuple[int, int, int], ...]  # (from, to, count), degrees
    pitch_histogram: tuple[tuple[int, int, int], ...]
    sharpness: dict[str, float] | None  # min, p10, median, p90, max
    with_embedding: int
    with_xseg: int
    subfolders: dict[str, int]  # folder -> images in it (e.g. person_01 after `cluster`)

    def to_dict(self) -> dict:
        d = dict(self.__dict__)
        d["folder"] = str(self.folder)
        return d


def _histogram(values: list[float], step: int = POSE_BIN_DEGREES) -> tuple[tuple[int, int, int], ...]:
    if not values:
        return ()
    counts = Counter(int(np.floor(v / step)) * step for v in values)
    return tuple((lo, lo + step, counts[lo]) for lo in range(min(counts), max(counts) + step, step))


def faceset_info(folder: str | Path, blur: bool = True, progress: bool = True) -> FacesetInfo:
    """Summarise a faceset. With `blur` every image is read to measure its sharpness."""
    scan = scan_faceset(folder)
    metas = [f.meta for f in scan.faces]
    sharp = None
    if blur and scan.faces:
        done, failed = map_faces(scan.faces, lambda f: metrics.sharpness(f.image, _mask(f)), "measuring blur", progress)
        scan.unreadable.extend(failed)
        if done:
            v = np.array([s for _, s in done])
            sharp = {k: round(float(x), 2) for k, x in zip(("min", "p10", "median", "p90", "max"), np.percentile(v, [0, 10, 50, 90, 100]))}
    trashed = len(read_journal(folder)) + len(trashed_untracked(folder)) if trash_dir(folder).is_dir() else 0
    return FacesetInfo(
        folder=Path(folder),
        faces=len(scan.faces),
        no_meta=tuple(f.name for f in scan.no_meta),
        unreadable=tuple((p.name, why) for p, why in scan.unreadable),
        other_files=tuple(p.name for p in scan.other_files),
        trashed=trashed,
        face_types=dict(Counter(m.face_type.value for m in metas)),
        sizes=dict(Counter(int(m.size) for m in metas)),
        sources=dict(Counter(Path(m.source.filename).name or "?" for m in metas)),
        yaw_histogram=_histogram([m.pose.yaw for m in metas]),
        pitch_histogram=_histogram([m.pose.pitch for m in metas]),
        sharpness=sharp,
        with_embedding=sum(m.embedding is not None for m in metas),
        with_xseg=sum(bool(m.xseg_polygons) or m.xseg_mask is not None for m in metas),
        subfolders={d.name: len(list_images(d)) for d in sorted(Path(folder).iterdir()) if d.is_dir() and d.name != TRASH_DIR and not d.name.startswith(".")},
    )
