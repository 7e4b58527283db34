"""Merge speed on the real destination clip, against decode+encode alone (the limit), as ratios.

    .venv/bin/python benchmarks/merge.py [--quick] [--frames N] [--device cpu|cuda] [--cases a,b]

(a) the small reference model (saehd df 64, ae 64 / e 32 / d 32 / mask 16) with hist-match + rct +
    a blurred mask: merged frames/s and its ratio to decode+encode frames/s (target on 2 CPU cores:
    at least 25 frames/s).
(b) saehd df 128 with default dims: the model's forward pass alone vs the whole merge; everything
    besides the forward pass should add at most 20 % to its time.
On a GPU, (a) and (b) also run on the 1280x720 clip. Weights are random: speed does not depend on them.
The destination is extracted once into a temporary folder (not timed).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DATA = ROOT.parent / "shared" / "data" / "clips"

import numpy as np  # noqa: E402
import torch  # noqa: E402

from doppel.core.device import pick_device  # noqa: E402
from doppel.faces.extract import ExtractOptions, extract  # noqa: E402
from doppel.media.reader import read_frames  # noqa: E402
from doppel.media.writer import VideoWriter  # noqa: E402
from doppel.merge.merger import merge  # noqa: E402
from doppel.merge.predict import default_batch  # noqa: E402
from doppel.merge.settings import MergeSettings  # noqa: E402
from doppel.models.registry import create_model  # noqa: E402

SMALL = dict(resolution=64, face_type="wf", archi="df", ae_dims=64, e_dims=32, d_dims=32, d_mask_dims=16)
LARGE = dict(resolution=128, face_type="wf", archi="df")


def cut(clip: Path, out: Path, frames: int) -> Path:
    with VideoWriter(out, like=clip, crf=12, audio_from=clip, provenance=False) as w:
        for f in read_frames(clip):
            if f.index >= frames:
                break
            w.write(f.image, f.timestamp)
    return out


def io_only(clip: Path, out: Path) -> float:
    """Frames/s of decode + encode (with the same writer, provenance included): the ceiling."""
    t = time.perf_counter()
    n = 0
    with VideoWriter(out, like=clip, audio_from=clip) as w:
        for f in read_frames(clip):
            w.write(f.image, f.timestamp)
            n += 1
    return n / (time.perf_counter() - t)


def forward_only(model, faces: int, batch: int, device: torch.device) -> float:
    """Seconds for the model's swap pass over `faces` faces in batches (input already on the device)."""
    x = torch.rand(batch, 3, model.resolution, model.resolution, device=device).contiguous(memory_format=torch.channels_last)
    dtype = torch.bfloat16 if device.type == "cuda" else None
    with torch.inference_mode(), torch.autocast(device.type, dtype=dtype, enabled=dtype is not None):
        model.swap(x)
        if device.type == "cuda":
            torch.cuda.synchronize()
        t = time.perf_counter()
        for _ in range(0, faces, batch):
            rgb, mask = model.swap(x)
            rgb.float().cpu(), mask.float().cpu()  # merge brings each batch back to the host once
        if device.type == "cuda":
            torch.cuda.synchronize()
    return time.perf_counter() - t


def run_case(name: str, options: dict, settings: MergeSettings, clip: Path, aligned: Path, work: Path,
             device: torch.device, io_fps: float, batch: int, echo=print) -> list[dict]:
    torch.manual_seed(0)
    model = create_model("saehd", **options).to(device).eval()
    forward_only(model.to(memory_format=torch.channels_last), 8, 8, device)  # warm-up (kernels, allocator)
    # The first merge in a process pays one-off costs (allocator, encoder and thread start-up); the forward
    # pass below is timed warm, so the ratio uses a second, warm merge. Both are printed.
    cold = merge(None, clip, work / f"{name}.mp4", settings, aligned, model=model, progress=False, batch_size=batch)
    r = merge(None, clip, work / f"{name}.mp4", settings, aligned, model=model, progress=False, batch_size=batch)
    fwd = forward_only(model.to(memory_format=torch.channels_last), r.faces, batch or default_batch(model.resolution), device)
    overhead = (r.seconds - fwd) / fwd
    echo(f"  ({name}) {options.get('resolution')} px, {model.num_parameters() / 1e6:.1f} M params: "
         f"merge {r.fps:.1f} frames/s = {r.fps / io_fps:.2f} x decode+encode (first, cold merge {cold.fps:.1f}); "
         f"forward alone {r.faces / fwd:.1f} faces/s; everything else adds {overhead * 100:.0f} % to the forward time")
    label = f"({name}) saehd df {options.get('resolution')} px, {clip.stem}"
    return [
        dict(name=f"{label}: merged frames/s", value=r.fps, unit="frames/s", reference="decode+encode frames/s",
             reference_value=io_fps),
        dict(name=f"{label}: merged frames/s, first (cold) merge", value=cold.fps, unit="frames/s"),
        dict(name=f"{label}: time besides the forward pass", value=overhead, unit="share of forward time",
             reference="target <= 0.2" if name == "b" else ""),
    ]


def run(quick: bool, frames: int | None = None, device_name: str | None = None, batch: int | None = None,
        echo=print, cases: str = "a,b") -> list[dict]:
    """Measure both cases, print with `echo`, return row dicts (for `doppel bench`)."""
    device = pick_device(device_name)
    frames = frames or (60 if quick else 536)
    # On the CPU merge runs single-threaded forward passes, so OpenMP's wait policy should not matter (docs/merge.md).
    wait_policy = os.environ.get("OMP_WAIT_POLICY", "default")
    echo(f"device {device}, torch threads {torch.get_num_threads()}, OMP_WAIT_POLICY {wait_policy}, {frames} frames")
    clips = [DATA / "dst_woman_b.mp4"] + ([DATA / "woman_k_outdoor_1280x720.mp4"] if device.type == "cuda" else [])
    settings_a = MergeSettings(mode="hist-match", color_transfer="rct", blur=40)
    settings_b = MergeSettings(mode="overlay", color_transfer="rct", blur=40)
    rows: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="doppel-bench-merge-") as tmp:
        work = Path(tmp)
        for clip in clips:
            short = cut(clip, work / f"{clip.stem}.mp4", frames)
            aligned = work / f"{clip.stem}_aligned"
            extract(short, aligned, ExtractOptions(size=128), progress=False)
            io_fps = io_only(short, work / "io.mp4")
            w, h = next(iter(read_frames(short))).image.shape[1::-1]
            echo(f"{clip.name} ({w}x{h}): decode+encode alone {io_fps:.1f} frames/s")
            rows.append(dict(name=f"decode+encode {clip.stem} ({w}x{h})", value=io_fps, unit="frames/s"))
            if "a" in cases:
                rows += run_case("a", SMALL, settings_a, short, aligned, work, device, io_fps, batch, echo)
            if "b" in cases:
                rows += run_case("b", LARGE, settings_b, short, aligned, work, device, io_fps, batch, echo)
    echo("targets on 2 CPU cores: (a) >= 25 frames/s; (b) everything else adds <= 20 %")
    return rows


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="60 frames instead of the whole clip")
    p.add_argument("--frames", type=int, default=None)
    p.add_argument("--device", default=None)
    p.add_argument("--batch", type=int, default=None, help="faces per model call (default: merge's own choice)")
    p.add_argument("--cases", default="a,b", help="which cases to run (a, b or a,b)")
    args = p.parse_args()
    run(args.quick, args.frames, args.device, args.batch, cases=args.cases)


if __name__ == "__main__":
    np.set_printoptions(precision=3)
    main()
