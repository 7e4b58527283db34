"""Fuzzing a model folder's model.json and train_state.json: a checkpoint that loads is safe to resume
from (its options build, its RNG states restore); anything else is one line naming the file."""

from __future__ import annotations

import json
import shutil

import pytest
from hypothesis import given
from hypothesis import strategies as st

from doppel.core.errors import DoppelError
from doppel.models.registry import make_options
from doppel.train.checkpoint import read_checkpoint
from hostile_helpers import corrupt_bytes, mutate_json, refused_or_ok, restore_rng_and_reset


@pytest.fixture(scope="module")
def folder(untrained_model_dir, tmp_path_factory):
    dest = tmp_path_factory.mktemp("fuzz_model") / "model"
    shutil.copytree(untrained_model_dir, dest)
    return dest


def _load(folder):
    """A refusal names a file of the folder (the JSON, or the weights its checksum no longer matches)."""
    loaded = refused_or_ok(lambda: read_checkpoint(folder), str(folder))
    if loaded is None:
        return
    try:  # options of any type are checked when the model is built: a DoppelError, never a crash
        make_options(loaded.model_json["name"], **loaded.model_json["options"])
    except DoppelError:
        pass
    restore_rng_and_reset(loaded.rng)
    assert isinstance(loaded.state.iteration, int) and isinstance(loaded.state.extra, dict)


@pytest.mark.parametrize("name", ["model.json", "train_state.json"])
@given(data=st.data())
def test_fuzz_checkpoint_json_fields(folder, name, data):
    original = (folder / name).read_bytes()
    try:
        (folder / name).write_text(json.dumps(mutate_json(data, json.loads(original))))
        _load(folder)
    finally:
        (folder / name).write_bytes(original)


@pytest.mark.parametrize("name", ["model.json", "train_state.json"])
@given(data=st.data())
def test_fuzz_checkpoint_json_bytes(folder, name, data):
    original = (folder / name).read_bytes()
    try:
        (folder / name).write_bytes(corrupt_bytes(data, original))
        _load(folder)
    finally:
        (folder / name).write_bytes(original)
