"""Sort methods as plugins: a registry of name -> function(faces, **options) -> Ranking.

A method only decides an order (best first) and which faces to reject; moving files, renaming and
the trash are done once, by `doppel.curate.sort.sort_faceset`. The studio lists `sort_methods()`.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from doppel.core.errors import DoppelError
from doppel.curate import metrics
from doppel.curate.faceset import FaceFile, map_faces


@dataclass(frozen=True)
class Ranking:
    order: list[FaceFile]  # faces to keep, best first
    rejects: list[tuple[FaceFile, str]] = field(default_factory=list)  # (face, why) for the trash
    scores: dict[str, float] = field(default_factory=dict)  # file name -> the score sorted on
    failed: list[tuple[Path, str]] = field(default_factory=list)  # could not be measured; left alone


@dataclass(frozen=True)
class SortMethod:
    name: str
    help: str
    fn: Callable[..., Ranking]


_METHODS: dict[str, SortMethod] = {}
LINKAGE_LIMIT = 8000  # faces; above it identity sorting switches to a nearest-neighbour chain


def sort_method(name: str, help: str):
    def decorate(fn: Callable[..., Ranking]) -> Callable[..., Ranking]:
        _METHODS[name] = SortMethod(name, help, fn)
        return fn

    return decorate


def sort_methods() -> list[tuple[str, str]]:
    """(name, help) of every sort method, in the order they are documented."""
    import doppel.curate.final  # noqa: F401  registers `final`

    return [(m.name, m.help) for m in _METHODS.values()]


def get_method(name: str) -> SortMethod:
    sort_methods()
    try:
        return _METHODS[name]
    except KeyError:
        raise DoppelError(f"unknown sort method '{name}'", hint="Use one of: " + ", ".join(_METHODS)) from None


# ---- helpers --------------------------------------------------------------------------------


def _mask(face: FaceFile) -> np.ndarray:
    return metrics.face_mask(face.image, face.meta.landmarks if face.meta else None)


def by_score(faces: list[FaceFile], score: Callable[[FaceFile], float], descending: bool, label: str, progress: bool = True) -> Ranking:
    done, failed = map_faces(faces, score, label, progress)
    done.sort(key=lambda fv: fv[1], reverse=descending)
    return Ranking([f for f, _ in done], scores={f.name: float(v) for f, v in done}, failed=failed)


def by_chain(faces: list[FaceFile], vector: Callable[[FaceFile], np.ndarray], pairwise, label: str, progress: bool = True) -> Ranking:
    done, failed = map_faces(faces, vector, label, progress)
    if not done:
        return Ranking([], failed=failed)
    order = metrics.nearest_chain(np.stack([v for _, v in done]), pairwise)
    return Ranking([done[i][0] for i in order], failed=failed)


def meta_sharpness(face: FaceFile) -> float:
    """Sharpness cached in the metadata (it costs an image read), computed on first use."""
    cached = face.meta.extra.get("sharpness") if face.meta else None
    if isinstance(cached, (int, float)):
        return float(cached)
    return metrics.sharpness(face.image, _mask(face))


# ---- methods --------------------------------------------------------------------------------


@sort_method("blur", "sharpest first (variance of the Laplacian inside the face)")
def sort_blur(faces: list[FaceFile], progress: bool = True) -> Ranking:
    return by_score(faces, lambda f: metrics.sharpness(f.image, _mask(f)), True, "measuring blur", progress)


@sort_method("motion-blur", "sharpest first in the weakest direction: motion-blurred faces last")
def sort_motion_blur(faces: list[FaceFile], progress: bool = True) -> Ranking:
    return by_score(faces, lambda f: metrics.motion_sharpness(f.image, _mask(f)), True, "measuring motion blur", progress)


@sort_method("yaw", "head turn, from one side to the other (stored pose, degrees)")
def sort_yaw(faces: list[FaceFile], progress: bool = True) -> Ranking:
    return by_score(faces, lambda f: f.meta.pose.yaw, True, "yaw", False)


@sort_method("pitch", "head tilt, from looking up to looking down (stored pose, degrees)")
def sort_pitch(faces: list[FaceFile], progress: bool = True) -> Ranking:
    return by_score(faces, lambda f: f.meta.pose.pitch, True, "pitch", False)


def source_area(face: FaceFile) -> float:
    x0, y0, x1, y1 = face.meta.source_rect
    if x1 > x0 and y1 > y0:
        return float((x1 - x0) * (y1 - y0))
    pts = np.asarray(face.meta.source_landmarks, np.float64)
    span = pts.max(0) - pts.min(0)
    return float(span[0] * span[1])


@sort_method("size", "largest face in the source frame first (more real detail)")
def sort_size(faces: list[FaceFile], progress: bool = True) -> Ranking:
    return by_score(faces, source_area, True, "size", False)


@sort_method("hist", "similar colour histograms next to each other (groups alike faces)")
def sort_hist(faces: list[FaceFile], progress: bool = True) -> Ranking:
    return by_chain(faces, lambda f: metrics.histogram(f.image, _mask(f)), metrics.bhattacharyya, "histograms", progress)


@sort_method("hist-dissim", "most unusual histogram first (least like the rest of the set)")
def sort_hist_dissim(faces: list[FaceFile], progress: bool = True) -> Ranking:
    done, failed = map_faces(faces, lambda f: metrics.histogram(f.image, _mask(f)), "histograms", progress)
    if not done:
        return Ranking([], failed=failed)
    score = metrics.distance_sums(np.stack([h for _, h in done]), metrics.bhattacharyya)
    order = np.argsort(-score, kind="stable")
    return Ranking([done[i][0] for i in order], scores={done[i][0].name: float(score[i]) for i in order}, failed=failed)


@sort_method("brightness", "brightest face first")
def sort_brightness(faces: list[FaceFile], progress: bool = True) -> Ranking:
    return by_score(faces, lambda f: metrics.brightness(f.image, _mask(f)), True, "brightness", progress)


@sort_method("hue", "by mean hue of the face")
def sort_hue(faces: list[FaceFile], progress: bool = True) -> Ranking:
    return by_score(faces, lambda f: metrics.hue(f.image, _mask(f)), True, "hue", progress)


@sort_method("black", "fewest black pixels first: faces cut at the frame edge go last")
def sort_black(faces: list[FaceFile], progress: bool = True) -> Ranking:
    return by_score(faces, lambda f: metrics.black_share(f.image), False, "black pixels", progress)


@sort_method("origname", "by source file and frame number (the original extraction order)")
def sort_origname(faces: list[FaceFile], progress: bool = True) -> Ranking:
    key = lambda f: (f.meta.source.filename, f.meta.source.frame_index, f.meta.face_index, f.meta.original_name or f.name)  # noqa: E731
    return Ranking(sorted(faces, key=key))


@sort_method("oneface", "faces of frames that hold more than one face go to the trash")
def sort_oneface(faces: list[FaceFile], progress: bool = True) -> Ranking:
    frames: dict[tuple[str, int], list[FaceFile]] = defaultdict(list)
    for f in faces:
        frames[(f.meta.source.filename, f.meta.source.frame_index)].append(f)
    keep, rejects = [], []
    for key in sorted(frames):
        group = frames[key]
        if len(group) > 1:
            rejects += [(f, f"frame {key[1]} holds {len(group)} faces") for f in group]
        else:
            keep += group
    return Ranking(keep, rejects)


@sort_method("absdiff", "smallest pixel difference next to each other (groups near-duplicates)")
def sort_absdiff(faces: list[FaceFile], progress: bool = True) -> Ranking:
    return by_chain(faces, lambda f: metrics.thumbnail(f.image), metrics.l2, "pixel differences", progress)


@sort_method("identity", "groups faces by person (dlib face embedding, cached in the metadata)")
def sort_identity(faces: list[FaceFile], progress: bool = True) -> Ranking:
    from scipy.cluster.hierarchy import leaves_list, linkage

    from doppel.identity import embed_faces

    emb = embed_faces([f.path for f in faces], progress=progress)
    ok = ~np.isnan(emb[:, 0])
    good = [f for f, k in zip(faces, ok) if k]
    failed = [(f.path, "no face found for an identity embedding") for f, k in zip(faces, ok) if not k]
    if len(good) < 3:
        return Ranking(good, failed=failed)
    if len(good) <= LINKAGE_LIMIT:  # the dendrogram keeps each person's faces in one run
        order = leaves_list(linkage(emb[ok].astype(np.float64), method="average"))
    else:  # linkage needs N^2 memory; a nearest-neighbour chain needs N
        order = metrics.nearest_chain(emb[ok], metrics.l2)
    return Ranking([good[i] for i in order], failed=failed)
