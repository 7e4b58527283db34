import base64
import shutil

import cv2
import numpy as np
import pytest

from doppel.core.errors import DoppelError
from doppel.core.facetype import FaceType
from doppel.core.images import list_images, read_face, read_image, write_face
from doppel.core.metadata import FaceMeta
from doppel.interop.dfl import dfl_payload, embed_dfl, read_dfl_dict
from doppel.interop.faceset import export_dfl, import_dfl
from doppel.interop.safe_pickle import UnsafePickleError, safe_loads


@pytest.fixture(scope="module")
def dfl_dir(data_dir):
    return data_dir / "dfl_faceset_sample"


def _u(text: str) -> bytes:
    raw = text.encode()
    return b"\x8c" + bytes([len(raw)]) + raw  # SHORT_BINUNICODE


def _evil_payloads(marker) -> dict[str, bytes]:
    """Hand-assembled pickles (no pickle import in tests) that would run code or create a file."""
    cmd = f"touch {marker}"
    code = f"open({str(marker)!r}, 'w').write('pwned')"
    return {
        "os.system, protocol 0": f"cos\nsystem\n(S'{cmd}'\ntR.".encode(),
        "posix.system, protocol 0": f"cposix\nsystem\n(S'{cmd}'\ntR.".encode(),
        "builtins.exec, protocol 4": b"\x80\x04" + _u("builtins") + _u("exec") + b"\x93" + _u(code) + b"\x85R.",
        "builtins.eval inside a dict": b"\x80\x04}(" + _u("landmarks") + _u("builtins") + _u("eval") + b"\x93"
        + _u(code) + b"\x85Ru.",
        "subprocess.call": b"\x80\x04" + _u("subprocess") + _u("call") + b"\x93" + _u(cmd) + b"\x85R.",
        "numpy.load (allowed module, other name)": b"\x80\x04" + _u("numpy") + _u("load") + b"\x93" + _u(str(marker))
        + b"\x85R.",
    }


def test_restricted_unpickler_refuses_code(tmp_path):
    marker = tmp_path / "pwned"
    for label, payload in _evil_payloads(marker).items():
        with pytest.raises(UnsafePickleError, match="refused"):
            safe_loads(payload)
        assert not marker.exists(), label


def test_restricted_unpickler_loads_real_dfl_metadata(dfl_dir):
    d = read_dfl_dict(dfl_dir / "00000_0.jpg")
    assert d["face_type"] == "whole_face"
    assert np.asarray(d["landmarks"]).shape == (68, 2)
    assert isinstance(d["image_to_face_mat"], np.ndarray) and d["image_to_face_mat"].shape == (2, 3)


def test_object_arrays_are_refused():
    # numpy array of dtype object, protocol 2, built from allowed globals only
    payload = (b"\x80\x02cnumpy.core.multiarray\n_reconstruct\ncnumpy\nndarray\nK\x00\x85C\x01b\x87R(K\x01K\x01\x85"
               b"cnumpy\ndtype\nX\x02\x00\x00\x00O8\x89\x88\x87R(K\x03X\x01\x00\x00\x00|NNNJ\xff\xff\xff\xffJ\xff\xff"
               b"\xff\xffK?tb\x89]K\x01atb.")
    with pytest.raises(UnsafePickleError, match="object"):
        safe_loads(payload)


def test_import_real_dfl_faceset(dfl_dir, tmp_path):
    out = tmp_path / "faces"
    result = import_dfl(dfl_dir, out, progress=False)
    assert result.converted == 6 and not result.refused
    for src in list_images(dfl_dir):
        d = read_dfl_dict(src)
        face = read_face(out / src.name)
        assert face.meta.face_type is FaceType.WHOLE_FACE and face.meta.size == 512
        np.testing.assert_allclose(face.meta.landmarks, d["landmarks"], atol=0.01)
        np.testing.assert_allclose(face.meta.source_landmarks, d["source_landmarks"], atol=0.01)
        back = np.vstack([face.meta.face_to_source, [0, 0, 1]]) @ np.vstack([d["image_to_face_mat"], [0, 0, 1]])
        np.testing.assert_allclose(back, np.eye(3), atol=1e-6)
        assert face.meta.source.filename == d["source_filename"]
        assert np.array_equal(face.image, read_image(src))  # same pixels: the JPEG was not re-encoded
        assert dfl_payload((out / src.name).read_bytes()) is None  # the pickle is gone from the output
    again = import_dfl(dfl_dir, out, progress=False)  # resume: existing outputs are kept
    assert again.converted == 0 and again.kept == 6


def test_import_refuses_crafted_file_and_keeps_the_rest(dfl_dir, tmp_path):
    src = tmp_path / "src"
    shutil.copytree(dfl_dir, src)
    marker = tmp_path / "pwned"
    victim = src / "00003_0.jpg"
    data = victim.read_bytes()
    victim.write_bytes(embed_dfl(data, _evil_payloads(marker)["builtins.exec, protocol 4"]))
    before = victim.read_bytes()
    result = import_dfl(src, tmp_path / "out", progress=False)
    assert not marker.exists()
    assert result.converted == 5 and [name for name, _ in result.refused] == ["00003_0.jpg"]
    assert "builtins.exec" in result.refused[0][1]
    assert victim.read_bytes() == before  # the source is never modified
    assert not (tmp_path / "out" / "00003_0.jpg").exists()


def test_import_bad_inputs(tmp_path, dfl_dir):
    with pytest.raises(DoppelError, match="not a folder"):
        import_dfl(tmp_path / "missing", tmp_path / "out", progress=False)
    with pytest.raises(DoppelError, match="input folder"):
        import_dfl(dfl_dir, dfl_dir, progress=False)
    plain = tmp_path / "plain"
    plain.mkdir()
    cv2.imwrite(str(plain / "x.jpg"), np.zeros((64, 64, 3), np.uint8))
    result = import_dfl(plain, tmp_path / "out", progress=False)
    assert result.converted == 0 and "no DeepFaceLab metadata" in result.refused[0][1]


@pytest.mark.parametrize("ext", [".jpg", ".png"])
def test_export_round_trip(tmp_path, ext):
    rng = np.random.default_rng(0)
    mask = np.zeros((64, 64), np.uint8)
    cv2.circle(mask, (32, 32), 20, 255, -1)
    faces = tmp_path / "doppel"
    to_face = np.array([[0.5, 0.1, -20.0], [-0.1, 0.5, -30.0]])
    meta = FaceMeta(
        face_type=FaceType.FULL, size=64,
        landmarks=rng.uniform(0, 64, (68, 2)).astype(np.float32),
        source_landmarks=rng.uniform(0, 512, (68, 2)).astype(np.float32),
        face_to_source=np.linalg.inv(np.vstack([to_face, [0, 0, 1]]))[:2],
        xseg_polygons=[{"kind": "include", "points": [[1.0, 2.0], [30.0, 2.0], [30.0, 40.0]]}],
        xseg_mask=base64.b64encode(cv2.imencode(".png", mask)[1].tobytes()).decode(),
    )
    write_face(faces / f"f{ext}", rng.integers(0, 255, (64, 64, 3), dtype=np.uint8), meta)
    out = tmp_path / "dfl"
    assert export_dfl(faces, out, progress=False).converted == 1
    d = read_dfl_dict(out / f"f{ext}")
    assert d["face_type"] == "full_face"
    np.testing.assert_allclose(d["image_to_face_mat"], to_face, atol=1e-9)
    assert d["seg_ie_polys"]["polys"][0]["type"] == 1
    assert isinstance(d["xseg_mask"], np.ndarray)  # as DFL stores it: encoded image bytes in a uint8 array
    assert np.array_equal(cv2.imdecode(d["xseg_mask"], cv2.IMREAD_GRAYSCALE), mask)
    back = import_dfl(out, tmp_path / "again", progress=False)
    assert back.converted == 1
    again = read_face(tmp_path / "again" / f"f{ext}").meta
    assert again.face_type is FaceType.FULL and again.xseg_polygons[0]["kind"] == "include"
    np.testing.assert_allclose(again.landmarks, meta.landmarks, atol=0.01)
    back_mask = cv2.imdecode(np.frombuffer(base64.b64decode(again.xseg_mask), np.uint8), cv2.IMREAD_GRAYSCALE)
    assert np.array_equal(back_mask, mask)


def test_only_one_module_imports_pickle():
    from tests.conftest import ROOT

    hits = [p for p in (ROOT / "doppel").rglob("*.py")
            if any(line.strip().startswith(("import pickle", "from pickle", "import cPickle"))
                   for line in p.read_text().splitlines())]
    assert [p.name for p in hits] == ["safe_pickle.py"]
