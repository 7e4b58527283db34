"""Training speed with everything a real run does: real faces, sample workers, augmentation, all
losses, backward and the optimizer step. Not a test: it prints numbers and ratios measured in this run.

    .venv/bin/python -m benchmarks.train [--quick] [--iters 8] [--configs a,b,quick96,h128,amp,c]
                                         [--device auto] [--threads 0] [--workers -1]
                                         [--reference-s-per-it a=0.55 ...] [--reference dfl.json]

Rows: (a) saehd df res 64, ae 64 / e 32 / d 32 / mask 16, batch 8; (b) saehd df res 128 defaults, batch 4;
the quick96, h128 and amp presets; (c) on CUDA only, saehd liae-ud res 256 defaults, batch 16 with MFU.
Columns: ms/iteration, samples/s (src + dst faces), the share of loop time spent waiting for batches,
GFLOP per iteration (fwd + bwd, counted by torch's FlopCounterMode), achieved GFLOP/s beside the machine's
peak (doppel/doctor/peak.py: read from the instruction set and clock, or the GPU's model), and on CUDA the
share of time the GPU is busy (torch.profiler's kernel time over wall time) and the peak memory.
A speed-up over DeepFaceLab is printed only against DFL seconds per iteration measured on this same machine
and given here (--reference-s-per-it CONFIG=S, or --reference FILE: JSON {"a": 0.55, "b": 3.4}); a figure
from another machine says nothing about this one.
The sample pipeline is also timed alone (one worker, one thread) to show how much head-room it has.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("DOPPEL_DATA", ROOT.parent / "shared" / "data")) / "clips"

# name, model type, options, batch
CONFIGS = {
    "a": ("saehd df r64 ae64/e32/d32/m16 b8", "saehd", dict(resolution=64, ae_dims=64, e_dims=32, d_dims=32, d_mask_dims=16), 8),
    "b": ("saehd df r128 defaults b4", "saehd", dict(resolution=128), 4),
    "quick96": ("quick96 b4", "quick96", {}, 4),
    "h128": ("h128 b4", "h128", {}, 4),
    "amp": ("amp r224 b4", "amp", {}, 4),
    "c": ("saehd liae-ud r256 b16 (CUDA)", "saehd", dict(resolution=256, archi="liae-ud"), 16),
}


def gpu_busy_share(step, iters: int) -> float | None:
    """Share of wall time the GPU spends in kernels over `iters` calls of `step` (torch.profiler)."""
    from torch.profiler import ProfilerActivity, profile

    torch.cuda.synchronize()
    with profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA]) as prof:
        t = time.perf_counter()
        for _ in range(iters):
            step()
        torch.cuda.synchronize()
        wall = time.perf_counter() - t
    events = [e for e in prof.events() if getattr(e, "device_type", None) == torch.autograd.DeviceType.CUDA]
    busy_us = _union_us([(e.time_range.start, e.time_range.end) for e in events])
    return busy_us / 1e6 / wall if events else None


def _union_us(spans: list[tuple[float, float]]) -> float:
    """Length of the union of [start, end) spans (kernels on several streams may overlap)."""
    total, end = 0.0, float("-inf")
    for a, b in sorted(spans):
        if b <= end:
            continue
        total += b - max(a, end)
        end = b
    return total


def faces(quick: bool, given_src: str | None, given_dst: str | None, size: int) -> tuple[Path, Path]:
    if given_src and given_dst:
        return Path(given_src), Path(given_dst)
    from doppel.faces.extract import ExtractOptions, extract

    out = Path(tempfile.gettempdir()) / f"doppel-bench-faces-{size}-{'q' if quick else 'f'}"
    count = 16 if quick else 48
    for clip, side in (("src_woman_a.mp4", "src"), ("dst_woman_b.mp4", "dst")):
        if not (out / side / "alignments.json").exists() or len(list((out / side).glob("*.jpg"))) < count:
            extract(DATA / clip, out / side, ExtractOptions(size=size, max_frames=count, every_n=max(1, 400 // count)), progress=False)
    return out / "src", out / "dst"


def flops_per_step(objective, model, batch) -> float:
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as counter:
        with objective.autocast():
            out = model(batch["src_input"], batch["dst_input"], need_swap=objective.need_swap)
            from doppel.train import losses

            total, _ = losses.saehd_generator_loss(out, batch, objective.options, objective.discriminators)
        total.backward()
    model.zero_grad(set_to_none=True)
    return float(counter.get_total_flops())


def bench(key: str, src_dir: Path, dst_dir: Path, iters: int, device: torch.device, workers: int,
          options: dict | None = None, batch_size: int | None = None, profile_iters: int = 0) -> dict:
    """One config timed with real batches. `options`/`batch_size` replace the config's (the GPU check's
    tiny CPU rehearsal); `profile_iters` > 0 on CUDA also measures the share of time the GPU is busy."""
    from doppel.models.registry import create_model
    from doppel.train.faceset import load_faceset
    from doppel.train.objective import Objective
    from doppel.train.samples import BatchSource, batch_loader, finish_batch
    from doppel.train.trainer import _auto_workers, _to_device, sample_settings

    label, model_type, config_options, config_batch = CONFIGS[key]
    options = config_options if options is None else options
    batch_size = batch_size or config_batch
    torch.manual_seed(0)
    model = create_model(model_type, batch_size=batch_size, **options)
    opts = model.options
    model.to(device)
    cuda = device.type == "cuda"
    if cuda:
        model.to(memory_format=torch.channels_last)
    src = load_faceset(src_dir, model.resolution, model.face_type, progress=False)
    dst = load_faceset(dst_dir, model.resolution, model.face_type, progress=False)
    settings = sample_settings(opts, seed=0)
    workers = _auto_workers(device, workers)
    source = BatchSource(src, dst, settings, augment_here=not cuda)

    # the sample pipeline alone, one thread in this process (what one worker does)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    source[0]
    t = time.perf_counter()
    for k in range(1, 4):
        source[k]
    pipe_s = (time.perf_counter() - t) / 3
    torch.set_num_threads(threads)

    objective = Objective(model, opts, device)
    loader = batch_loader(source, 1, workers, pin_memory=cuda)

    def next_batch():
        t0 = time.perf_counter()
        _, raw = next(loader)
        waited = time.perf_counter() - t0
        b = finish_batch(raw, settings, device) if cuda else _to_device(raw, device, False)
        return b, waited

    warmup = 2
    for _ in range(warmup):
        b, _ = next_batch()
        objective.step(model, b, 0)
    if cuda:
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats(device)
    wait = 0.0
    t = time.perf_counter()
    for _ in range(iters):
        b, waited = next_batch()
        wait += waited
        loss, _ = objective.step(model, b, 0)
    float(loss)  # one sync at the end
    if cuda:
        torch.cuda.synchronize()
    step_s = (time.perf_counter() - t) / iters
    peak_gb = torch.cuda.max_memory_allocated(device) / 1024**3 if cuda else None
    busy = None
    if cuda and profile_iters:
        try:
            busy = gpu_busy_share(lambda: objective.step(model, next_batch()[0], 0), profile_iters)
        except Exception as e:  # noqa: BLE001 - the profiler is a measurement aid: the timings above stand
            print(f"GPU busy share not measured: {type(e).__name__}: {e}")
    flops = flops_per_step(objective, model, b)
    return dict(label=label, step_s=step_s, samples_s=2 * batch_size / step_s, wait=wait / (step_s * iters),
                gflop=flops / 1e9, gflops=flops / 1e9 / step_s, pipe_s=pipe_s, workers=workers,
                params=sum(p.numel() for p in model.parameters()), batch=batch_size, resolution=model.resolution,
                peak_memory_gb=peak_gb, gpu_busy=busy)


def device_peak_gflops(device: torch.device, threads: int) -> tuple[float | None, str]:
    """(peak GFLOP/s for the precision training runs in here, how it was found)."""
    from doppel.doctor.peak import cpu_peak, gpu_peak_tflops

    if device.type == "cuda":
        name = torch.cuda.get_device_name(device)
        tf = gpu_peak_tflops(name)
        return (tf * 1000 if tf else None), f"GPU {name}; bf16 dense peak {tf or 'unknown'} TFLOP/s"
    peak = cpu_peak(threads)
    return peak.fp32_gflops, f"CPU fp32 peak about {peak.fp32_gflops:.0f} GFLOP/s ({peak.how})"


def run(quick: bool, configs: str = "", iters: int = 0, device_name: str = "auto", threads: int = 0,
        workers: int = -1, src: str | None = None, dst: str | None = None, echo=print,
        references: dict[str, float] | None = None) -> list[dict]:
    """Measure the configs; print the table with `echo` and return one row dict per config (for `doppel bench`).
    `references`: DeepFaceLab seconds per iteration measured on this machine, by config key."""
    from doppel.core.device import pick_device

    references = references or {}
    device = pick_device(None if device_name == "auto" else device_name)
    threads = threads or os.cpu_count() or 1
    if device.type == "cpu":
        torch.set_num_threads(threads)
    keys = [k for k in configs.split(",") if k] or (["a", "quick96"] if quick else ["a", "b", "quick96", "h128", "amp"] + (["c"] if device.type == "cuda" else []))
    iters = iters or (2 if quick else 8)
    src_dir, dst_dir = faces(quick, src, dst, 256)
    echo(f"device {device}; {threads} threads; load average {os.getloadavg()[0]:.1f} (numbers are only comparable on an idle machine)")
    peak, how = device_peak_gflops(device, threads)
    echo(how)
    header = f"{'config':34s} {'ms/it':>9s} {'samples/s':>9s} {'wait':>6s} {'GFLOP/it':>9s} {'GFLOP/s':>8s} {'%peak':>6s} {'pipe ms':>8s} {'vs DFL':>8s}"
    echo(header)
    echo("-" * len(header))
    rows: list[dict] = []
    for key in keys:
        label = CONFIGS[key][0]
        if key == "c" and device.type != "cuda":
            echo(f"{label:34s} skipped: needs CUDA")
            rows.append(dict(name=label, status="missing", reference="needs CUDA"))
            continue
        try:
            r = bench(key, src_dir, dst_dir, iters, device, workers)
        except Exception as e:  # a preset that is missing or fails must not hide the other rows
            echo(f"{label:34s} failed: {type(e).__name__}: {e}")
            rows.append(dict(name=label, status="error", reference=f"{type(e).__name__}: {e}"))
            continue
        pct = f"{100 * r['gflops'] / peak:5.1f}%" if peak else "   n/a"
        dfl = references.get(key)
        vs = f"{dfl / r['step_s']:7.2f}x" if dfl else "     n/a"
        echo(f"{r['label']:34s} {1000 * r['step_s']:9.1f} {r['samples_s']:9.1f} {100 * r['wait']:5.1f}% {r['gflop']:9.2f} "
             f"{r['gflops']:8.1f} {pct} {1000 * r['pipe_s']:8.1f} {vs}")
        if dfl:
            rows.append(dict(name=f"{label}: s/iteration", value=r["step_s"], unit="s/it",
                             reference="DeepFaceLab s/it on this machine (speed-up = ratio)", reference_value=dfl,
                             ratio=dfl / r["step_s"]))
        else:
            rows.append(dict(name=f"{label}: s/iteration", value=r["step_s"], unit="s/it"))
        rows.append(dict(name=f"{label}: GFLOP/s", value=r["gflops"], unit="GFLOP/s",
                         reference="device peak" if peak else "", reference_value=peak))
        rows.append(dict(name=f"{label}: data wait", value=r["wait"], unit="share of loop time"))
    echo("wait = share of loop time spent waiting for the next batch (workers overlap with compute);"
         " pipe ms = one batch made by one worker thread alone; vs DFL = DFL seconds per iteration / ours,"
         " only where DFL was measured on this machine (--reference-s-per-it)")
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="few iterations, configs a and quick96 only (CI)")
    ap.add_argument("--iters", type=int, default=0, help="timed iterations per config (default 8, quick 2)")
    ap.add_argument("--configs", default="", help=f"comma list of {', '.join(CONFIGS)}")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--threads", type=int, default=0, help="model threads on CPU (0 = every core)")
    ap.add_argument("--workers", type=int, default=-1, help="sample workers (-1 = auto)")
    ap.add_argument("--src", default=None, help="aligned src faces (default: extracted from the shared clips)")
    ap.add_argument("--dst", default=None)
    ap.add_argument("--reference-s-per-it", action="append", default=[], metavar="CONFIG=S",
                    help="DeepFaceLab seconds per iteration of CONFIG measured on this machine (repeatable)")
    ap.add_argument("--reference", default=None, help='JSON file of DFL seconds per iteration: {"a": 0.55, "b": 3.4}')
    args = ap.parse_args()
    from doppel.core.errors import DoppelError
    from doppel.doctor.bench import read_references

    try:
        refs = read_references(args.reference_s_per_it, args.reference)
    except DoppelError as e:
        raise SystemExit(str(e)) from None
    if set(refs) - set(CONFIGS):
        raise SystemExit(f"DeepFaceLab references for unknown configs {', '.join(sorted(set(refs) - set(CONFIGS)))}; configs: {', '.join(CONFIGS)}")
    run(args.quick, args.configs, args.iters, args.device, args.threads, args.workers, args.src, args.dst, references=refs)


if __name__ == "__main__":
    main()
