"""XSeg: learned face masks. The public API of the feature lives here.

    polygons_to_mask(polys, size)            labels -> mask
    train_xseg(faces_dirs, model_dir, ...)   train/resume the segmenter on labelled faces
    load_xseg(model_dir) / predict_masks(model, images)
    apply_xseg(model_dir, faces_dir)         store a learned mask in every face's metadata
    remove_xseg(faces_dir, labels=False)     drop learned masks (and, asked, the labels: backed up first)
    face_mask(meta, size)                    the one mask rule (doppel/core/face_mask.py): learned > labels > landmark hull
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from doppel.core.atomic import write_json
from doppel.core.errors import NoMetadataError
from doppel.core.images import TRASH_DIR, list_images, read_image
from doppel.core.metadata import read_metadata, write_metadata
from doppel.masks.xseg_io import XSegModel, load_xseg, predict_masks, save_xseg
from doppel.core.face_mask import decode_mask, face_mask, label_mask, polygons_to_mask
from doppel.masks.xseg_labels import encode_mask, hull_polygon, iou, validate_polygons
from doppel.masks.xseg_options import XSegConfig, XSegTrainOptions
from doppel.media.progress import progress_bar
from doppel.masks.xseg_train import XSegTrainResult, train_xseg

__all__ = [
    "XSegConfig", "XSegModel", "XSegTrainOptions", "XSegTrainResult", "apply_xseg", "decode_mask",
    "encode_mask", "face_mask", "hull_labels", "hull_polygon", "iou", "label_mask", "load_xseg", "polygons_to_mask", "predict_masks",
    "remove_xseg", "save_xseg", "train_xseg", "validate_polygons",
]


@dataclass(frozen=True)
class ApplyResult:
    applied: int
    skipped: int  # already carried this model's mask (a resumed run) or had no metadata


def apply_xseg(
    model_dir: str | Path,
    faces_dir: str | Path,
    device: str | None = None,
    batch_size: int = 32,
    force: bool = False,
    progress: bool = True,
) -> ApplyResult:
    """Predict a mask for every face and store it in the face's metadata (atomic per file).

    Faces that already carry a mask from this very model are skipped, so an interrupted run resumes.
    """
    model = load_xseg(model_dir, device)
    stamp = {"model": model.sha256[:16], "iteration": model.iteration}
    todo, skipped = [], 0
    for path in list_images(faces_dir):
        try:
            meta = read_metadata(path)
        except NoMetadataError:
            skipped += 1
            continue
        if not force and meta.xseg_mask and meta.extra.get("xseg") == stamp:
            skipped += 1
            continue
        todo.append((path, meta))
    with progress_bar("xseg apply", len(todo), progress and bool(todo)) as bar:
        for i in range(0, len(todo), batch_size):
            chunk = todo[i : i + batch_size]
            masks = predict_masks(model, [read_image(p) for p, _ in chunk], batch_size)
            for (path, meta), mask in zip(chunk, masks):
                meta.xseg_mask = encode_mask(mask)
                meta.extra["xseg"] = stamp
                write_metadata(path, meta)
            bar.advance(len(chunk))
    return ApplyResult(len(todo), skipped)


def remove_xseg(faces_dir: str | Path, labels: bool = False) -> int:
    """Remove learned masks from every face; with `labels`, the hand-drawn polygons too.

    Labels are user work: before any is removed they are saved to `_trash/xseg-labels-<time>.json`
    (face name -> polygons), so nothing is lost.
    """
    faces_dir = Path(faces_dir)
    todo = []
    for path in list_images(faces_dir):
        try:
            meta = read_metadata(path)
        except NoMetadataError:
            continue
        if meta.xseg_mask or (labels and meta.xseg_polygons):
            todo.append((path, meta))
    backup = {p.name: m.xseg_polygons for p, m in todo if labels and m.xseg_polygons}
    if backup:
        write_json(faces_dir / TRASH_DIR / f"xseg-labels-{time.strftime('%Y%m%d-%H%M%S')}.json", backup)
    for path, meta in todo:
        meta.xseg_mask = None
        meta.extra.pop("xseg", None)
        if labels:
            meta.xseg_polygons = None
        write_metadata(path, meta)
    return len(todo)


def hull_labels(faces_dir: str | Path, forehead: float = 0.3, overwrite: bool = False, every: int = 1) -> int:
    """Give faces a starter label: one include polygon around the landmark hull. Returns faces labelled."""
    n = 0
    for i, path in enumerate(list_images(faces_dir)):
        if i % every:
            continue
        try:
            meta = read_metadata(path)
        except NoMetadataError:
            continue
        if meta.xseg_polygons and not overwrite:
            continue
        meta.xseg_polygons = [hull_polygon(meta.landmarks, forehead)]
        write_metadata(path, meta)
        n += 1
    return n


