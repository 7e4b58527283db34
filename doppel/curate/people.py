"""Identity tools for the user's own faceset: keep one person (`filter_faceset`), or split a set
with several people into one folder per person (`cluster_faceset`).

References are photos or aligned faces that the user supplies; nothing here looks anyone up.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

import numpy as np

from doppel.core.errors import DoppelError
from doppel.core.images import list_images
from doppel.curate.faceset import scan_faceset
from doppel.curate.rename import finish_pending_renames, rename_all
from doppel.core.trash import trash_with_reasons
from doppel.identity import SAME_PERSON_DISTANCE, distances, embed_faces

CLUSTER_PREFIX = "person_"


@dataclass(frozen=True)
class FilterResult:
    kept: tuple[Path, ...]
    trashed: tuple[str, ...]  # names inside _trash/ (or, in a dry run, the faces that would go)
    distance: dict[str, float]  # face file name -> distance to the closest reference
    skipped: tuple[tuple[Path, str], ...]
    references: int  # how many reference faces were usable
    dry_run: bool = False


@dataclass(frozen=True)
class ClusterResult:
    groups: tuple[tuple[Path, ...], ...]  # largest group first; paths after the move
    skipped: tuple[tuple[Path, str], ...]
    dry_run: bool = False
    folders: tuple[Path, ...] = field(default_factory=tuple)


def _reference_files(refs: Iterable[str | Path]) -> list[Path]:
    files: list[Path] = []
    for ref in refs:
        ref = Path(ref)
        if ref.is_dir():
            files += list_images(ref)
        elif ref.is_file():
            files.append(ref)
        else:
            raise DoppelError("reference not found", ref, hint="Pass photos or aligned faces of the person to keep")
    return files


def reference_embeddings(refs: Iterable[str | Path]) -> np.ndarray:
    """Embeddings of the faces in the reference photos; the user's files are never modified."""
    files = _reference_files(refs)
    emb = embed_faces(files, cache=False)
    ok = ~np.isnan(emb[:, 0])
    if not ok.any():
        raise DoppelError(
            "no face found in any reference", files[0] if len(files) == 1 else None,
            hint="Use clear, frontal photos (or aligned faces) of the person to keep",
        )
    return emb[ok]


def filter_faceset(folder: str | Path, refs: Iterable[str | Path], threshold: float = SAME_PERSON_DISTANCE, dry_run: bool = False, progress: bool = True) -> FilterResult:
    """Keep the faces within `threshold` of any reference face; move the others to the trash."""
    folder = Path(folder)
    finish_pending_renames(folder)
    ref = reference_embeddings(refs)
    scan = scan_faceset(folder)
    emb = embed_faces([f.path for f in scan.faces], progress=progress)
    skipped = list(scan.problems())
    dist: dict[str, float] = {}
    keep, reject = [], []
    for face, vec in zip(scan.faces, emb):
        if np.isnan(vec[0]):
            skipped.append((face.path, "no face found for an identity embedding"))
            continue
        d = float(distances(vec[None], ref).min())
        dist[face.name] = d
        (keep if d <= threshold else reject).append((face, d))
    if dry_run:
        return FilterResult(tuple(f.path for f, _ in keep), tuple(f.name for f, _ in reject), dist, tuple(skipped), len(ref), True)
    entries = trash_with_reasons(folder, [(f.path, f"filter: distance {d:.3f} > {threshold}") for f, d in reject])
    return FilterResult(tuple(f.path for f, _ in keep), tuple(e.trashed for e in entries), dist, tuple(skipped), len(ref))


def group_embeddings(emb: np.ndarray, threshold: float) -> np.ndarray:
    """Cluster labels (0 = largest group) by average-linkage clustering cut at `threshold`."""
    if len(emb) == 1:
        return np.zeros(1, int)
    from scipy.cluster.hierarchy import fcluster, linkage

    labels = fcluster(linkage(emb.astype(np.float64), method="average"), t=threshold, criterion="distance")
    sizes = {lab: int((labels == lab).sum()) for lab in set(labels)}
    rank = {lab: i for i, lab in enumerate(sorted(sizes, key=lambda lab: (-sizes[lab], lab)))}
    return np.array([rank[lab] for lab in labels])


def cluster_faceset(folder: str | Path, threshold: float = SAME_PERSON_DISTANCE, dry_run: bool = False, progress: bool = True) -> ClusterResult:
    """Move the faces of a mixed set into `person_01/`, `person_02/`, ... (largest group first).

    Moves are renames inside the folder (nothing copied or deleted); a destination's
    alignments index follows them.
    """
    folder = Path(folder)
    finish_pending_renames(folder)
    scan = scan_faceset(folder)
    emb = embed_faces([f.path for f in scan.faces], progress=progress)
    ok = ~np.isnan(emb[:, 0])
    faces = [f for f, k in zip(scan.faces, ok) if k]
    skipped = list(scan.problems()) + [(f.path, "no face found for an identity embedding") for f, k in zip(scan.faces, ok) if not k]
    if not faces:
        return ClusterResult((), tuple(skipped), dry_run)
    labels = group_embeddings(emb[ok], threshold)
    start = 1
    while any((folder / f"{CLUSTER_PREFIX}{start + i:02d}").exists() for i in range(labels.max() + 1)):
        start += 1  # never merge into folders of an earlier run
    names = [f"{CLUSTER_PREFIX}{start + lab:02d}" for lab in range(labels.max() + 1)]
    mapping = {f.name: f"{names[lab]}/{f.name}" for f, lab in zip(faces, labels)}
    groups = tuple(tuple(folder / mapping[f.name] for f, lab in zip(faces, labels) if lab == g) for g in range(len(names)))
    if not dry_run:
        rename_all(folder, mapping)
    return ClusterResult(groups, tuple(skipped), dry_run, tuple(folder / n for n in names))
