import subprocess
import sys

import numpy as np
import pytest

from doppel.core.errors import DoppelError
from doppel.core.images import read_face, write_face
from doppel.core.metadata import FaceMeta
from doppel.media.reader import read_frames
from doppel.media.writer import VideoWriter
from doppel.inspection import inspect
from doppel.provenance import ProvenanceInfo, read_image_tag, tag_image_bytes, write_rendered_image
from tests.conftest import DST_CLIP, ROOT


@pytest.fixture(scope="module")
def rendered(data_dir, tmp_path_factory):
    """90 frames of the destination clip written through VideoWriter (default provenance), crf 18."""
    out = tmp_path_factory.mktemp("rendered") / "out.mp4"
    info = ProvenanceInfo(model_id="saehd:0123abcd", source=DST_CLIP.name)
    with VideoWriter(out, like=DST_CLIP, audio_from=DST_CLIP, provenance=info) as w:
        for f in read_frames(DST_CLIP):
            if f.index >= 90:
                break
            w.write(f.image, f.timestamp)
    return out


def test_inspect_finds_tag_and_mark_in_output(rendered):
    report = inspect(rendered, max_frames=30)
    assert report.kind == "video"
    assert report.tag["synthetic"] is True and report.tag["model_id"] == "saehd:0123abcd"
    assert report.frames_checked == 30 and report.detection_rate == 1.0
    assert report.watermark_present and report.synthetic


def test_mark_survives_h264_crf23_reencode(rendered, tmp_path):
    reencoded = tmp_path / "reencoded.mp4"
    with VideoWriter(reencoded, fps=30, crf=23, provenance=False) as w:  # strips the container tag
        for f in read_frames(rendered):
            w.write(f.image, f.timestamp)
    report = inspect(reencoded, max_frames=30)
    assert report.tag is None
    assert report.detection_rate >= 0.95 and report.watermark_present


def test_untouched_destination_is_clean(data_dir):
    report = inspect(DST_CLIP, max_frames=40)
    assert report.tag is None
    assert report.frames_marked == 0 and not report.watermark_present and not report.synthetic


@pytest.mark.parametrize("ext", [".png", ".jpg"])
def test_rendered_images_are_tagged_and_marked(tmp_path, ext):
    frame = next(read_frames(DST_CLIP)).image
    path = tmp_path / f"frame{ext}"
    write_rendered_image(path, frame, ProvenanceInfo(model_id="m1"), jpeg_quality=90)
    report = inspect(path)
    assert report.kind == "image" and report.tag["model_id"] == "m1"
    assert report.watermark_present
    clean = tmp_path / f"clean{ext}"
    write_rendered_image(clean, frame, provenance=False)
    assert inspect(clean).tag is None and not inspect(clean).watermark_present


@pytest.mark.parametrize("ext", [".png", ".jpg"])
def test_tag_coexists_with_face_metadata(tmp_path, ext):
    path = tmp_path / f"face{ext}"
    image = np.random.default_rng(0).integers(0, 255, (64, 64, 3), dtype=np.uint8)
    write_face(path, image, FaceMeta(size=64))
    tagged = tag_image_bytes(path.read_bytes(), ProvenanceInfo(note="a"))
    retagged = tag_image_bytes(tagged, ProvenanceInfo(note="b"))  # replaces, does not stack
    path.write_bytes(retagged)
    assert read_image_tag(retagged)["note"] == "b"
    assert retagged.count(b"\"marker\"") == 1
    assert read_face(path).meta.size == 64


def test_tag_refuses_other_formats():
    with pytest.raises(DoppelError, match="PNG and JPEG"):
        tag_image_bytes(b"GIF89a....")


def test_inspect_cli_errors_are_one_line(tmp_path):
    fake = tmp_path / "fake.mp4"
    fake.write_text("not a video")
    result = subprocess.run([sys.executable, "-m", "doppel.cli", "inspect", str(fake)], capture_output=True, text=True,
                            cwd=ROOT)
    assert result.returncode == 2
    assert "fake.mp4" in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_inspect_a_folder_of_rendered_frames(tmp_path):
    frames = [f.image for f in read_frames(DST_CLIP, every_n=50)][:4]
    for i, frame in enumerate(frames):
        write_rendered_image(tmp_path / "marked" / f"{i:06d}.png", frame)
        write_rendered_image(tmp_path / "plain" / f"{i:06d}.png", frame, provenance=False)
    marked = inspect(tmp_path / "marked")
    assert marked.kind == "frames" and marked.frames_checked == 4 and marked.watermark_present and marked.tag
    plain = inspect(tmp_path / "plain")
    assert plain.frames_marked == 0 and plain.tag is None
