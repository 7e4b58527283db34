"""Nothing is ever deleted: the trash keeps every rejected face and gives it back byte-identical."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from doppel.core.alignments import Alignments
from doppel.core.images import list_images
from doppel.curate.rename import JOURNAL_NAME, finish_pending_renames, rename_all
from doppel.core.trash import read_journal, restore, trash_files

from curate_helpers import count_all, fingerprint


def test_trash_then_restore_is_byte_identical(dst_set: Path):
    before = fingerprint(dst_set)
    total = count_all(dst_set)
    faces = list_images(dst_set)
    victims = faces[3:9]
    entries = trash_files(dst_set, victims, "looks wrong")
    assert len(entries) == 6
    assert count_all(dst_set) == total
    assert len(list_images(dst_set)) == len(faces) - 6
    journal = read_journal(dst_set)
    assert {e.original for e in journal} == {v.name for v in victims}
    assert all(e.reason == "looks wrong" and e.time for e in journal)
    # the alignments index no longer lists trashed faces (their frames will not be swapped) ...
    listed = {n for f in Alignments.load(dst_set / "alignments.json").frames for n in f.faces}
    assert not listed & {v.name for v in victims}
    result = restore(dst_set)
    assert len(result.restored) == 6 and not result.missing
    assert fingerprint(dst_set) == before  # ... and restoring puts the index back exactly too
    assert read_journal(dst_set) == []


def test_restore_never_overwrites_and_can_pick_files(src_set: Path):
    faces = list_images(src_set)
    trash_files(src_set, faces[:3], "test")
    stranger = src_set / faces[0].name
    stranger.write_bytes(b"a new file took the name")
    result = restore(src_set, [faces[1].name])
    assert [r[1] for r in result.restored] == [faces[1].name]
    result = restore(src_set)
    restored = dict(result.restored)
    assert restored[faces[0].name] == f"{faces[0].stem}~1{faces[0].suffix}"
    assert stranger.read_bytes() == b"a new file took the name"
    assert (src_set / faces[2].name).is_file()


def test_trash_name_clash_inside_trash(src_set: Path):
    face = list_images(src_set)[0]
    data = face.read_bytes()
    trash_files(src_set, [face], "first")
    face.write_bytes(b"second file, same name")
    trash_files(src_set, [face], "second")
    names = sorted(e.trashed for e in read_journal(src_set))
    assert names == sorted([face.name, f"{face.stem}~1{face.suffix}"])
    restore(src_set)
    assert {p.read_bytes() for p in src_set.glob(f"{face.stem}*")} == {data, b"second file, same name"}


def test_rename_batch_interrupted_midway_is_finished(src_set: Path):
    faces = [p.name for p in list_images(src_set)][:4]
    before = {n: (src_set / n).read_bytes() for n in faces}
    mapping = {faces[0]: faces[1], faces[1]: faces[2], faces[2]: faces[0], faces[3]: "renamed.jpg"}  # a cycle
    # simulate a crash after phase one moved two files to their temp names
    triples = [[o, f".rename{i:06d}.dead{Path(o).suffix}", n] for i, (o, n) in enumerate(mapping.items())]
    (src_set / JOURNAL_NAME).write_text(json.dumps({"phase": "moving", "renames": triples}))
    for old, tmp, _ in triples[:2]:
        os.rename(src_set / old, src_set / tmp)
    assert finish_pending_renames(src_set)
    assert not (src_set / JOURNAL_NAME).exists()
    for old, new in mapping.items():
        assert (src_set / new).read_bytes() == before[old]
    # and a normal batch that swaps names works in one go
    rename_all(src_set, {faces[1]: faces[2], faces[2]: faces[1]})
    assert (src_set / faces[2]).read_bytes() == before[faces[0]]


def test_rename_refuses_to_clobber(src_set: Path):
    a, b = [p.name for p in list_images(src_set)][:2]
    from doppel.core.errors import DoppelError

    with pytest.raises(DoppelError, match="taken"):
        rename_all(src_set, {a: b})
    assert (src_set / a).is_file() and (src_set / b).is_file()
