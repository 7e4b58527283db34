"""Watermark benchmark: invisibility (PSNR), speed, false positives on unmarked real footage,
and detection after H.264 re-encodes; with `invisible-watermark` (imwatermark) dwtDct beside it.

    .venv/bin/python -m benchmarks.watermark [--quick]
"""

from __future__ import annotations

import io
import sys
import time
from pathlib import Path

import av
import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from doppel.media.reader import read_frames  # noqa: E402
from doppel.provenance.watermark import THRESHOLD, embed_watermark, watermark_score  # noqa: E402

CLIPS = ROOT.parent / "shared" / "data" / "clips"


def h264_round_trip(frames: list[np.ndarray], crf: int, fps: int = 30) -> list[np.ndarray]:
    """Encode with libx264 (yuv420p, preset medium) in memory and decode back."""
    buf = io.BytesIO()
    with av.open(buf, "w", format="mp4") as c:
        s = c.add_stream("libx264", rate=fps, options={"crf": str(crf), "preset": "medium"})
        s.height, s.width = frames[0].shape[0] // 2 * 2, frames[0].shape[1] // 2 * 2
        s.pix_fmt = "yuv420p"
        for f in frames:
            for p in s.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(f[: s.height, : s.width]), format="bgr24")):
                c.mux(p)
        for p in s.encode(None):
            c.mux(p)
    buf.seek(0)
    with av.open(buf) as c:
        return [f.to_ndarray(format="bgr24") for f in c.decode(video=0)]


def clip_frames(path: Path, every_n: int, limit: int) -> list[np.ndarray]:
    out = []
    for f in read_frames(path, every_n=every_n):
        out.append(f.image)
        if len(out) >= limit:
            break
    return out


def imwatermark_row(frames: list[np.ndarray]) -> str:
    try:
        from imwatermark import WatermarkDecoder, WatermarkEncoder
    except ImportError:
        return "imwatermark not installed"
    bits = [int(b) for b in np.random.default_rng(1).integers(0, 2, 32)]
    enc = WatermarkEncoder()
    enc.set_watermark("bits", bits)
    dec = WatermarkDecoder("bits", 32)
    t = time.perf_counter()
    marked = [enc.encode(f, "dwtDct") for f in frames]
    ms = (time.perf_counter() - t) / len(frames) * 1000
    psnr = np.mean([cv2.PSNR(a, b) for a, b in zip(frames, marked)])
    acc = np.mean([np.mean(np.array(dec.decode(f, "dwtDct"), int) == bits) for f in h264_round_trip(marked, 23)])
    exact = np.mean([list(map(int, dec.decode(f, "dwtDct"))) == bits for f in h264_round_trip(marked, 23)])
    return f"imwatermark dwtDct 32 bits: {ms:.1f} ms/frame embed, PSNR {psnr:.1f} dB, after crf 23: bit accuracy {acc:.2f}, frames with all bits right {exact:.0%}"


def main(quick: bool = False) -> None:
    per_clip = 20 if quick else 60
    clips = sorted(CLIPS.glob("*.mp4"))
    # false positives: every 5th frame of every clip, unmarked
    fp_scores = []
    for clip in clips:
        fp_scores += [watermark_score(f) for f in clip_frames(clip, 5, 10**6 if not quick else 60)]
    fp_scores = np.array(fp_scores)
    print(f"unmarked real frames: {len(fp_scores)} from {len(clips)} clips, score max {fp_scores.max():.2f}, "
          f"|score| 99.9th pct {np.percentile(np.abs(fp_scores), 99.9):.2f}, "
          f"false positives at threshold {THRESHOLD:g}: {(fp_scores >= THRESHOLD).sum()}")
    # speed and invisibility
    for name in ["dst_woman_b.mp4", "woman_k_outdoor_1280x720.mp4"]:
        frames = clip_frames(CLIPS / name, 10, 30)
        t = time.perf_counter()
        marked = [embed_watermark(f) for f in frames]
        embed_ms = (time.perf_counter() - t) / len(frames) * 1000
        t = time.perf_counter()
        [watermark_score(f) for f in marked]
        detect_ms = (time.perf_counter() - t) / len(frames) * 1000
        psnr = [cv2.PSNR(a, b) for a, b in zip(frames, marked)]
        h, w = frames[0].shape[:2]
        print(f"{name} {w}x{h}: embed {embed_ms:.1f} ms/frame, detect {detect_ms:.1f} ms/frame, "
              f"PSNR mean {np.mean(psnr):.1f} dB, min {np.min(psnr):.1f} dB")
    # robustness: mark, then H.264 at several crf values
    rates = {18: [], 23: [], 28: [], 33: []}
    min_scores = {k: [] for k in rates}
    for clip in clips:
        frames = clip_frames(clip, 3, per_clip)
        marked = [embed_watermark(f) for f in frames]
        for crf in rates:
            scores = [watermark_score(f) for f in h264_round_trip(marked, crf)]
            rates[crf] += [s >= THRESHOLD for s in scores]
            min_scores[crf].append(min(scores))
    for crf in rates:
        print(f"after H.264 crf {crf}: detection rate {np.mean(rates[crf]):.3f} over {len(rates[crf])} frames "
              f"of {len(clips)} clips, lowest score {min(min_scores[crf]):.1f}")
    print(imwatermark_row(clip_frames(CLIPS / "dst_woman_b.mp4", 10, 10)))


if __name__ == "__main__":
    main(quick="--quick" in sys.argv)
