import av
import cv2
import numpy as np
import pytest

from doppel.core.errors import DoppelError
from doppel.media.reader import read_frames
from doppel.media.writer import VideoWriter
from doppel.provenance import read_container_tag
from tests.media.conftest import stream_durations


def _frames(clip, n):
    out = []
    for f in read_frames(clip):
        if f.index >= n:
            break
        out.append(f)
    return out


def test_writer_keeps_fps_frames_and_audio_sync(tmp_path, dst_clip):
    out = tmp_path / "out.mp4"
    frames = _frames(dst_clip, 75)
    with VideoWriter(out, like=dst_clip, audio_from=dst_clip) as w:
        for f in frames:
            w.write(f.image, f.timestamp)
    video, audio, count = stream_durations(out)
    assert count == 75
    assert video == pytest.approx(75 / 30, abs=1e-3)
    assert abs(audio - video) < 1 / 30  # A/V within one frame
    with av.open(str(out)) as c:
        assert float(c.streams.video[0].average_rate) == pytest.approx(30.0)
        tag = read_container_tag(dict(c.metadata))
    assert tag and tag["synthetic"] is True and tag["tool"] == "doppel"
    decoded = [f.image for f in read_frames(out)]
    assert np.mean([cv2.PSNR(a.image, b) for a, b in zip(frames, decoded)]) > 35


def test_writer_keeps_variable_timestamps(tmp_path, vfr_clip):
    out = tmp_path / "vfr_copy.mp4"
    src = list(read_frames(vfr_clip))
    with VideoWriter(out, fps=25, provenance=False) as w:
        for f in src:
            w.write(f.image, f.timestamp)
    assert [f.timestamp for f in read_frames(out)] == pytest.approx([f.timestamp for f in src], abs=1e-3)


def test_lossless_codec_round_trip_and_odd_size(tmp_path, dst_clip):
    frames = [f.image[:101, :99] for f in _frames(dst_clip, 5)]  # odd size on purpose
    out = tmp_path / "lossless.mkv"
    with VideoWriter(out, fps=30, codec="ffv1", provenance=False) as w:
        for img in frames:
            w.write(img)
    decoded = [f.image for f in read_frames(out)]
    assert len(decoded) == 5
    assert all(np.array_equal(a, b) for a, b in zip(frames, decoded))
    # yuv420p codecs pad odd sizes by one repeated row/column instead of failing
    out264 = tmp_path / "odd.mp4"
    with VideoWriter(out264, fps=30, provenance=False) as w:
        for img in frames:
            w.write(img)
    assert next(read_frames(out264)).image.shape == (102, 100, 3)


@pytest.mark.parametrize("codec,ext", [("h265", ".mp4"), ("prores", ".mov"), ("png", ".mov")])
def test_other_codecs(tmp_path, dst_clip, codec, ext):
    frames = [cv2.resize(f.image, (128, 128)) for f in _frames(dst_clip, 6)]
    out = tmp_path / f"clip{ext}"
    with VideoWriter(out, fps=24, codec=codec) as w:
        for img in frames:
            w.write(img)
    decoded = [f.image for f in read_frames(out)]
    assert len(decoded) == 6
    assert np.mean([cv2.PSNR(a, b) for a, b in zip(frames, decoded)]) > 33


def test_failure_leaves_nothing(tmp_path, dst_clip):
    out = tmp_path / "broken.mp4"
    frame = _frames(dst_clip, 1)[0].image
    with pytest.raises(RuntimeError):
        with VideoWriter(out, fps=30) as w:
            w.write(frame)
            raise RuntimeError("render crashed")
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(DoppelError, match="no frames"):
        with VideoWriter(out, fps=30):
            pass
    assert list(tmp_path.iterdir()) == []


def test_writer_rejects_bad_settings(tmp_path, dst_clip):
    with pytest.raises(DoppelError, match="cannot go in"):
        VideoWriter(tmp_path / "x.avi", codec="h264")
    with pytest.raises(DoppelError, match="unknown codec"):
        VideoWriter(tmp_path / "x.mp4", codec="vp9")
    with pytest.raises(DoppelError, match="audio reference not found"):
        VideoWriter(tmp_path / "x.mp4", audio_from=tmp_path / "missing.mp4")
    frame = _frames(dst_clip, 1)[0].image
    with pytest.raises(DoppelError, match="frame size changed"):
        with VideoWriter(tmp_path / "x.mp4", fps=30) as w:
            w.write(frame)
            w.write(frame[:100, :100])
    assert not (tmp_path / "x.mp4").exists()


def test_audio_from_a_wav_is_reencoded_and_cut_to_the_sample(tmp_path, dst_clip):
    wav = tmp_path / "tone.wav"
    with av.open(str(wav), "w") as c:
        a = c.add_stream("pcm_s16le", rate=48000, layout="mono")
        tone = (np.sin(2 * np.pi * 440 * np.arange(48000 * 3) / 48000) * 8000).astype(np.int16)
        for i in range(0, len(tone), 4800):
            frame = av.AudioFrame.from_ndarray(tone[None, i : i + 4800], format="s16", layout="mono")
            frame.sample_rate, frame.pts = 48000, i
            for p in a.encode(frame):
                c.mux(p)
        for p in a.encode(None):
            c.mux(p)
    out = tmp_path / "tone.mp4"
    with VideoWriter(out, fps=30, audio_from=wav, audio_start=0.5, provenance=False) as w:
        for f in _frames(dst_clip, 40):
            w.write(f.image)
    video, audio, _ = stream_durations(out)
    assert abs(audio - video) < 1 / 30
    with av.open(str(out)) as c:
        assert c.streams.audio[0].codec_context.name == "aac"  # PCM does not go into MP4 as-is
