"""Fuzzing merge settings files: valid settings or a one-line DoppelError naming the file."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from doppel.merge.settings import MergeSettings
from hostile_helpers import JSON_VALUES, corrupt_bytes, mutate_json, refused_or_ok

GOOD = {"kind": "doppel-merge-settings", "version": 1, "settings": MergeSettings().to_dict()}
SETTING_VALUES = JSON_VALUES | st.sampled_from(["overlay", "rct", "box", "-5", "1e9", "true"])


@pytest.fixture(scope="module")
def path(tmp_path_factory):
    return tmp_path_factory.mktemp("fuzz_settings") / "out.merge.json"


def _check(path):
    settings = refused_or_ok(lambda: MergeSettings.load(path), "out.merge.json")
    if settings is not None:
        assert settings.validate() == settings


@given(data=st.data())
def test_fuzz_merge_settings_fields(path, data):
    path.write_text(json.dumps(mutate_json(data, GOOD, SETTING_VALUES)))
    _check(path)


@given(data=st.data())
def test_fuzz_merge_settings_bytes(path, data):
    path.write_bytes(corrupt_bytes(data, json.dumps(GOOD).encode()))
    _check(path)
