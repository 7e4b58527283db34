"""Fuzzing merge settings files: valid settings or a one-line DoppelError naming the file."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from doppel.merge.settings import MergeSettings
from hostile_helpers import JSON_VALUES, corrupt_bytes, mutate_json, refused_or_ok

GOOD = {"kind": "doppel-merge-settings", "version": 1, "settings": MergeSettings().to_dict()}
SETTING_VALUES = JSON_VALUES | st.sampled_from(["overlay", "rct", "box", "-5", "1e9", "true"])


def _write_and_load(path, content: bytes):
    path.write_bytes(content)
    settings = refused_or_ok(lambda: MergeSettings.load(path), path.name)
    if settings is not None:
        assert MergeSettings(**settings.to_dict()) == settings  # every value checked and of its type


@given(data=st.data())
def test_fuzz_merge_settings_fields(fuzz_dir, data):
    _write_and_load(fuzz_dir / "out.merge.json", json.dumps(mutate_json(data, GOOD, SETTING_VALUES)).encode())


@given(data=st.data())
def test_fuzz_merge_settings_bytes(fuzz_dir, data):
    _write_and_load(fuzz_dir / "out.merge.json", corrupt_bytes(data, json.dumps(GOOD).encode()))
