"""Extraction speed against decode speed, and landmark jitter with and without --smooth.

    .venv/bin/python benchmarks/extract.py [--clip PATH] [--size 256] [--still-clip PATH]

Prints frames/s of decode alone (the limit), of full extraction (decode, detect, mesh, align, JPEG +
metadata write), their ratio, and CPU seconds per frame (less sensitive to a busy machine than wall time).
Then the landmark jitter on a still-headed clip: the mean distance of each landmark from the midpoint of
its neighbours in time, as a share of the face width (a steady head gives ~0; jitter raises it).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DATA = Path(os.environ.get("DOPPEL_DATA", ROOT.parent / "shared" / "data"))


def timed(fn):
    wall, cpu = time.perf_counter(), time.process_time()
    result = fn()
    return result, time.perf_counter() - wall, time.process_time() - cpu


def decode_only(clip: Path) -> int:
    from doppel.media.reader import read_frames

    return sum(1 for _ in read_frames(clip))


def full_extract(clip: Path, size: int, out: Path, **options):
    from doppel.faces.extract import ExtractOptions, extract

    return extract(clip, out, ExtractOptions(size=size, **options), progress=False)


def jitter(clip: Path, smooth: bool, frames: int = 150) -> float:
    """Mean |x_t - (x_{t-1} + x_{t+1}) / 2| over the 68 source landmarks, as % of the face width."""
    from doppel.core.images import list_images
    from doppel.core.metadata import read_metadata

    with tempfile.TemporaryDirectory() as tmp:
        full_extract(clip, 64, Path(tmp), max_frames=frames, smooth=smooth)
        metas = [read_metadata(p) for p in list_images(Path(tmp))]
    metas = [m for m in metas if m.face_index == 0]
    lm = np.stack([m.source_landmarks for m in metas])  # T x 68 x 2
    width = np.ptp(lm[:, :, 0], axis=1).mean()
    residual = lm[1:-1] - (lm[:-2] + lm[2:]) / 2
    return float(np.linalg.norm(residual, axis=-1).mean() / width * 100)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clip", type=Path, default=DATA / "clips" / "src_woman_a.mp4")
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--still-clip", type=Path, default=DATA / "clips" / "man_h_glasses.mp4")
    args = parser.parse_args()

    import doppel.faces.extract  # noqa: F401  (imports and model files load outside the timings)

    print(f"clip {args.clip.name}, --size {args.size}, load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    frames, decode_s, decode_cpu = timed(lambda: decode_only(args.clip))
    with tempfile.TemporaryDirectory() as tmp:
        result, extract_s, extract_cpu = timed(lambda: full_extract(args.clip, args.size, Path(tmp)))
    decode_fps, extract_fps = frames / decode_s, result.frames_seen / extract_s
    print(f"decode only      {decode_fps:7.1f} frames/s   ({decode_cpu / frames * 1000:5.1f} ms CPU per frame)")
    print(f"full extraction  {extract_fps:7.1f} frames/s   ({extract_cpu / result.frames_seen * 1000:5.1f} ms CPU per frame, "
          f"{result.faces_written} faces, {result.frames_without_face} frames without a face)")
    print(f"ratio extraction/decode {extract_fps / decode_fps:.3f}   (targets: >= 60 frames/s and >= 0.3 on 2 free cores)")

    raw, smoothed = jitter(args.still_clip, False), jitter(args.still_clip, True)
    print(f"landmark jitter on {args.still_clip.name}: {raw:.3f} % of face width raw, {smoothed:.3f} % with --smooth "
          f"({smoothed / raw:.2f}x)")


if __name__ == "__main__":
    main()
