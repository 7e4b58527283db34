import cv2
import numpy as np
import pytest

from doppel.media.reader import read_frames
from doppel.provenance import detect_watermark, embed_watermark, watermark_score
from tests.conftest import CLIPS

CLIP_NAMES = ["dst_woman_b.mp4", "src_woman_a.mp4", "man_g_portrait_720x1280_noaudio.mp4", "woman_k_outdoor_1280x720.mp4"]


@pytest.fixture(scope="module")
def real_frames(data_dir):
    frames = []
    for name in CLIP_NAMES:
        for i, f in enumerate(read_frames(CLIPS / name, every_n=60)):
            if i == 3:
                break
            frames.append(f.image)
    return frames


def test_mark_is_invisible_and_found(real_frames):
    for frame in real_frames:
        marked = embed_watermark(frame)
        assert cv2.PSNR(frame, marked) >= 40.0
        assert detect_watermark(marked)
        assert not detect_watermark(frame)
        assert abs(watermark_score(frame)) < 4.0  # unmarked real frames sit near zero


def test_mark_survives_padding_and_ignores_blank_frames(real_frames):
    marked = embed_watermark(real_frames[0])
    padded = cv2.copyMakeBorder(marked, 0, 1, 0, 1, cv2.BORDER_REPLICATE)
    assert detect_watermark(padded)
    assert not detect_watermark(np.full((64, 64, 3), 128, np.uint8))


def test_embed_rejects_wrong_input():
    with pytest.raises(ValueError):
        embed_watermark(np.zeros((8, 8), np.float32))
