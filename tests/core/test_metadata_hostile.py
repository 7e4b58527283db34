"""Damaged face metadata, one test per case a user reported: each is refused with one line naming the
file, and where a whole faceset is read (faceset info, sort, train) the file is skipped and named."""

from __future__ import annotations

import json
import struct

import numpy as np
import pytest

from doppel.core.errors import DoppelError
from doppel.core.metadata import FaceMeta, read_metadata
from hostile_helpers import (app15_segments, doppel, face_bytes, nested, with_payload, with_record, write_faces)


def _flip_chunk_index(data: bytes) -> bytes:
    """Set the high byte of the first metadata segment's chunk index: chunk 256 of 1."""
    at = app15_segments(data)[0] + 4 + len(b"doppel\0")
    return data[:at] + b"\x01" + data[at + 1 :]


def _short_segment(data: bytes) -> bytes:
    """A metadata segment whose body is shorter than the chunk header it must start with."""
    start = app15_segments(data)[0]
    body = b"doppel\0\x00"
    return data[:start] + b"\xff\xef" + struct.pack(">H", len(body) + 2) + body + data[start:]


def _zero_length_segment(data: bytes) -> bytes:
    start = app15_segments(data)[0]
    return data[:start] + b"\xff\xef\x00\x00" + data[start:]


def _truncated_in_metadata(data: bytes) -> bytes:
    return data[: app15_segments(data)[0] + 40]


def _set(key, value):
    return lambda d: d.__setitem__(key, value)


DAMAGED = {
    "flipped_chunk_index": _flip_chunk_index,
    "segment_shorter_than_header": _short_segment,
    "zero_length_segment": _zero_length_segment,
    "truncated_in_metadata": _truncated_in_metadata,
    "size_is_text": lambda b: with_record(b, _set("size", "big")),
    "yaw_is_text": lambda b: with_record(b, lambda d: d["pose"].__setitem__("yaw", "left")),
    "frame_index_is_list": lambda b: with_record(b, lambda d: d["source"].__setitem__("frame_index", [1])),
    "source_is_list": lambda b: with_record(b, _set("source", [1, 2])),
    "landmarks_are_text": lambda b: with_record(b, _set("landmarks", "68 points")),
    "too_few_landmarks": lambda b: with_record(b, lambda d: d.__setitem__("landmarks", d["landmarks"][:12])),
    "nan_landmarks": lambda b: with_payload(b, extract_json(b).replace(b'"landmarks":[[', b'"landmarks":[[NaN,NaN],[', 1)),
    "singular_transform": lambda b: with_record(b, _set("face_to_source", [[0, 0, 1], [0, 0, 2]])),
    "mesh_shape_lies": lambda b: with_record(b, lambda d: d["mesh"].__setitem__("shape", [1000, 3])),
    "record_is_a_list": lambda b: with_payload(b, b"[1, 2, 3]"),
    "deep_nesting": lambda b: with_payload(b, b'{"extra":' + b"[" * 100_000 + b"]" * 100_000 + b"}"),
    "nesting_past_limit": lambda b: with_record(b, _set("extra", {"x": nested(100)})),
    "not_utf8": lambda b: with_payload(b, b'{"face_type": "\xff\xfe"}'),
}


def extract_json(data: bytes) -> bytes:
    from doppel.core.metadata import extract_metadata_bytes

    return extract_metadata_bytes(data)


@pytest.mark.parametrize("case", sorted(DAMAGED))
def test_damaged_face_metadata_is_one_line_naming_the_file(tmp_path, case):
    path = tmp_path / f"{case}.jpg"
    path.write_bytes(DAMAGED[case](face_bytes(".jpg")))
    with pytest.raises(DoppelError) as e:
        read_metadata(path)
    line = e.value.one_line()
    assert "\n" not in line and path.name in line


def test_png_flipped_byte_in_metadata_is_caught_by_the_checksum(tmp_path):
    """A flipped digit inside the PNG text chunk still parses as JSON; the chunk CRC catches it."""
    data = face_bytes(".png")
    at = data.index(b'"landmarks":[[') + len(b'"landmarks":[[')
    assert data[at : at + 1].isdigit()
    path = tmp_path / "flipped.png"
    path.write_bytes(data[:at] + bytes([data[at] ^ 0x01]) + data[at + 1 :])
    with pytest.raises(DoppelError, match="checksum") as e:
        read_metadata(path)
    assert "flipped.png" in str(e.value)


def test_png_chunk_running_past_the_end_is_refused(tmp_path):
    data = face_bytes(".png")
    at = data.index(b"iTXt") - 4
    path = tmp_path / "long.png"
    path.write_bytes(data[:at] + struct.pack(">I", 10**8) + data[at + 4 :])
    with pytest.raises(DoppelError, match="past the end") as e:
        read_metadata(path)
    assert "long.png" in str(e.value)


def test_valid_record_still_reads_and_every_field_is_typed(tmp_path):
    path = tmp_path / "good.jpg"
    path.write_bytes(face_bytes(".jpg"))
    meta = read_metadata(path)
    assert meta.landmarks.shape == (68, 2) and meta.mesh.shape == (478, 3)
    assert isinstance(meta.size, int) and isinstance(meta.pose.yaw, float)
    assert np.isfinite(meta.source_to_face).all()
    assert FaceMeta.from_json(meta.to_json()).to_dict() == meta.to_dict()


@pytest.fixture(scope="module")
def damaged_set(tmp_path_factory):
    """Four good faces and one of each damaged kind."""
    folder = tmp_path_factory.mktemp("damaged_set")
    write_faces(folder, 4)
    good = face_bytes(".jpg", seed=9)
    for case, damage in DAMAGED.items():
        (folder / f"{case}.jpg").write_bytes(damage(good))
    return folder


def test_faceset_info_names_each_damaged_file_and_goes_on(damaged_set, monkeypatch, capsys):
    r = doppel(monkeypatch, capsys, "faceset", "info", damaged_set, "--no-blur", "--json")
    assert r.returncode == 0 and "Traceback" not in r.stderr, r.stderr
    info = json.loads(r.stdout)
    assert info["faces"] == 4
    assert sorted(name for name, _ in info["unreadable"]) == sorted(f"{case}.jpg" for case in DAMAGED)


def test_sort_skips_damaged_files_by_name_and_sorts_the_rest(damaged_set, tmp_path, monkeypatch, capsys):
    import shutil

    folder = tmp_path / "set"
    shutil.copytree(damaged_set, folder)
    r = doppel(monkeypatch, capsys, "sort", folder, "--by", "yaw")
    assert r.returncode == 0 and "Traceback" not in r.stderr + r.stdout, r.stderr
    assert "kept 4 faces" in r.stdout
    for case in DAMAGED:
        assert f"{case}.jpg" in r.stdout + r.stderr


def test_train_faceset_skips_damaged_files_by_name(damaged_set, capsys):
    from doppel.core.facetype import FaceType
    from doppel.train.faceset import load_faceset

    faces = load_faceset(damaged_set, 64, FaceType.WHOLE_FACE, progress=False)
    assert len(faces) == 4 and all(name.startswith("0000") for name in faces.names)
    err = capsys.readouterr().err
    for case in DAMAGED:
        assert sum(f"{case}.jpg" in line for line in err.splitlines()) == 1
    assert f"skipped {len(DAMAGED)} of {len(DAMAGED) + 4}" in err


def test_train_refuses_a_folder_of_only_damaged_faces(tmp_path):
    from doppel.core.facetype import FaceType
    from doppel.train.faceset import load_faceset

    (tmp_path / "a.jpg").write_bytes(_flip_chunk_index(face_bytes(".jpg")))
    with pytest.raises(DoppelError, match="none of the 1 face files") as e:
        load_faceset(tmp_path, 64, FaceType.WHOLE_FACE, progress=False)
    assert "\n" not in e.value.one_line() and "a.jpg" in e.value.one_line()


def test_train_command_names_a_damaged_face_and_trains_on_the_rest(tmp_path, monkeypatch, capsys):
    write_faces(tmp_path / "src", 4)
    write_faces(tmp_path / "dst", 4)
    (tmp_path / "src" / "bad.jpg").write_bytes(_flip_chunk_index(face_bytes(".jpg", seed=7)))
    r = doppel(monkeypatch, capsys, "train", "--src", tmp_path / "src", "--dst", tmp_path / "dst", "--model", tmp_path / "model",
               "--iterations", "1", "--workers", "0", "--threads", "1", "--no-progress", "--preview-every", "0",
               "--resolution", "64", "--ae-dims", "32", "--e-dims", "16", "--d-dims", "16", "--d-mask-dims", "16",
               "--batch-size", "2")
    assert r.returncode == 0 and "Traceback" not in r.stderr + r.stdout, r.stderr
    assert [line for line in r.stderr.splitlines() if "bad.jpg" in line][0].startswith("skipped ")
    assert "skipped 1 of 5 face files" in r.stderr and (tmp_path / "model" / "model.json").is_file()
