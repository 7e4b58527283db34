"""Faceset tools and bad input: reported, not crashed on; archives that cannot escape their folder."""

from __future__ import annotations

import hashlib
import json
import sys
import zipfile
from pathlib import Path

import cv2
import numpy as np
import pytest

from doppel.core.errors import DoppelError, NoMetadataError
from doppel.core.images import list_images, read_face
from doppel.core.metadata import read_metadata
from doppel.curate import sort_faceset
from doppel.curate.info import faceset_info
from doppel.curate.metastore import restore_meta, save_meta
from doppel.curate.pack import MANIFEST, pack_faceset, unpack_faceset

from curate_helpers import fingerprint


def _add_bad_files(folder: Path) -> None:
    (folder / "notes.txt").write_text("not an image")
    cv2.imwrite(str(folder / "plain.png"), np.full((64, 64, 3), 90, np.uint8))  # an image without metadata
    (folder / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 this is not really a jpeg")


def test_bad_files_are_reported_not_crashed_on(src_set: Path):
    _add_bad_files(src_set)
    result = sort_faceset(src_set, "blur", progress=False)
    assert len(result.kept) == 40
    skipped = {p.name: why for p, why in result.skipped}
    assert set(skipped) == {"notes.txt", "plain.png", "broken.jpg"}
    assert "metadata" in skipped["plain.png"]
    assert (src_set / "notes.txt").is_file() and (src_set / "plain.png").is_file() and (src_set / "broken.jpg").is_file()
    info = faceset_info(src_set, progress=False)
    assert info.faces == 40 and info.no_meta == ("plain.png",) and info.other_files == ("notes.txt",)
    assert [name for name, _ in info.unreadable] == ["broken.jpg"]
    assert sum(c for _, _, c in info.yaw_histogram) == 40
    assert info.sharpness["min"] < info.sharpness["max"]


def _run_cli(monkeypatch, capsys, *args) -> tuple[int, str]:
    from doppel.cli import main

    monkeypatch.setattr(sys, "argv", ["doppel", *map(str, args)])
    code = 0
    try:
        main()
    except SystemExit as e:
        code = e.code or 0
    out = capsys.readouterr()
    return code, out.out + out.err


def test_cli_errors_are_one_line_and_exit_2(monkeypatch, capsys, tmp_path: Path, src_set: Path):
    code, text = _run_cli(monkeypatch, capsys, "sort", tmp_path / "missing", "--by", "blur")
    assert code == 2 and "missing: not a folder" in text and len(text.strip().splitlines()) == 1
    code, text = _run_cli(monkeypatch, capsys, "sort", src_set, "--by", "sideways")
    assert code == 2 and "unknown sort method" in text
    code, text = _run_cli(monkeypatch, capsys, "sort", src_set, "--by", "final")
    assert code == 2 and "--target" in text
    code, text = _run_cli(monkeypatch, capsys, "sort", src_set, "--by", "final", "--target", "5")
    assert code == 0 and "kept 5 faces, trashed 35" in text
    code, text = _run_cli(monkeypatch, capsys, "trash", "restore", src_set)
    assert code == 0 and "35 faces restored" in text
    code, text = _run_cli(monkeypatch, capsys, "sort", src_set, "--recover-names")
    assert code == 0 and len(list_images(src_set)) == 40


def test_pack_unpack_round_trip(dst_set: Path, tmp_path: Path):
    before = fingerprint(dst_set)
    archive = pack_faceset(dst_set, tmp_path / "set.faceset.zip").path
    with zipfile.ZipFile(archive) as zf:
        assert all(i.compress_type == zipfile.ZIP_STORED for i in zf.infolist())
        assert MANIFEST in zf.namelist()
    unpack_faceset(archive, tmp_path / "out")
    after = fingerprint(tmp_path / "out")
    assert after == {k: v for k, v in before.items() if k.endswith((".jpg", "alignments.json"))}
    with pytest.raises(DoppelError, match="already exist"):
        unpack_faceset(archive, tmp_path / "out")


def _evil_archive(path: Path, name: str, data: bytes = b"x") -> Path:
    manifest = {"format": "doppel-faceset", "version": 1, "files": [{"name": name, "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}]}
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(name, data)
        zf.writestr(MANIFEST, json.dumps(manifest))
    return path


@pytest.mark.parametrize("name", ["../evil.jpg", "/tmp/evil.jpg", "sub/../../evil.jpg", "..\\evil.jpg", "run.py"])
def test_unpack_refuses_unsafe_names(tmp_path: Path, name: str):
    archive = _evil_archive(tmp_path / "evil.zip", name)
    out = tmp_path / "a" / "b"
    with pytest.raises(DoppelError, match="unsafe file name"):
        unpack_faceset(archive, out)
    assert not (tmp_path / "a" / "evil.jpg").exists() and not Path("/tmp/evil.jpg").exists()
    assert not out.exists() or not any(out.iterdir())


def test_unpack_refuses_tampered_files(dst_set: Path, tmp_path: Path):
    archive = pack_faceset(dst_set, tmp_path / "set.zip").path
    with zipfile.ZipFile(archive) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    victim = next(n for n in members if n.endswith(".jpg"))
    members[victim] = members[victim][:-10] + b"0123456789"
    with zipfile.ZipFile(tmp_path / "bad.zip", "w") as zf:
        for n, d in members.items():
            zf.writestr(n, d)
    with pytest.raises(DoppelError, match="damaged"):
        unpack_faceset(tmp_path / "bad.zip", tmp_path / "out")
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").iterdir())  # nothing half-written


def test_meta_save_and_restore_after_outside_edit(src_set: Path):
    path, n = save_meta(src_set)
    assert n == 40
    edited, resized = list_images(src_set)[:2]
    meta_resized = read_metadata(resized)
    image = cv2.imread(str(edited))
    cv2.imwrite(str(edited), 255 - image)  # an editor saves without our metadata
    cv2.imwrite(str(resized.with_suffix(".png")), cv2.resize(cv2.imread(str(resized)), (64, 64)))
    resized.unlink()  # ... and this one came back as a half-size PNG
    with pytest.raises(NoMetadataError):
        read_metadata(edited)
    result = restore_meta(src_set)
    assert sorted(result.restored) == sorted([edited.name, resized.with_suffix(".png").name])
    assert result.rescaled == (resized.with_suffix(".png").name,)
    back = read_metadata(resized.with_suffix(".png"))
    assert back.size == 64
    np.testing.assert_allclose(back.landmarks, meta_resized.landmarks * 0.5, atol=0.02)
    assert read_metadata(edited).source == read_metadata(list_images(src_set)[0]).source


def test_resize_sheet_debug_and_to_jpg(src_set: Path, tmp_path: Path):
    from doppel.curate.convert import to_jpg
    from doppel.curate.debug import draw_debug
    from doppel.curate.resize import resize_faceset
    from doppel.curate.sheet import contact_sheet

    r = resize_faceset(src_set, tmp_path / "small", 64, progress=False)
    assert r.written == 40
    small = read_face(list_images(tmp_path / "small")[0])
    big = read_face(list_images(src_set)[0])
    assert small.image.shape == (64, 64, 3) and small.meta.size == 64
    np.testing.assert_allclose(small.meta.landmarks, big.meta.landmarks * 0.5, atol=0.6)
    assert resize_faceset(src_set, tmp_path / "small", 64, progress=False).skipped_existing == 40  # resumable

    sheet, shown = contact_sheet(src_set, tmp_path / "sheet.png", thumb=48, columns=8, progress=False)
    assert shown == 40 and cv2.imread(str(sheet)).shape[1] == 8 * 48

    n, problems = draw_debug(src_set, tmp_path / "debug", progress=False)
    assert n == 40 and not problems
    assert not np.array_equal(cv2.imread(str(tmp_path / "debug" / f"{big.path.stem}.jpg")), big.image)

    png = src_set / "as_png.png"
    from doppel.core.images import write_face

    write_face(png, big.image, big.meta)
    converted, _ = to_jpg(src_set, progress=False)
    assert converted == 1 and not png.exists()
    assert read_metadata(src_set / "as_png.jpg").source == big.meta.source
    assert (src_set / "_trash" / "as_png.png").is_file()
