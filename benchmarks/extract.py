"""Extraction speed against decode speed, and landmark jitter with and without --smooth.

    .venv/bin/python benchmarks/extract.py [--clip PATH] [--size 256] [--workers 0] [--repeat 1] [--still-clip PATH]

Prints frames/s of decode alone (the limit), of full extraction (decode, detect, mesh, align, JPEG +
metadata write) with one worker and with the default (auto: one per core), their ratios to decode, and CPU
milliseconds per frame (process time: less sensitive to a busy machine than wall time). With --repeat N
each measurement is taken N times, interleaved, and the best is kept (a shared machine only slows runs down).
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
    parser.add_argument("--workers", type=int, default=0, help="workers of the second extraction run (0 = auto)")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--still-clip", type=Path, default=DATA / "clips" / "man_h_glasses.mp4")
    parser.add_argument("--no-jitter", action="store_true")
    args = parser.parse_args()

    # Imports load outside the timings (mediapipe pulls in matplotlib); model graphs load inside them.
    import mediapipe.python.solutions.face_mesh  # noqa: F401

    import doppel.faces.extract  # noqa: F401
    import doppel.faces.landmarks  # noqa: F401

    print(f"clip {args.clip.name}, --size {args.size}, load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    best: dict[str, tuple] = {}

    def keep(name, frames, wall, cpu, extra=None):
        if name not in best or frames / wall > best[name][0]:
            best[name] = (frames / wall, cpu / frames * 1000, extra)

    for _ in range(args.repeat):
        frames, wall, cpu = timed(lambda: decode_only(args.clip))
        keep("decode", frames, wall, cpu)
        for name, workers in (("extract, 1 worker", 1), (f"extract, workers={args.workers or 'auto'}", args.workers)):
            with tempfile.TemporaryDirectory() as tmp:
                result, wall, cpu = timed(lambda: full_extract(args.clip, args.size, Path(tmp), workers=workers))
            keep(name, result.frames_seen, wall, cpu, result)

    decode_fps, decode_ms, _ = best["decode"]
    print(f"decode only                {decode_fps:7.1f} frames/s   ({decode_ms:5.2f} ms CPU per frame)")
    for name, (fps, ms, result) in best.items():
        if name == "decode":
            continue
        print(f"{name:26s} {fps:7.1f} frames/s   ({ms:5.2f} ms CPU per frame, {result.faces_written} faces, "
              f"{result.frames_without_face} frames without a face)   ratio to decode {fps / decode_fps:.3f}")
    print("targets: >= 60 frames/s and a ratio >= 0.3 on 2 free cores")
    if args.no_jitter:
        return
    raw, smoothed = jitter(args.still_clip, False), jitter(args.still_clip, True)
    print(f"landmark jitter on {args.still_clip.name}: {raw:.3f} % of face width raw, {smoothed:.3f} % with --smooth "
          f"({smoothed / raw:.2f}x)")


if __name__ == "__main__":
    main()
