"""Malformed but harmless DeepFaceLab faces: `doppel import-dfl` names each one on a line of its own,
skips it, converts the rest and says how many it skipped."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from doppel.core.errors import DoppelError
from doppel.core.images import list_images, read_face
from doppel.interop.dfl import dfl_face_bytes, embed_dfl, read_dfl_dict
from doppel.interop.safe_pickle import plain_dumps
from hostile_helpers import doppel


def _singular(d):
    d["image_to_face_mat"] = np.zeros((2, 3))


def _nan_landmarks(d):
    d["landmarks"] = np.full((68, 2), np.nan)


def _landmarks_text(d):
    d["landmarks"] = "68 points"


def _too_few_landmarks(d):
    d["landmarks"] = np.asarray(d["landmarks"])[:5]


def _rect_text(d):
    d["source_rect"] = "0 0 10 10"


def _polygon_kind_text(d):
    d["seg_ie_polys"] = {"polys": [{"type": "include", "pts": [[0, 0], [1, 0], [1, 1]]}]}


def _polygons_wrong(d):
    d["seg_ie_polys"] = [[1, 2, 3]]


def _mask_is_number(d):
    d["xseg_mask"] = 5


def _face_type_list(d):
    d["face_type"] = ["whole_face"]


def _degenerate_landmarks(d):
    d["landmarks"] = np.zeros((68, 2))
    d["source_landmarks"] = np.zeros((68, 2))


def _huge_numbers(d):
    d["source_landmarks"] = np.full((68, 2), 1e300)


MALFORMED = {f.__name__.lstrip("_"): f for f in (_singular, _nan_landmarks, _landmarks_text, _too_few_landmarks, _rect_text,
                                                  _polygon_kind_text, _polygons_wrong, _mask_is_number, _face_type_list,
                                                  _degenerate_landmarks, _huge_numbers)}


def _damage(path, change):
    d = read_dfl_dict(path)
    change(d)
    path.write_bytes(embed_dfl(path.read_bytes(), plain_dumps(d)))


@pytest.fixture
def dfl_src(data_dir, tmp_path):
    src = tmp_path / "src"
    shutil.copytree(data_dir / "dfl_faceset_sample", src)
    return src


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_malformed_dfl_face_is_one_line_naming_the_file(dfl_src, case):
    path = list_images(dfl_src)[0]
    _damage(path, MALFORMED[case])
    try:
        dfl_face_bytes(path)  # degenerate but finite landmarks convert; the pose is then unknown
    except DoppelError as e:
        assert path.name in e.one_line() and "\n" not in e.one_line()
    else:
        assert case in ("degenerate_landmarks",)


def test_import_dfl_skips_bad_faces_and_converts_the_rest(dfl_src, tmp_path, monkeypatch, capsys):
    files = list_images(dfl_src)
    bad = {files[0].name: _singular, files[2].name: _nan_landmarks, files[4].name: _landmarks_text}
    for name, change in bad.items():
        _damage(dfl_src / name, change)
    out = tmp_path / "out"
    r = doppel(monkeypatch, capsys, "import-dfl", dfl_src, out)
    assert "Traceback" not in r.stderr + r.stdout, r.stderr
    assert r.returncode == 2  # documented: the run finishes, then exits non-zero naming the first skipped file
    skipped = [line for line in r.stderr.splitlines() if line.startswith("skipped ")]
    assert len(skipped) == len(bad) and all(any(name in line for line in skipped) for name in bad)
    assert f"imported {len(files) - len(bad)} faces into {out}, skipped {len(bad)}" in r.stdout
    converted = sorted(p.name for p in list_images(out))
    assert converted == sorted(p.name for p in files if p.name not in bad)
    for name in converted:
        assert read_face(out / name).meta.landmarks.shape == (68, 2)


def test_damage_after_the_dfl_segment_is_one_line_naming_the_file(dfl_src):
    """Found by fuzzing: the pickle reads, the file breaks further on (seen while rewriting it)."""
    from doppel.core.containers import jpeg_segments

    path = list_images(dfl_src)[0]
    data = path.read_bytes()
    after = next(s for s in jpeg_segments(data) if s.marker == 0xEF).end
    path.write_bytes(data[:after] + b"\x00" + data[after:])  # a stray byte: libjpeg skips it, the walker does not
    with pytest.raises(DoppelError) as e:
        dfl_face_bytes(path)
    assert path.name in e.value.one_line() and "damaged image" in e.value.one_line()


def test_a_header_claiming_a_huge_image_is_refused_before_decoding(dfl_src):
    """Found by fuzzing: four header bytes made the decoder allocate 5 GB (30000 x 30000 pixels)."""
    from doppel.core.containers import jpeg_segments
    from doppel.core.images import read_image

    path = list_images(dfl_src)[0]
    data = bytearray(path.read_bytes())
    frame = next(s for s in jpeg_segments(bytes(data)) if s.marker == 0xC0)
    data[frame.start + 5 : frame.start + 9] = (30000).to_bytes(2, "big") * 2
    path.write_bytes(bytes(data))
    for read in (dfl_face_bytes, read_image):
        with pytest.raises(DoppelError, match="30000x30000") as e:
            read(path)
        assert path.name in e.value.one_line()


def test_a_length_field_claiming_exabytes_is_refused_without_allocating(dfl_src):
    """Found by fuzzing: one flipped bit turned MEMOIZE into BYTEARRAY8 with a length of 7e18 bytes."""
    from doppel.interop.dfl import dfl_payload
    from doppel.interop.safe_pickle import UnsafePickleError, safe_loads

    payload = bytearray(dfl_payload(list_images(dfl_src)[0].read_bytes()))
    at = payload.index(b"whole_face\x94") + len(b"whole_face")
    payload[at] = 0x96  # BYTEARRAY8: the next 8 bytes are read as its length
    with pytest.raises(UnsafePickleError, match="bytearray8"):
        safe_loads(bytes(payload))


def test_a_memo_index_of_billions_is_refused_without_allocating(dfl_src):
    """Found by fuzzing: LONG_BINPUT 1570009963 made the unpickler zero a 12 GB memo."""
    from doppel.interop.dfl import dfl_payload
    from doppel.interop.safe_pickle import UnsafePickleError, safe_loads

    payload = bytearray(dfl_payload(list_images(dfl_src)[0].read_bytes()))
    at = payload.index(b"whole_face\x94") + len(b"whole_face")
    payload[at : at + 1] = b"r" + (1570009963).to_bytes(4, "little")  # LONG_BINPUT
    with pytest.raises(UnsafePickleError, match="memo index"):
        safe_loads(bytes(payload))
