import numpy as np
import pytest

from doppel.core.errors import NoMetadataError
from doppel.core.facetype import FaceType
from doppel.core.images import read_face, write_face, write_image
from doppel.core.metadata import FaceMeta, Pose, read_metadata, strip_metadata


def _meta() -> FaceMeta:
    rng = np.random.default_rng(0)
    return FaceMeta(
        face_type=FaceType.FULL,
        size=64,
        landmarks=rng.uniform(0, 64, (68, 2)).astype(np.float32),
        source_landmarks=rng.uniform(0, 512, (68, 2)).astype(np.float32),
        face_to_source=np.array([[2.0, 0.1, 10.0], [-0.1, 2.0, 20.0]]),
        pose=Pose(12.5, -3.0, 1.0),
        mesh=rng.uniform(0, 512, (478, 3)).astype(np.float32),
        extra={"big": "x" * 150_000},  # forces several JPEG segments
    )


@pytest.mark.parametrize("ext", [".jpg", ".png"])
def test_metadata_round_trip(tmp_path, ext):
    image = np.random.default_rng(1).integers(0, 255, (64, 64, 3), dtype=np.uint8)
    meta = _meta()
    path = tmp_path / f"face{ext}"
    write_face(path, image, meta)
    face = read_face(path)
    assert face.image.shape == (64, 64, 3)
    assert face.meta.face_type is FaceType.FULL
    assert face.meta.pose.yaw == 12.5
    np.testing.assert_allclose(face.meta.landmarks, meta.landmarks, atol=0.006)
    np.testing.assert_allclose(face.meta.face_to_source, meta.face_to_source)
    np.testing.assert_allclose(face.meta.source_to_face @ [20.0, 30.0, 1.0], np.linalg.inv(np.vstack([meta.face_to_source, [0, 0, 1]]))[:2] @ [20.0, 30.0, 1.0])
    assert face.meta.extra["big"] == meta.extra["big"]
    np.testing.assert_array_equal(face.meta.mesh, meta.mesh)  # packed float32: exact


def test_schema_1_records_still_read():
    """Faces written before the mesh was packed (schema 1: nested lists) read the same."""
    meta = _meta()
    old = meta.to_dict()
    old["schema"], old["mesh"] = 1, np.round(meta.mesh.astype(np.float64), 2).tolist()
    back = FaceMeta.from_dict(old)
    np.testing.assert_allclose(back.mesh, meta.mesh, atol=0.006)
    assert back.schema == 2 and back.mesh.dtype == np.float32 and back.mesh.shape == (478, 3)


def test_stripped_jpeg_is_reported(tmp_path):
    path = tmp_path / "face.jpg"
    write_face(path, np.zeros((32, 32, 3), np.uint8), _meta())
    path.write_bytes(strip_metadata(path.read_bytes()))
    with pytest.raises(NoMetadataError) as e:
        read_metadata(path)
    assert "face.jpg" in str(e.value)


def test_plain_image_has_no_metadata(tmp_path):
    path = tmp_path / "plain.jpg"
    write_image(path, np.zeros((16, 16, 3), np.uint8))
    with pytest.raises(NoMetadataError):
        read_metadata(path)
