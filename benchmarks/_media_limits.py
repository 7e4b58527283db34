"""Media speed limits other benchmarks can compare against: decode only, decode + encode.

    from benchmarks._media_limits import decode_fps, decode_encode_fps
    print(merge_fps / decode_encode_fps(clip))  # how close merge gets to pure I/O

Run directly for the numbers on this machine:  .venv/bin/python -m benchmarks._media_limits
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from doppel.media.reader import read_frames  # noqa: E402
from doppel.media.writer import VideoWriter  # noqa: E402

DEFAULT_CLIP = ROOT.parent / "shared" / "data" / "clips" / "dst_woman_b.mp4"


def decode_fps(path: str | Path = DEFAULT_CLIP, max_frames: int | None = None) -> float:
    """Frames per second for decoding to BGR numpy arrays alone."""
    start, n = time.perf_counter(), 0
    for frame in read_frames(path):
        n += 1
        if max_frames and n >= max_frames:
            break
    return n / (time.perf_counter() - start)


def decode_encode_fps(path: str | Path = DEFAULT_CLIP, codec: str = "h264", crf: int = 18, preset: str = "veryfast",
                      provenance: bool = True, audio: bool = True, max_frames: int | None = None) -> float:
    """Frames per second for decode -> (watermark) -> encode with VideoWriter, audio carried."""
    ext = ".mkv" if codec == "ffv1" else ".mov" if codec in ("prores", "png") else ".mp4"
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / f"bench{ext}"
        start, n = time.perf_counter(), 0
        with VideoWriter(out, like=path, codec=codec, crf=crf, preset=preset, audio_from=path if audio else None,
                         provenance=None if provenance else False) as writer:
            for frame in read_frames(path):
                writer.write(frame.image, frame.timestamp)
                n += 1
                if max_frames and n >= max_frames:
                    break
        return n / (time.perf_counter() - start)


def main() -> None:
    clip, frames = DEFAULT_CLIP, 240
    base = decode_fps(clip, frames)
    print(f"clip {clip.name}, {frames} frames, same run")
    print(f"decode only                         {base:7.1f} fps  ratio 1.00")
    for label, kwargs in [
        ("decode+encode h264 medium, no mark", dict(provenance=False, preset="medium")),
        ("decode+mark+encode h264 medium", dict(preset="medium")),
        ("decode+encode h264 veryfast, no mark", dict(provenance=False, preset="veryfast")),
        ("decode+mark+encode h264 veryfast", dict(preset="veryfast")),
        ("decode+mark+encode ffv1 (lossless)", dict(codec="ffv1")),
    ]:
        fps = decode_encode_fps(clip, max_frames=frames, **kwargs)
        print(f"{label:35s} {fps:7.1f} fps  ratio {fps / base:.2f}")


if __name__ == "__main__":
    main()
