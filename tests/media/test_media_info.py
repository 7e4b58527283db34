import pytest

from doppel.core.errors import DoppelError
from doppel.media.info import video_info
from doppel.media.reader import read_frames


def test_info_of_real_clip(dst_clip):
    info = video_info(dst_clip)
    assert info.fps == pytest.approx(30.0)
    assert info.frames == 536
    assert (info.width, info.height) == (512, 512)
    assert info.has_audio and info.audio[0].codec == "aac" and info.audio[0].sample_rate == 44100
    assert info.duration == pytest.approx(536 / 30, abs=0.05)
    assert not info.variable_frame_rate


def test_info_without_audio(noaudio_clip):
    info = video_info(noaudio_clip)
    assert info.fps == pytest.approx(25.0) and info.frames == 78
    assert not info.has_audio


def test_info_sees_variable_frame_rate(vfr_clip):
    from tests.media.conftest import VFR_TIMES

    info = video_info(vfr_clip)
    assert info.variable_frame_rate
    assert info.frames == len(VFR_TIMES)
    stamps = [f.timestamp for f in read_frames(vfr_clip)]
    assert stamps == pytest.approx(VFR_TIMES, abs=0.002)


def test_bad_inputs_are_one_line_errors(tmp_path):
    with pytest.raises(DoppelError, match="file not found"):
        video_info(tmp_path / "missing.mp4")
    fake = tmp_path / "notes.mp4"
    fake.write_text("this is not a video")
    with pytest.raises(DoppelError, match="not a readable video") as e:
        video_info(fake)
    assert str(fake) in str(e.value) and "\n" not in str(e.value)
