"""Fuzzing face metadata (JPEG APP15 segments, PNG iTXt): whatever the damage, reading a face gives
metadata that is safe to use or a one-line DoppelError naming the file. Never a traceback."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from doppel.core.metadata import FaceMeta, extract_metadata_bytes, read_metadata
from hostile_helpers import app15_segments, corrupt_bytes, face_bytes, mutate_json, refused_or_ok, with_payload

JPEG = face_bytes(".jpg")
PNG = face_bytes(".png")
RECORD = json.loads(extract_metadata_bytes(JPEG))


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return tmp_path_factory.mktemp("fuzz_faces")


def _check(path):
    meta = refused_or_ok(lambda: read_metadata(path), path.name)
    if meta is not None:  # accepted: every field is of its type and usable downstream
        assert meta.landmarks.shape == (68, 2) and np.isfinite(meta.landmarks).all()
        assert np.isfinite(meta.source_to_face).all()
        assert isinstance(meta.size, int) and meta.size > 0 and isinstance(meta.pose.yaw, float)
        assert FaceMeta.from_json(meta.to_json()).to_dict() == meta.to_dict()


def _metadata_span(data: bytes) -> tuple[int, int]:
    start = app15_segments(data)[0] if data is JPEG else data.index(b"iTXt") - 4
    return start, start + 600


@pytest.mark.parametrize("kind", ["jpeg", "png"])
@given(data=st.data())
def test_fuzz_face_file_bytes(folder, kind, data):
    base = JPEG if kind == "jpeg" else PNG
    path = folder / f"face.{'jpg' if kind == 'jpeg' else 'png'}"
    path.write_bytes(corrupt_bytes(data, base, _metadata_span(base)))
    _check(path)


@given(data=st.data())
def test_fuzz_jpeg_chunk_headers(folder, data):
    """Metadata spread over several APP15 segments, their chunk headers damaged."""
    big = with_payload(JPEG, json.dumps({**RECORD, "extra": {"pad": "x" * 150_000}}).encode())
    starts = app15_segments(big)
    at = data.draw(st.sampled_from(starts)) + 4 + len(b"doppel\0")
    path = folder / "chunks.jpg"
    path.write_bytes(corrupt_bytes(data, big, (at - 6, at + 4)))
    _check(path)


@pytest.mark.parametrize("kind", ["jpeg", "png"])
@given(data=st.data())
def test_fuzz_face_record_fields(folder, kind, data):
    record = mutate_json(data, RECORD)
    path = folder / f"record.{'jpg' if kind == 'jpeg' else 'png'}"
    path.write_bytes(with_payload(JPEG if kind == "jpeg" else PNG, json.dumps(record).encode()))
    _check(path)


@given(payload=st.binary(max_size=300) | st.text(max_size=200).map(str.encode))
def test_fuzz_face_payload_text(folder, payload):
    path = folder / "payload.jpg"
    path.write_bytes(with_payload(JPEG, payload))
    _check(path)
