"""Fuzzing faceset archives: a damaged archive or manifest unpacks completely or not at all, with one
line naming the archive; nothing lands outside the output folder."""

from __future__ import annotations

import io
import json
import shutil
import zipfile

import pytest
from hypothesis import given
from hypothesis import strategies as st

from doppel.curate.pack import MANIFEST, pack_faceset, unpack_faceset
from hostile_helpers import corrupt_bytes, mutate_json, refused_or_ok, write_faces


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    root = tmp_path_factory.mktemp("fuzz_pack")
    write_faces(root / "faces", 3, size=32)
    pack_faceset(root / "faces", root / "set.zip")
    return root, (root / "set.zip").read_bytes()


def _unpack(root, data: bytes):
    path, out = root / "fuzzed.zip", root / "out"
    path.write_bytes(data)
    shutil.rmtree(out, ignore_errors=True)
    result = refused_or_ok(lambda: unpack_faceset(path, out), "fuzzed.zip")
    written = sorted(p.name for p in out.rglob("*")) if out.exists() else []
    if result is None:
        assert written == []  # refused: nothing was extracted
    else:
        assert len(written) == result.files and all(p.parent == out for p in out.iterdir())
    assert {p.name for p in root.iterdir()} <= {"faces", "fuzzed.zip", "out", "set.zip"}  # nothing beside OUT


@given(data=st.data())
def test_fuzz_archive_bytes(archive, data):
    root, original = archive
    _unpack(root, corrupt_bytes(data, original))


@given(data=st.data())
def test_fuzz_archive_manifest(archive, data):
    root, original = archive
    with zipfile.ZipFile(io.BytesIO(original)) as zf:
        members = {name: zf.read(name) for name in zf.namelist()}
    manifest = mutate_json(data, json.loads(members.pop(MANIFEST)))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for name, content in members.items():
            zf.writestr(name, content)
        zf.writestr(MANIFEST, json.dumps(manifest))
    _unpack(root, buffer.getvalue())
