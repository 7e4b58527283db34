"""Fixtures for the curate tests: private copies of the shared real facesets, and a faceset of
five people of identities/faceapi_bbt (5 photos each), extracted once per session."""

from __future__ import annotations

from pathlib import Path

import cv2
import pytest

from curate_helpers import BBT_PEOPLE, copy_faceset


@pytest.fixture
def src_set(src_faces, tmp_path) -> Path:
    return copy_faceset(src_faces, tmp_path / "src")


@pytest.fixture
def dst_set(dst_faces, tmp_path) -> Path:
    return copy_faceset(dst_faces, tmp_path / "dst")


@pytest.fixture(scope="session")
def bbt_faces(data_dir, tmp_path_factory) -> Path:
    """Aligned faces of the BBT_PEOPLE photos, named `<person><n>_0.jpg`, embeddings cached.

    The photos are 150x150 tight greyscale crops; they are padded first so the detector sees a
    whole head, as the notes on this data set advise.
    """
    from doppel.faces.extract import ExtractOptions, extract
    from doppel.identity import embed_faces

    padded = tmp_path_factory.mktemp("bbt_padded")
    for photo in sorted(p for person in BBT_PEOPLE for p in (data_dir / "identities" / "faceapi_bbt" / person).glob("*.png")):
        image = cv2.imread(str(photo))
        cv2.imwrite(str(padded / photo.name), cv2.copyMakeBorder(image, 75, 75, 75, 75, cv2.BORDER_REPLICATE))
    out = tmp_path_factory.mktemp("bbt_faces")
    extract(padded, out, ExtractOptions(size=160, max_faces=1, alignments="off"), progress=False)
    embed_faces(sorted(out.glob("*.jpg")))  # cache once; copies carry the embeddings
    return out

