"""Sort methods on real faces: outcomes that would fail if a method sorted the wrong way."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from doppel.core.images import list_images, read_face, write_face
from doppel.core.metadata import read_metadata
from doppel.curate import recover_names, sort_faceset, sort_methods
from doppel.core.trash import restore

from curate_helpers import count_all, fingerprint

ALL_METHODS = {"blur", "motion-blur", "yaw", "pitch", "size", "hist", "hist-dissim", "brightness", "hue", "black",
               "origname", "oneface", "absdiff", "identity", "final"}


def _copies(folder: Path, n: int, suffix: str, transform) -> list[tuple[str, str]]:
    """Write transformed copies of the first n faces (same metadata); returns (original, copy) names."""
    pairs = []
    for path in list_images(folder)[:n]:
        face = read_face(path)
        name = f"{path.stem}_{suffix}.jpg"
        face.meta.original_name = None  # a new file, not a renamed one
        write_face(folder / name, transform(face.image), face.meta, 95)
        pairs.append((path.name, name))
    return pairs


def _rank(result) -> dict[str, int]:
    """original file name -> position in the sorted set."""
    return {read_metadata(p).original_name: i for i, p in enumerate(result.kept)}


def test_methods_are_listed():
    names = {name for name, _help in sort_methods()}
    assert names == ALL_METHODS
    assert all(help for _name, help in sort_methods())


def test_blur_puts_blurred_copies_after_sharp_originals(src_set: Path):
    pairs = _copies(src_set, 12, "blurred", lambda im: cv2.GaussianBlur(im, (0, 0), 2.5))
    rank = _rank(sort_faceset(src_set, "blur", progress=False))
    assert all(rank[orig] < rank[blurred] for orig, blurred in pairs)
    # the blurred copies form the tail of the set
    assert min(rank[b] for _, b in pairs) > len(rank) - len(pairs) - 5


def test_motion_blur_puts_streaked_copies_after_originals(src_set: Path):
    kernel = np.zeros((9, 9), np.float32)
    kernel[4, :] = 1 / 9  # a horizontal streak: detail along x is gone, along y it stays
    pairs = _copies(src_set, 10, "motion", lambda im: cv2.filter2D(im, -1, kernel))
    rank = _rank(sort_faceset(src_set, "motion-blur", progress=False))
    assert all(rank[orig] < rank[streaked] for orig, streaked in pairs)


def test_yaw_order_agrees_with_stored_yaw(src_set: Path):
    result = sort_faceset(src_set, "yaw", progress=False)
    yaws = [read_metadata(p).pose.yaw for p in result.kept]
    assert len(yaws) == 40
    assert yaws == sorted(yaws, reverse=True)
    assert max(yaws) - min(yaws) > 3  # a real spread, so the check means something


def test_sort_renames_with_rank_and_recover_names_restores(src_set: Path):
    before = {p.name for p in list_images(src_set)}
    pixels = {p.name: cv2.imread(str(p)).tobytes() for p in list_images(src_set)}
    result = sort_faceset(src_set, "pitch", progress=False)
    assert [p.name[:6] for p in result.kept[:2]] == ["00000_", "00001_"]
    sort_faceset(src_set, "hist", progress=False)  # a second sort keeps the first original name
    assert all(p.name.split("_", 1)[1] in before for p in list_images(src_set))
    assert recover_names(src_set) == 40
    after = list_images(src_set)
    assert {p.name for p in after} == before
    assert all(cv2.imread(str(p)).tobytes() == pixels[p.name] for p in after)


def test_final_keeps_exactly_n_and_covers_yaw(dst_set: Path):
    yaws = {p.name: read_metadata(p).pose.yaw for p in list_images(dst_set)}
    total = count_all(dst_set)
    result = sort_faceset(dst_set, "final", target=12, progress=False)
    assert len(result.kept) == 12 == len(list_images(dst_set))
    assert len(result.trashed) == len(yaws) - 12
    assert count_all(dst_set) == total
    kept = [yaws[read_metadata(p).original_name] for p in result.kept]
    width = (max(yaws.values()) - min(yaws.values())) / 12  # one yaw bin
    assert min(kept) <= min(yaws.values()) + width
    assert max(kept) >= max(yaws.values()) - width


def test_final_then_restore_and_recover_gives_the_set_back(dst_set: Path):
    names = {p.name for p in list_images(dst_set)}
    index_before = (dst_set / "alignments.json").read_text()
    sort_faceset(dst_set, "final", target=8, progress=False)
    restore(dst_set)
    recover_names(dst_set)
    assert {p.name for p in list_images(dst_set)} == names
    assert (dst_set / "alignments.json").read_text() == index_before


def test_oneface_trashes_frames_with_two_faces(src_set: Path):
    path = list_images(src_set)[5]
    face = read_face(path)
    face.meta.face_index = 1
    write_face(src_set / "second_face.jpg", face.image, face.meta)
    result = sort_faceset(src_set, "oneface", progress=False)
    assert sorted(result.trashed) == sorted([path.name, "second_face.jpg"])
    assert len(result.kept) == 39


def test_black_puts_cut_faces_last(src_set: Path):
    def cut(im):
        im = im.copy()
        im[:, : im.shape[1] // 3] = 0  # a face at the frame edge: the warp filled it black
        return im

    pairs = _copies(src_set, 3, "cut", cut)
    rank = _rank(sort_faceset(src_set, "black", progress=False))
    assert sorted(rank[c] for _, c in pairs) == [40, 41, 42]


@pytest.mark.parametrize("method", ["motion-blur", "size", "hist", "hist-dissim", "brightness", "hue", "origname", "absdiff"])
def test_other_methods_keep_every_face(src_set: Path, method: str):
    before = fingerprint(src_set)
    result = sort_faceset(src_set, method, progress=False)
    assert len(result.kept) == 40 and not result.trashed
    recover_names(src_set)
    assert set(fingerprint(src_set)) == set(before)


def test_brightness_and_hist_mean_something(src_set: Path):
    pairs = _copies(src_set, 2, "dark", lambda im: (im * 0.3).astype(np.uint8))
    rank = _rank(sort_faceset(src_set, "brightness", progress=False))
    assert sorted(rank[d] for _, d in pairs) == [40, 41]
    # a near-duplicate sits next to its original in the histogram chain
    recover_names(src_set)
    pairs = _copies(src_set, 1, "twin", lambda im: cv2.GaussianBlur(im, (3, 3), 0))
    order = [read_metadata(p).original_name for p in sort_faceset(src_set, "hist", progress=False).kept]
    orig, twin = pairs[0]
    assert abs(order.index(orig) - order.index(twin)) == 1


def test_a_crafted_original_name_cannot_move_files_out(src_set: Path):
    path = list_images(src_set)[0]
    face = read_face(path)
    face.meta.original_name = "../escaped.jpg"  # metadata travels with shared facesets
    write_face(path, face.image, face.meta)
    sort_faceset(src_set, "yaw", progress=False)
    recover_names(src_set)
    assert not (src_set.parent / "escaped.jpg").exists()
    assert (src_set / path.name).is_file() and len(list_images(src_set)) == 40


def test_share_evenly_gives_rare_poses_their_share():
    from doppel.curate.final import select_best, share_evenly

    assert share_evenly([1, 10, 10], 9) == [1, 4, 4]
    assert share_evenly([2, 0, 3], 10) == [2, 0, 3]
    assert sum(share_evenly([5, 50, 500, 3], 40)) == 40
    rng = np.random.default_rng(0)
    yaw = np.concatenate([rng.normal(0, 3, 200), [-60.0, 55.0]])  # two rare profiles among frontal faces
    n = len(yaw)
    chosen = select_best(yaw, rng.normal(0, 5, n), rng.random(n), rng.random((n, 192)).astype(np.float32), 10)
    assert len(chosen) == len(set(chosen)) == 10
    assert {200, 201} <= set(chosen)


def test_empty_and_metadata_free_folders(tmp_path: Path):
    empty = tmp_path / "empty"
    empty.mkdir()
    assert sort_faceset(empty, "final", target=5, progress=False).kept == ()
    plain = tmp_path / "plain"
    plain.mkdir()
    cv2.imwrite(str(plain / "a.png"), np.zeros((32, 32, 3), np.uint8))
    result = sort_faceset(plain, "blur", progress=False)
    assert result.kept == () and [p.name for p, _ in result.skipped] == ["a.png"]
    assert (plain / "a.png").is_file()
