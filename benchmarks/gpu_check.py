"""The GPU check: one command on a lent GPU machine measures training, merge and quality within a time
budget, and writes a report (JSON + Markdown) and pictures. Run through scripts/gpu-check (which installs
the bundle's wheels first); rehearse on the CPU with `--device cpu --tiny` (docs/gpu.md).

    python -m benchmarks.gpu_check --bundle gpu-bundle --out OUT [--device cuda] [--tiny]
                                   [--budget-s 540] [--only speed_c,quality] [--quality-minutes M]

Each step runs in its own process under its own time limit: a crash, a CUDA error or a hang in one is
recorded in the report and the next step runs. The quality run comes last and gets what is left of the
budget (up to the minutes in benchmarks/gpu_quality.json). At most 8 files land in OUT (what the GPU
machine brings back): report.json, report.md, gpu-check.log, quality.mp4, quality-frame.jpg,
preview.png, history.csv, history.png.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
QUALITY_CONFIG = ROOT / "benchmarks" / "gpu_quality.json"
H100_BF16_TFLOPS = 989.0


@dataclass(frozen=True)
class Step:
    name: str
    limit_s: float  # on the GPU
    tiny_limit_s: float  # CPU rehearsal
    what: str


STEPS = (
    Step("env", 25, 60, "versions, the GPU, train and merge import without mediapipe"),
    Step("pytest", 60, 120, "pytest -m gpu (the CUDA tests)"),
    Step("speed_c", 50, 120, "training speed at config (c): saehd liae-ud res 256 batch 16 bf16"),
    Step("speed_128", 60, 120, "training speed at res 128 with the largest batch that fits"),
    Step("merge_speed", 40, 150, "merge frames/s on the 720p clip against decode+encode alone"),
    Step("doctor", 45, 90, "doppel doctor's prediction for this device"),
    Step("quality", 0, 0, "train the pair for the rest of the budget, merge, bring back video, preview, history"),
)
QUALITY_OVERHEAD_S = {"gpu": 75.0, "tiny": 90.0}  # start-up, load, save and the merge around the training
SAFETY_S = 10.0
OUT_FILES = ("report.json", "report.md", "gpu-check.log", "quality.mp4", "quality-frame.jpg", "preview.png",
             "history.csv", "history.png")


# ----------------------------------------------------------------------------- the steps (child processes)

PARTIAL: dict = {}
PARTIAL_PATH: Path | None = None


def keep(**values) -> None:
    """Save what a step has measured so far: a step stopped at its limit still reports it."""
    PARTIAL.update(values)
    if PARTIAL_PATH is not None:
        PARTIAL_PATH.write_text(json.dumps(PARTIAL, default=str))


def _device(name: str):
    from doppel.core.device import pick_device

    return pick_device(None if name == "auto" else name)


def step_env(a) -> dict:
    import numpy
    import torch

    import doppel.merge.merger  # noqa: F401  (what training and merge import must load here)
    import doppel.train.trainer  # noqa: F401

    out = {"python": sys.version.split()[0], "torch": torch.__version__, "numpy": numpy.__version__,
           "cuda": torch.version.cuda, "mediapipe_imported": "mediapipe" in sys.modules}
    from importlib.metadata import version

    for mod, dist in (("cv2", "opencv-python-headless"), ("av", "av"), ("typer", "typer"), ("safetensors", "safetensors"),
                      ("rich", "rich"), ("matplotlib", "matplotlib"), ("scipy", "scipy"), ("pydantic", "pydantic")):
        try:
            __import__(mod)
            out[mod] = version(dist)
        except Exception as e:  # noqa: BLE001 - a missing package is the finding
            out[mod] = f"missing: {type(e).__name__}: {e}"
    device = _device(a.device)
    out["device"] = str(device)
    if device.type == "cuda":
        p = torch.cuda.get_device_properties(device)
        out.update(gpu=p.name, capability=f"{p.major}.{p.minor}", memory_gb=round(p.total_memory / 1024**3, 1),
                   multiprocessors=p.multi_processor_count, bf16=torch.cuda.is_bf16_supported())
        out["matmul_bf16_tflops"] = _matmul_tflops(torch, device)
    if out["mediapipe_imported"]:
        raise RuntimeError("training or merge imported mediapipe")
    return out


def _matmul_tflops(torch, device, n: int = 8192, reps: int = 10) -> float:
    """bf16 matrix product on random data: the ceiling actually reachable on this card today."""
    a = torch.randn(n, n, device=device, dtype=torch.bfloat16)
    b = torch.randn(n, n, device=device, dtype=torch.bfloat16)
    for _ in range(3):
        a @ b
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    start.record()
    for _ in range(reps):
        a @ b
    end.record()
    torch.cuda.synchronize()
    return round(2 * n**3 * reps / (start.elapsed_time(end) / 1000) / 1e12, 1)


def step_pytest(a) -> dict:
    env = dict(os.environ)
    env["CUDA_VISIBLE_DEVICES"] = os.environ.get("GPU_CHECK_VISIBLE_DEVICES", "0")  # tests/conftest.py hides GPUs by default
    if a.device == "cpu":
        env["CUDA_VISIBLE_DEVICES"] = ""
    cmd = [sys.executable, "-m", "pytest", "-m", "gpu", "-q", "-p", "no:cacheprovider", "--continue-on-collection-errors", "tests"]
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    print(proc.stdout[-6000:], proc.stderr[-3000:], sep="\n")
    summary = (proc.stdout.strip().splitlines() or ["(no output)"])[-1]
    # A test module that cannot be imported there (a CPU-only package) is an error of collection, not of a
    # GPU test: recorded, and the step fails only when a selected test failed or nothing ran.
    ran = " passed" in summary or " skipped" in summary
    if " failed" in summary or not ran:
        raise RuntimeError(f"pytest exit {proc.returncode}: {summary}")
    return {"summary": summary, "exit": proc.returncode}


def _speed_row(r: dict, peak_tflops: float | None) -> dict:
    row = {k: r[k] for k in ("label", "resolution", "batch", "workers", "params", "peak_memory_gb", "gpu_busy")}
    row.update(ms_per_it=round(1000 * r["step_s"], 2), samples_per_s=round(r["samples_s"], 1),
               data_wait=round(r["wait"], 4), gflop_per_it=round(r["gflop"], 1), tflops=round(r["gflops"] / 1000, 2))
    row["mfu"] = round(r["gflops"] / 1000 / peak_tflops, 4) if peak_tflops else None
    return row


def _peak_tflops(device) -> float | None:
    import torch

    from doppel.doctor.peak import cpu_peak, gpu_peak_tflops

    if device.type == "cuda":
        return gpu_peak_tflops(torch.cuda.get_device_name(device))
    return cpu_peak(torch.get_num_threads()).fp32_gflops / 1000


def _tiny_model() -> dict:
    return dict(resolution=64, archi="liae-ud", ae_dims=32, e_dims=16, d_dims=16, d_mask_dims=16)


def step_speed_c(a) -> dict:
    from benchmarks.train import bench

    device = _device(a.device)
    bundle = Path(a.bundle)
    if a.tiny:
        r = bench("c", bundle / "src", bundle / "dst", 2, device, 0, options=_tiny_model(), batch_size=2)
    else:
        r = bench("c", bundle / "src", bundle / "dst", 20, device, -1, profile_iters=5)
    return _speed_row(r, _peak_tflops(device))


def step_speed_128(a) -> dict:
    """The largest batch at res 128 that fits (doubling with synthetic batches until out of memory), then
    that batch timed with real batches."""
    from benchmarks.train import bench
    from doppel.doctor.fit import time_config

    device = _device(a.device)
    bundle = Path(a.bundle)
    options = _tiny_model() if a.tiny else dict(resolution=128, archi="liae-ud")
    batches = (2, 4) if a.tiny else (32, 64, 128, 256, 512, 1024)
    tried, best = [], None
    deadline = time.monotonic() + (0.5 if not a.tiny else 0.6) * a.limit_s
    for b in batches:
        t = time_config("saehd", device, b, iterations=1, warmup=1, **options)
        tried.append({"batch": b, "fits": t.fits, "s_per_it": t.seconds_per_iter, "peak_memory_gb": t.peak_memory_gb})
        keep(search=tried)
        print(f"batch {b}: {'fits' if t.fits else 'does not fit'} {t.seconds_per_iter or ''}", flush=True)
        if not t.fits:
            break
        best = b
        if time.monotonic() > deadline:
            break
    if best is None:
        raise RuntimeError(f"no batch fits at res {options['resolution']}: {tried}")
    r = bench("c", bundle / "src", bundle / "dst", 2 if a.tiny else 10, device, 0 if a.tiny else -1,
              options=options, batch_size=best, profile_iters=0 if a.tiny else 3)
    return {"search": tried, **_speed_row(r, _peak_tflops(device))}


def bundle_clip(bundle: Path, key: str) -> Path:
    """A clip of the bundle under its own name (merge checks that the alignments list this very video)."""
    manifest = json.loads((bundle / "manifest.json").read_text())
    return bundle / manifest[key]


def cut_with_faces(clip: Path, aligned: Path, work: Path, frames: int) -> tuple[Path, Path]:
    """The first `frames` frames of `clip` (same file name) and a copy of its aligned faces whose index
    lists only those frames: what merge accepts for the cut (the CPU rehearsal merges a few frames)."""
    from benchmarks.merge import cut

    (work / "cut").mkdir(parents=True, exist_ok=True)
    short = cut(clip, work / "cut" / clip.name, frames)
    faces = work / f"{aligned.name}_cut"
    shutil.copytree(aligned, faces, dirs_exist_ok=True)
    index = json.loads((faces / "alignments.json").read_text())
    index["frames"] = [f for f in index["frames"] if f["index"] < frames]
    index["source"] = str(short)
    (faces / "alignments.json").write_text(json.dumps(index))
    return short, faces


def step_merge_speed(a) -> dict:
    import torch

    from benchmarks.merge import LARGE, SMALL, io_only, run_case
    from doppel.merge.settings import MergeSettings

    device = _device(a.device)
    bundle = Path(a.bundle)
    work = Path(a.work) / "merge_speed"
    work.mkdir(parents=True, exist_ok=True)
    clip, aligned = bundle_clip(bundle, "clip720"), bundle / "clip720_aligned"
    if a.tiny:
        clip, aligned = cut_with_faces(clip, aligned, work, 12)
    io_fps = io_only(clip, work / "io.mp4")
    options = SMALL if a.tiny else LARGE
    rows = run_case("b", options, MergeSettings(mode="overlay", color_transfer="rct", blur=40), clip,
                    aligned, work, device, io_fps, None, echo=print)
    merged = rows[0]["value"]
    return {"clip": clip.name, "decode_encode_fps": round(io_fps, 1), "merge_fps": round(merged, 1),
            "merge_fps_cold": round(rows[1]["value"], 1), "share_of_io": round(merged / io_fps, 3),
            "time_besides_forward": round(rows[2]["value"], 3), "model": f"saehd df {options['resolution']} px",
            "torch_threads": torch.get_num_threads()}


def step_doctor(a) -> dict:
    from doppel.doctor.doctor import run_doctor
    from doppel.doctor.options import DoctorOptions

    options = DoctorOptions(model_type="saehd", resolution=64 if a.tiny else 256, batch=2 if a.tiny else 16,
                            iterations=100_000, price=0.0 if a.device == "cpu" else 3.0, device=a.device,
                            timing_iterations=1 if a.tiny else 5)
    report = run_doctor(options, a.work)
    rec = report.recommended
    out = {"lines": report.lines(), "peak_tflops": report.peak_tflops}
    if rec:
        out.update(predicted_s_per_it=rec.seconds_per_iter, predicted_resolution=rec.resolution, predicted_batch=rec.batch,
                   predicted_measured=rec.measured, predicted_tflops=(rec.flops_per_iter / rec.seconds_per_iter / 1e12)
                   if rec.flops_per_iter and rec.seconds_per_iter else None, predicted_peak_memory_gb=rec.peak_memory_gb)
    return out


def quality_config(tiny: bool) -> dict:
    cfg = json.loads(Path(os.environ.get("GPU_CHECK_QUALITY", QUALITY_CONFIG)).read_text())
    if tiny:
        cfg = {**cfg, **cfg["tiny"]}
    return cfg


def step_quality(a) -> dict:
    """Train the bundle's pair for a.minutes through the real CLI, merge the destination, keep the files."""
    cfg = quality_config(a.tiny)
    bundle, work, out = Path(a.bundle), Path(a.work) / "quality", Path(a.out)
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    (work / "train.json").write_text(json.dumps(cfg["train"]))
    (work / "merge.json").write_text(json.dumps(cfg.get("merge", {})))
    model = work / "model"
    doppel = [sys.executable, "-m", "doppel.cli"]
    t0 = time.monotonic()
    train = subprocess.run(doppel + ["train", "--src", str(bundle / "src"), "--dst", str(bundle / "dst"), "--model", str(model),
                                     "--model-type", cfg.get("model_type", "saehd"), "--config", str(work / "train.json"),
                                     "--minutes", f"{a.minutes:.3f}", "--device", a.device, "--no-progress"], cwd=ROOT)
    train_s = time.monotonic() - t0
    if train.returncode:
        raise RuntimeError(f"doppel train exited {train.returncode}")
    status = json.loads((model / "status.json").read_text()) if (model / "status.json").exists() else {}
    keep(train_wall_s=round(train_s, 1), iterations=status.get("iteration"), status=status)
    dst, aligned = bundle_clip(bundle, "dst"), bundle / "dst"
    if cfg.get("frames"):
        dst, aligned = cut_with_faces(dst, aligned, work, int(cfg["frames"]))
    t1 = time.monotonic()
    merged = subprocess.run(doppel + ["merge", "--model", str(model), "--dst", str(dst), "--aligned", str(aligned),
                                      "--out", str(out / "quality.mp4"), "--config", str(work / "merge.json"),
                                      "--device", a.device], cwd=ROOT)
    merge_s = time.monotonic() - t1
    for name, found in (("preview.png", model / "previews" / "latest.png"), ("history.csv", model / "history.csv"),
                        ("history.png", next(iter(sorted(model.glob("*.png"))), None))):
        if found is not None and found.exists():
            shutil.copyfile(found, out / name)
    for stray in out.glob("quality.mp4.*"):  # merge's settings file beside the video: keep it in the report instead
        stray.unlink()
    if merged.returncode:
        raise RuntimeError(f"doppel merge exited {merged.returncode}")
    _middle_frame(out / "quality.mp4", out / "quality-frame.jpg")
    return {"minutes_asked": round(a.minutes, 2), "train_wall_s": round(train_s, 1), "merge_wall_s": round(merge_s, 1),
            "iterations": status.get("iteration"), "status": status, "config": cfg}


def _middle_frame(video: Path, jpg: Path) -> None:
    import cv2

    from doppel.media.reader import read_frames

    frames = [f.image for f in read_frames(video)]
    if frames:
        cv2.imwrite(str(jpg), frames[len(frames) // 2], [cv2.IMWRITE_JPEG_QUALITY, 92])


STEP_FUNCTIONS = {"env": step_env, "pytest": step_pytest, "speed_c": step_speed_c, "speed_128": step_speed_128,
                  "merge_speed": step_merge_speed, "doctor": step_doctor, "quality": step_quality}


def run_step_here(a) -> int:
    """Child process: run one step, write its result (or its error) as JSON."""
    global PARTIAL_PATH
    result_path = Path(a.work) / f"{a.step}.json"
    PARTIAL_PATH = Path(a.work) / f"{a.step}.partial.json"
    t0 = time.monotonic()
    try:
        result = {"ok": True, **STEP_FUNCTIONS[a.step](a)}
    except BaseException as e:  # noqa: BLE001 - recorded, never fatal for the other steps
        import traceback

        traceback.print_exc()
        result = {"ok": False, "error": f"{type(e).__name__}: {e}"}
    result["seconds"] = round(time.monotonic() - t0, 1)
    result_path.write_text(json.dumps(result, default=str, indent=1))
    return 0


# ----------------------------------------------------------------------------- the plan (parent process)

def plan(args) -> list[tuple[Step, float]]:
    only = set(filter(None, args.only.split(","))) if args.only else {s.name for s in STEPS}
    unknown = only - {s.name for s in STEPS}
    if unknown:
        raise SystemExit(f"--only: unknown steps {', '.join(sorted(unknown))}; steps: {', '.join(s.name for s in STEPS)}")
    return [(s, s.tiny_limit_s if args.tiny else s.limit_s) for s in STEPS if s.name in only]


def print_plan(steps, args, budget_s: float) -> None:
    fixed = sum(limit for s, limit in steps if s.name != "quality")
    print(f"GPU check plan: {budget_s:.0f} s left of the budget on {args.device}{' (tiny rehearsal)' if args.tiny else ''}; "
          f"each step has its own limit, a failing step is recorded and the next one runs")
    for s, limit in steps:
        if s.name == "quality":
            print(f"  {'quality':12s} the rest (at least {budget_s - fixed:.0f} s if every step above used its limit): {s.what}")
        else:
            print(f"  {s.name:12s} <= {limit:4.0f} s  {s.what}")
    print(flush=True)


def run_child(step: Step, limit: float, args, log, extra: list[str]) -> dict:
    cmd = [sys.executable, "-m", "benchmarks.gpu_check", "--step", step.name, "--bundle", args.bundle, "--out", args.out,
           "--work", args.work, "--device", args.device, "--limit-s", str(limit)] + (["--tiny"] if args.tiny else []) + extra
    log.write(f"\n===== {step.name} (limit {limit:.0f} s) {time.strftime('%H:%M:%S')}\n")
    log.flush()
    result_path = Path(args.work) / f"{step.name}.json"
    partial_path = Path(args.work) / f"{step.name}.partial.json"
    result_path.unlink(missing_ok=True)
    partial_path.unlink(missing_ok=True)
    t0 = time.monotonic()
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        proc.wait(timeout=limit)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        partial = json.loads(partial_path.read_text()) if partial_path.exists() else {}
        return {"ok": False, "error": f"ran past its {limit:.0f} s limit and was stopped", "seconds": round(time.monotonic() - t0, 1),
                "partial": partial}
    if result_path.exists():
        return json.loads(result_path.read_text())
    return {"ok": False, "error": f"the step's process died (exit {proc.returncode}) before writing a result",
            "seconds": round(time.monotonic() - t0, 1)}


def main_plan(args) -> int:
    t_start = float(os.environ.get("GPU_CHECK_T0", time.time()))
    deadline = t_start + args.budget_s
    out, work = Path(args.out), Path(args.work)
    out.mkdir(parents=True, exist_ok=True)
    work.mkdir(parents=True, exist_ok=True)
    steps = plan(args)
    print_plan(steps, args, deadline - time.time())
    results: dict[str, dict] = {}
    with open(out / "gpu-check.log", "a") as log:
        for step, limit in steps:
            left = deadline - time.time() - SAFETY_S
            extra: list[str] = []
            if step.name == "quality":
                cfg = quality_config(args.tiny)
                overhead = QUALITY_OVERHEAD_S["tiny" if args.tiny else "gpu"]
                minutes = args.quality_minutes or float(cfg.get("minutes", 5.0))
                minutes = max(0.05, min(minutes, (left - overhead) / 60))
                limit = minutes * 60 + overhead
                extra = ["--minutes", f"{minutes:.3f}"]
            elif limit > left:
                limit = max(left, 1.0)
            if left <= 1:
                results[step.name] = {"ok": False, "error": "no time left in the budget", "seconds": 0}
            else:
                results[step.name] = run_child(step, limit, args, log, extra)
            r = results[step.name]
            print(f"{step.name:12s} {'ok  ' if r.get('ok') else 'FAIL'} {r.get('seconds', 0):6.1f} s  {_headline(step.name, r)}", flush=True)
    report = {"time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "device": args.device, "tiny": args.tiny,
              "budget_s": args.budget_s, "total_s": round(time.time() - t_start, 1), "steps": results,
              "goals": goals(results, args.tiny)}
    (out / "report.json").write_text(json.dumps(report, indent=1, default=str))
    (out / "report.md").write_text(markdown(report))
    print(f"\ntotal {report['total_s']:.0f} s of {args.budget_s:.0f}; report in {out}", flush=True)
    for name in sorted(p.name for p in out.iterdir()):
        if name not in OUT_FILES:
            print(f"warning: {name} in the output folder would not come back from the GPU machine")
    return 0 if all(r.get("ok") for r in results.values()) else 1


def _headline(name: str, r: dict) -> str:
    if not r.get("ok"):
        return r.get("error", "?")
    if name in ("speed_c", "speed_128"):
        mfu = f"MFU {100 * r['mfu']:.1f} %" if r.get("mfu") is not None else "MFU n/a"
        busy = f"GPU busy {100 * r['gpu_busy']:.0f} %" if r.get("gpu_busy") is not None else ""
        return f"res {r['resolution']} batch {r['batch']}: {r['ms_per_it']} ms/it, {mfu}, data wait {100 * r['data_wait']:.1f} % {busy}"
    if name == "merge_speed":
        return f"{r['merge_fps']} frames/s merged, {r['decode_encode_fps']} decode+encode alone"
    if name == "doctor":
        s_per_it = r.get("predicted_s_per_it")
        return f"predicted {s_per_it or 0:.4g} s/it at res {r.get('predicted_resolution')} batch {r.get('predicted_batch')}"
    if name == "quality":
        return f"{r.get('iterations')} iterations in {r['train_wall_s']} s, merged in {r['merge_wall_s']} s"
    if name == "env":
        return f"torch {r.get('torch')}, numpy {r.get('numpy')}, {r.get('gpu', r.get('device'))}"
    return r.get("summary", "")


def goals(results: dict, tiny: bool) -> list[dict]:
    """The issue's goals against what was measured (informative on the CPU rehearsal)."""
    c, m = results.get("speed_c", {}), results.get("merge_speed", {})
    rows = [("training (c) MFU >= 35 %", c.get("mfu"), 0.35, ">="),
            ("training (c) GPU busy >= 90 %", c.get("gpu_busy"), 0.90, ">="),
            ("training (c) data wait <= 5 %", c.get("data_wait"), 0.05, "<="),
            ("merge 720p >= 100 frames/s", m.get("merge_fps"), 100.0, ">=")]
    out = []
    for name, value, target, how in rows:
        met = None if value is None else (value >= target if how == ">=" else value <= target)
        out.append({"goal": name, "measured": value, "met": met})
    d = results.get("doctor", {})
    if d.get("predicted_s_per_it") and c.get("ms_per_it"):
        out.append({"goal": "doctor's s/it against measured (c) (doctor: synthetic batches, archi df)",
                    "measured": round(d["predicted_s_per_it"] * 1000 / c["ms_per_it"], 3), "met": None})
    return out


def markdown(report: dict) -> str:
    lines = [f"# GPU check, {report['time']}", "",
             f"Device {report['device']}{' (tiny CPU rehearsal)' if report['tiny'] else ''}; "
             f"{report['total_s']:.0f} s of a {report['budget_s']:.0f} s budget.", "",
             "| step | ok | seconds | result |", "|---|---|---|---|"]
    for name, r in report["steps"].items():
        lines.append(f"| {name} | {'yes' if r.get('ok') else 'NO'} | {r.get('seconds', '')} | {_headline(name, r)} |")
    lines += ["", "## Goals", "", "| goal | measured | met |", "|---|---|---|"]
    for g in report["goals"]:
        lines.append(f"| {g['goal']} | {g['measured']} | {'' if g['met'] is None else ('yes' if g['met'] else 'no')} |")
    env = report["steps"].get("env", {})
    lines += ["", "## Environment", "", "```", json.dumps(env, indent=1, default=str), "```"]
    d = report["steps"].get("doctor", {})
    if d.get("lines"):
        lines += ["", "## doppel doctor", "", "```", *d["lines"], "```"]
    lines += ["", "Every number of every step is in report.json; each step's output is in gpu-check.log.", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bundle", default="gpu-bundle", help="folder made by scripts/gpu-bundle")
    ap.add_argument("--out", default=os.environ.get("OUT", "gpu-check-out"))
    ap.add_argument("--work", default=None, help="scratch folder (default: a temporary one, never inside --out)")
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--tiny", action="store_true", help="tiny settings for the CPU rehearsal (seconds per step)")
    ap.add_argument("--budget-s", type=float, default=540.0, help="the whole check, setup included (GPU_CHECK_T0 = its start)")
    ap.add_argument("--only", default="", help="comma list of steps: " + ", ".join(s.name for s in STEPS))
    ap.add_argument("--quality-minutes", type=float, default=0.0, help="training minutes of the quality run (default: the config's)")
    ap.add_argument("--step", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--minutes", type=float, default=0.0, help=argparse.SUPPRESS)
    ap.add_argument("--limit-s", type=float, default=0.0, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    args.bundle = str(Path(args.bundle).resolve())
    args.out = str(Path(args.out).resolve())
    if args.work is None:
        import tempfile

        args.work = tempfile.mkdtemp(prefix="doppel-gpu-check-")
    if args.step:
        return run_step_here(args)
    if not (Path(args.bundle) / "manifest.json").exists():
        raise SystemExit(f"{args.bundle}: no bundle here; run scripts/gpu-bundle first (docs/gpu.md)")
    return main_plan(args)


if __name__ == "__main__":
    sys.exit(main())
