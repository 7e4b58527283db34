"""Fuzzing alignments.json: a damaged index loads as a fully typed index or is refused in one line naming it."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from doppel.core.alignments import Alignments
from hostile_helpers import corrupt_bytes, mutate_json, refused_or_ok

GOOD = {"source": "dst.mp4", "faces_dir": ".", "fps": 30.0, "width": 64, "height": 64, "complete": True, "schema": 1,
        "frames": [{"index": i, "timestamp": i / 30, "faces": [f"{i:06d}_0.jpg"] * (i % 2)} for i in range(4)]}


def _write_and_load(path, content: bytes):
    path.write_bytes(content)
    index = refused_or_ok(lambda: Alignments.load(path), path.name)
    if index is not None:
        assert isinstance(index.source, str) and isinstance(index.faces_dir, str) and isinstance(index.complete, bool)
        for frame in index.frames:
            assert isinstance(frame.index, int) and frame.index >= 0
            assert all(isinstance(name, str) and "/" not in name for name in frame.faces)
        assert index.by_index() is not None


@given(data=st.data())
def test_fuzz_alignments_fields(fuzz_dir, data):
    _write_and_load(fuzz_dir / "alignments.json", json.dumps(mutate_json(data, GOOD)).encode())


@given(data=st.data())
def test_fuzz_alignments_bytes(fuzz_dir, data):
    _write_and_load(fuzz_dir / "alignments.json", corrupt_bytes(data, json.dumps(GOOD).encode()))
