"""`final --target N`: the best N faces of a set, the way experienced DeepFaceLab users pick them.

1. Even pose coverage: the yaw range is cut into equal bins and N is shared evenly between the
   bins that have faces (a bin with few faces gives its unused share to the others), so rare
   profile views survive next to the many frontal ones.
2. Sharpness: inside a bin only the sharper faces compete (the blurriest are dropped first).
3. Pitch: the bin's candidates are spread over their pitch range (one pick per pitch group).
4. Histogram diversity: in each pitch group the face least like those already chosen wins, so
   near-identical frames are not kept twice.
"""

from __future__ import annotations

import numpy as np

from doppel.core.errors import DoppelError
from doppel.curate import metrics
from doppel.curate.faceset import FaceFile, map_faces
from doppel.curate.methods import Ranking, _mask, sort_method

MAX_YAW_BINS = 24


def share_evenly(counts: list[int], target: int) -> list[int]:
    """Split `target` over bins holding `counts` faces: as even as the counts allow."""
    quota = [0] * len(counts)
    remaining = min(target, sum(counts))
    while remaining > 0:
        open_bins = [i for i, c in enumerate(counts) if quota[i] < c]
        share = max(1, remaining // len(open_bins))
        for i in sorted(open_bins, key=lambda i: -counts[i]):
            add = min(share, counts[i] - quota[i], remaining)
            quota[i] += add
            remaining -= add
            if remaining == 0:
                break
    return quota


def select_best(yaw: np.ndarray, pitch: np.ndarray, sharp: np.ndarray, hists: np.ndarray, target: int) -> list[int]:
    """Indices of the chosen faces. Pure function of the per-face measurements."""
    n = len(yaw)
    if target >= n:
        return list(range(n))
    bins = max(1, min(target, MAX_YAW_BINS))
    edges = np.linspace(yaw.min(), yaw.max() + 1e-6, bins + 1)
    which = np.clip(np.digitize(yaw, edges) - 1, 0, bins - 1)
    members = [np.flatnonzero(which == b) for b in range(bins)]
    quota = share_evenly([len(m) for m in members], target)
    chosen: list[int] = []
    for idx, q in zip(members, quota):
        if q == 0:
            continue
        by_sharp = idx[np.argsort(-sharp[idx], kind="stable")]
        pool = by_sharp[: max(q, min(len(idx), 2 * q))]
        pool = pool[np.argsort(pitch[pool], kind="stable")]
        for group in np.array_split(pool, q):
            if not chosen:
                pick = group[np.argmax(sharp[group])]
            else:
                novelty = metrics.bhattacharyya(hists[group], hists[chosen]).min(1)
                pick = group[np.argmax(novelty)]
            chosen.append(int(pick))
    return chosen


@sort_method("final", "the best N (--target): even yaw coverage, then sharpness, pitch spread, histogram diversity")
def sort_final(faces: list[FaceFile], target: int | None = None, progress: bool = True) -> Ranking:
    if target is None or target < 1:
        raise DoppelError("sort 'final' needs --target N (how many faces to keep)", hint="For example: --target 2000")

    def measure(f: FaceFile):
        mask = _mask(f)
        return metrics.sharpness(f.image, mask), metrics.histogram(f.image, mask)

    done, failed = map_faces(faces, measure, "measuring faces", progress)
    if not done:
        return Ranking([], failed=failed)
    yaw = np.array([f.meta.pose.yaw for f, _ in done], np.float64)
    pitch = np.array([f.meta.pose.pitch for f, _ in done], np.float64)
    sharp = np.array([v[0] for _, v in done], np.float64)
    hists = np.stack([v[1] for _, v in done])
    chosen = set(select_best(yaw, pitch, sharp, hists, target))
    keep = sorted(chosen, key=lambda i: -yaw[i])
    rejects = [(done[i][0], f"not among the best {target}") for i in range(len(done)) if i not in chosen]
    return Ranking([done[i][0] for i in keep], rejects, {done[i][0].name: float(sharp[i]) for i in range(len(done))}, failed)
