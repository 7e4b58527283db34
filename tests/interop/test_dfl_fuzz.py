"""Fuzzing DeepFaceLab faces: damaged pickles (through the restricted unpickler), damaged dict fields and
damaged JPEG/PNG containers give doppel metadata or one line naming the file; nothing from the file runs."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from doppel.core.containers import jpeg_segments
from doppel.interop.dfl import dfl_face_bytes, dfl_payload, embed_dfl, read_dfl_dict
from doppel.interop.safe_pickle import plain_dumps
from hostile_helpers import JSON_VALUES, corrupt_bytes, mutate_json, refused_or_ok

ARRAYS = st.builds(lambda shape, fill: np.full(shape, fill),
                   st.lists(st.integers(0, 70), max_size=2).map(tuple),
                   st.floats(allow_nan=True, allow_infinity=True) | st.integers(-5, 5))
DFL_VALUES = JSON_VALUES | ARRAYS | st.binary(max_size=40)


@pytest.fixture(scope="module")
def sample(data_dir, tmp_path_factory):
    """(folder to write into, the bytes of one real DFL face, its dict)."""
    src = sorted((data_dir / "dfl_faceset_sample").glob("*.jpg"))[0]
    folder = tmp_path_factory.mktemp("fuzz_dfl")
    shutil.copy(src, folder / "face.jpg")
    return folder, src.read_bytes(), read_dfl_dict(src)


def _check(path):
    result = refused_or_ok(lambda: dfl_face_bytes(path), path.name)
    if result is not None:
        meta = result[1]
        assert meta.landmarks.shape == (68, 2) and np.isfinite(meta.source_to_face).all()


@given(data=st.data())
def test_fuzz_dfl_pickle_bytes(sample, data):
    folder, original, _ = sample
    payload = dfl_payload(original)
    path = folder / "face.jpg"
    path.write_bytes(embed_dfl(original, corrupt_bytes(data, payload)))
    _check(path)


@given(data=st.data())
def test_fuzz_dfl_dict_fields(sample, data):
    folder, original, d = sample
    plain = {k: (v.tolist() if isinstance(v, np.ndarray) and k != "xseg_mask" else v) for k, v in d.items()}
    changed = mutate_json(data, plain, DFL_VALUES)
    path = folder / "face.jpg"
    payload = plain_dumps(changed)
    assume(len(payload) < 65000)  # DFL keeps the pickle in one JPEG segment
    path.write_bytes(embed_dfl(original, payload))
    _check(path)


@given(data=st.data())
def test_fuzz_dfl_container(sample, data):
    folder, original, _ = sample
    segment = next(s for s in jpeg_segments(original) if s.marker == 0xEF)
    path = folder / "face.jpg"
    path.write_bytes(corrupt_bytes(data, original, (segment.start, segment.start + 64)))
    _check(path)
