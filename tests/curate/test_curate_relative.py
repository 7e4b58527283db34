"""Curate commands given a relative folder (the usual way to type them): rejects really go to the trash."""

from __future__ import annotations

from pathlib import Path

from doppel.core.images import TRASH_DIR, list_images
from doppel.core.trash import read_journal, restore, trash_files

from curate_helpers import fingerprint
from tests.cli_helpers import run_doppel




def test_sort_final_with_a_relative_folder_trashes_the_rejects(src_set: Path, monkeypatch, capsys):
    monkeypatch.chdir(src_set.parent)
    total = len(list_images(src_set))
    before = fingerprint(src_set)
    (src_set / ".000010_0.x7.part.jpg").write_bytes(b"\0" * 1000)  # left by a sort killed mid-write
    code, out, err = run_doppel(monkeypatch, capsys, "sort", src_set.name, "--by", "final", "--target", "5")
    assert code == 0 and f"trashed {total - 5}" in out
    assert "removed 1 leftover temporary file" in err and not list(src_set.glob(".*.part*"))
    assert len(list_images(src_set)) == 5 and len(read_journal(src_set)) == total - 5
    assert not (src_set / src_set.name).exists()
    code, out, _ = run_doppel(monkeypatch, capsys, "trash", "restore", src_set.name)
    assert code == 0 and f"{total - 5} faces restored" in out
    assert len(list_images(src_set)) == total
    assert run_doppel(monkeypatch, capsys, "sort", src_set.name, "--recover-names")[0] == 0
    assert set(fingerprint(src_set)) == set(before)  # the kept faces now carry their original name inside


def test_trash_takes_names_and_paths_that_include_a_relative_folder(src_set: Path, monkeypatch):
    monkeypatch.chdir(src_set.parent)
    folder = Path(src_set.name)
    first, second = (p.name for p in list_images(folder)[:2])
    entries = trash_files(folder, [folder / first, second], "test")
    assert [e.original for e in entries] == [first, second]
    assert not (folder / first).exists() and (folder / TRASH_DIR / first).is_file()
    assert len(restore(folder).restored) == 2 and (folder / first).is_file() and (folder / second).is_file()
