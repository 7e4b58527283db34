"""Real faces for model tests (real_pair, the centre crops of the default clips, is in tests/conftest.py)."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def real_faces(src_faces, dst_faces) -> dict:
    """4 aligned real faces per identity at 64 and 96 px, from the shared extraction fixtures."""
    from models_helpers import load_faces

    return {size: {"src": load_faces(src_faces, 4, size), "dst": load_faces(dst_faces, 4, size)} for size in (64, 96)}
