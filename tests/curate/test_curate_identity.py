"""Identity filtering and clustering on real photos of different people (identities/faceapi_bbt)."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from doppel.core.errors import DoppelError
from doppel.core.images import list_images
from doppel.core.metadata import read_metadata
from doppel.curate import cluster_faceset, filter_faceset, sort_faceset
from doppel.core.trash import restore
from doppel.identity import embed_faces, embed_image

from curate_helpers import BBT_PEOPLE, copy_faceset, count_all, fingerprint, person_of


@pytest.mark.parametrize("person", ["amy", "leonard"])
def test_filter_keeps_the_reference_person(bbt_faces: Path, tmp_path: Path, data_dir: Path, person: str):
    faces = copy_faceset(bbt_faces, tmp_path / "set")
    (faces / f"{person}1_0.jpg").unlink()  # the reference photo itself is not in the set
    reference = data_dir / "identities" / "faceapi_bbt" / person / f"{person}1.png"  # a plain photo
    before, total = fingerprint(faces), count_all(faces)
    result = filter_faceset(faces, [reference], progress=False)
    kept = {person_of(p) for p in result.kept}
    trashed = [person_of(n) for n in result.trashed]
    correct = sum(person_of(p) == person for p in result.kept) + sum(t != person for t in trashed)
    n = len(BBT_PEOPLE) * 5 - 1
    assert correct / n >= 0.95
    assert kept == {person}
    assert trashed.count(person) <= 1
    assert count_all(faces) == total
    restore(faces)
    assert fingerprint(faces) == before  # byte-identical set after restore


def test_cluster_three_people_gives_three_groups(bbt_faces: Path, tmp_path: Path):
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    for p in list_images(bbt_faces):
        if person_of(p) in ("howard", "penny", "raj"):
            shutil.copy2(p, mixed)
    result = cluster_faceset(mixed, progress=False)
    assert len(result.groups) == 3
    people = [{person_of(p) for p in group} for group in result.groups]
    assert sorted(len(s) for s in people) == [1, 1, 1]  # each group is one person
    assert {next(iter(s)) for s in people} == {"howard", "penny", "raj"}
    assert sum(len(g) for g in result.groups) == 15
    assert all(p.is_file() and p.parent.name.startswith("person_") for g in result.groups for p in g)
    assert list_images(mixed) == []


def test_identity_sort_keeps_each_person_together(bbt_faces: Path, tmp_path: Path):
    faces = copy_faceset(bbt_faces, tmp_path / "set")
    result = sort_faceset(faces, "identity", progress=False)
    people = [person_of(read_metadata(p).original_name) for p in result.kept]
    changes = sum(a != b for a, b in zip(people, people[1:]))
    assert len(people) == len(BBT_PEOPLE) * 5
    assert changes <= len(BBT_PEOPLE) - 1 + 2  # one change between people when each is one run


def test_embeddings_are_cached_in_the_metadata(bbt_faces: Path, tmp_path: Path, monkeypatch):
    faces = copy_faceset(bbt_faces, tmp_path / "set")
    paths = list_images(faces)[:5]
    assert all(read_metadata(p).embedding is not None for p in paths)
    first = embed_faces(paths)

    def no_model():
        raise AssertionError("the model ran although the embedding was cached")

    monkeypatch.setattr("doppel.identity.embed._models", no_model)
    np.testing.assert_array_equal(embed_faces(paths), first)


def test_no_face_gives_nan_and_bad_reference_is_an_error(tmp_path: Path):
    blank = np.full((200, 200, 3), 127, np.uint8)
    assert embed_image(blank) is None
    assert np.isnan(embed_faces([blank])).all()
    import cv2

    cv2.imwrite(str(tmp_path / "wall.png"), blank)
    (tmp_path / "set").mkdir()
    with pytest.raises(DoppelError, match="no face found in any reference"):
        filter_faceset(tmp_path / "set", [tmp_path / "wall.png"], progress=False)
    with pytest.raises(DoppelError, match="reference not found"):
        filter_faceset(tmp_path / "set", [tmp_path / "nobody.png"], progress=False)
