import cv2
import numpy as np
import pytest

from doppel.core.errors import DoppelError
from doppel.core.images import list_images, read_image, write_image
from doppel.media.cut import cut
from doppel.media.denoise import DenoiseOptions, denoise
from doppel.media.frames import extract_frames, from_frames
from doppel.media.info import video_info
from doppel.media.reader import read_frames
from doppel.inspection import inspect
from doppel.provenance import read_image_tag
from tests.media.conftest import VFR_TIMES, stream_durations


def test_cut_duration_and_audio(short_cut):
    info = video_info(short_cut)
    assert info.frames == 60
    video, audio, _ = stream_durations(short_cut)
    assert video == pytest.approx(2.0, abs=1e-3)
    assert abs(audio - video) < 1 / 30
    assert inspect(short_cut, max_frames=10).tag is None  # a cut is not synthetic content


def test_cut_rejects_bad_ranges(dst_clip, tmp_path):
    with pytest.raises(DoppelError, match="past the end"):
        cut(dst_clip, tmp_path / "x.mp4", 100.0, 101.0, progress=False)
    with pytest.raises(DoppelError, match="bad time range"):
        cut(dst_clip, tmp_path / "x.mp4", 3.0, 2.0, progress=False)
    with pytest.raises(DoppelError, match="no audio track 3"):
        cut(dst_clip, tmp_path / "x.mp4", 0.0, 1.0, audio_track=3, progress=False)
    assert not list(tmp_path.iterdir())


def test_extract_frames_count_and_resume(short_cut, tmp_path):
    out = tmp_path / "frames"
    assert extract_frames(short_cut, out, progress=False) == 60
    assert len(list_images(out)) == 60
    assert read_image(out / "000000.png").shape == (512, 512, 3)
    sampled = tmp_path / "sampled"
    assert extract_frames(short_cut, sampled, fps=10, fmt="jpg", quality=80, progress=False) == 20
    assert [p.name for p in list_images(sampled)][:3] == ["000000.jpg", "000003.jpg", "000006.jpg"]
    # a second run keeps what is there (resume) and reports the same count
    first = (out / "000010.png").stat().st_mtime_ns
    assert extract_frames(short_cut, out, progress=False) == 60
    assert (out / "000010.png").stat().st_mtime_ns == first


def test_from_frames_like_keeps_fps_frames_and_audio(short_cut, tmp_path):
    frames = tmp_path / "frames"
    extract_frames(short_cut, frames, progress=False)
    out = tmp_path / "rebuilt.mp4"
    assert from_frames(frames, out, like=short_cut, progress=False) == 60
    info = video_info(out)
    assert info.fps == pytest.approx(30.0) and info.frames == 60 and info.has_audio
    video, audio, _ = stream_durations(out)
    assert abs(audio - video) < 1 / 30
    report = inspect(out, max_frames=20)
    assert report.tag and report.tag["synthetic"] and report.watermark_present


def test_from_frames_like_vfr_keeps_timestamps(vfr_clip, tmp_path):
    frames = tmp_path / "frames"
    assert extract_frames(vfr_clip, frames, progress=False) == len(VFR_TIMES)
    out = tmp_path / "vfr.mkv"
    from_frames(frames, out, like=vfr_clip, progress=False, provenance=False)
    assert [f.timestamp for f in read_frames(out)] == pytest.approx(VFR_TIMES, abs=0.002)
    # cut keeps variable timing too, shifted to the cut's start
    cut_out = tmp_path / "vfr_cut.mkv"
    cut(vfr_clip, cut_out, 0.2, 0.6, progress=False)
    assert [f.timestamp for f in read_frames(cut_out)] == pytest.approx([0.0, 0.04, 0.3, 0.32, 0.34], abs=0.002)


def test_from_frames_errors(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DoppelError, match="no images"):
        from_frames(empty, tmp_path / "x.mp4", progress=False)
    with pytest.raises(DoppelError, match="not a folder"):
        from_frames(tmp_path / "missing", tmp_path / "x.mp4", progress=False)


def test_denoise_reduces_noise_on_real_frames(dst_clip, tmp_path):
    rng = np.random.default_rng(0)
    clean, noisy_dir = [], tmp_path / "noisy"
    for f in read_frames(dst_clip, every_n=2):
        if len(clean) == 8:
            break
        small = cv2.resize(f.image, (256, 256), interpolation=cv2.INTER_AREA)
        clean.append(small)
        write_image(noisy_dir / f"{f.index:06d}.png", np.clip(small + rng.normal(0, 8, small.shape), 0, 255).astype(np.uint8))
    out = tmp_path / "clean"
    assert denoise(noisy_dir, out, DenoiseOptions(strength=8), progress=False) == 8
    outs = list_images(out)
    noisy_psnr = np.mean([cv2.PSNR(c, read_image(p)) for c, p in zip(clean, list_images(noisy_dir))])
    clean_psnr = np.mean([cv2.PSNR(c, read_image(p)) for c, p in zip(clean, outs)])
    assert clean_psnr > noisy_psnr + 3.0
    assert read_image_tag(outs[0].read_bytes())["synthetic"] is True  # rendered output carries provenance
    with pytest.raises(DoppelError, match="strength"):
        denoise(noisy_dir, tmp_path / "x", DenoiseOptions(strength=50), progress=False)


def test_denoise_video_keeps_frames_and_timestamps(vfr_clip, tmp_path):
    out = tmp_path / "denoised.mkv"
    assert denoise(vfr_clip, out, DenoiseOptions(strength=4, radius=1), progress=False) == len(VFR_TIMES)
    assert [f.timestamp for f in read_frames(out)] == pytest.approx(VFR_TIMES, abs=0.002)
    assert inspect(out, max_frames=10).watermark_present


def test_damaged_video_fails_cleanly(short_cut, tmp_path):
    from doppel.media.reader import TruncatedVideoError

    data = short_cut.read_bytes()  # our MP4s put the index first (faststart), so a cut-off file still opens
    damaged = tmp_path / "damaged.mp4"
    damaged.write_bytes(data[: len(data) * 6 // 10])
    with pytest.raises(TruncatedVideoError, match="damaged"):
        cut(damaged, tmp_path / "out.mp4", 0.0, 2.0, progress=False)
    assert not (tmp_path / "out.mp4").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["damaged.mp4"]  # no partial output left behind
    frames = tmp_path / "frames"
    with pytest.raises(TruncatedVideoError):
        extract_frames(damaged, frames, progress=False)
    assert 10 < len(list_images(frames)) < 60  # the good frames were kept; a later run resumes


def test_cut_keeps_the_chosen_audio_track(dst_clip, tmp_path):
    import av

    src = tmp_path / "two_tracks.mkv"
    with av.open(str(src), "w") as c:
        v = c.add_stream("libx264", rate=30)
        v.width, v.height, v.pix_fmt = 256, 256, "yuv420p"
        tracks = [c.add_stream("aac", rate=48000, layout="mono"), c.add_stream("aac", rate=44100, layout="stereo")]
        for f in read_frames(dst_clip):
            if f.index == 60:
                break
            for p in v.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(f.image[::2, ::2]), format="bgr24")):
                c.mux(p)
        for track, (rate, channels) in zip(tracks, [(48000, 1), (44100, 2)]):
            for i in range(0, 2 * rate, 1024):
                n = min(1024, 2 * rate - i)
                frame = av.AudioFrame.from_ndarray(np.zeros((channels, n), np.float32), format="fltp",
                                                   layout="mono" if channels == 1 else "stereo")
                frame.sample_rate, frame.pts = rate, i
                for p in track.encode(frame):
                    c.mux(p)
            for p in track.encode(None):
                c.mux(p)
        for p in v.encode(None):
            c.mux(p)
    out = tmp_path / "track1.mp4"
    assert cut(src, out, 0.5, 1.5, audio_track=1, progress=False) == 30
    info = video_info(out)
    assert len(info.audio) == 1 and info.audio[0].sample_rate == 44100 and info.audio[0].channels == 2
    video, audio, _ = stream_durations(out)
    assert abs(audio - video) < 1 / 30
