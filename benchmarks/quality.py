"""Quality per minute of training: one run, scored at several checkpoints, so one run gives a curve.

    .venv/bin/python -m benchmarks.quality [--pair tune | --pair check | --src CLIP --dst CLIP]
        [--checkpoints 5,10,20,30 | --iterations 200,500] [--device cpu|cuda] [--threads 0]
        [--model-type saehd] [--resolution 96] [--batch 8] [--archi df] [--ae-dims 64] [--e-dims 32]
        [--d-dims 32] [--d-mask-dims 16] [--train-arg KEY=VALUE ...] [--pretrained MODEL_DIR]
        [--every 10] [--max-frames 0] [--work DIR] [--results FILE] [--label TEXT]
    .venv/bin/python -m benchmarks.quality --calibrate [--pair tune] [--every 20]

It extracts both clips once (cached under --work, shared by every run on the same clips and face
size), trains a new model (and, with --pretrained, a second one from that start), and at each
checkpoint of the SAME run saves the model, merges the destination as `doppel swap` does and scores
the result with `doppel evaluate`'s measures. Training resumes between checkpoints, as `doppel swap
--minutes` does, so minutes and iterations are cumulative. Columns: minutes of training, iterations,
seconds per iteration, mean dlib distance of the result's face to the source identity (the source
against itself is about 0.28; the same-person threshold is 0.6), share of frames under 0.6, detail
of eyes/brows/lips against the destination (1 = as sharp), pose error (mean of yaw, pitch, roll,
degrees), expression error, landmark jitter against the destination's, PSNR outside the face.
The table is printed, written as JSON beside the run, and appended (one JSON line per checkpoint)
to --results, so runs can be compared.

Pairs (the shared clips in ../shared/data/clips): TUNE pairs are the only ones to choose settings on;
CHECK pairs only confirm a choice, and are never tuned on. Faces are found in nearly every frame of
each clip named here. --calibrate scores the reference cases docs/evaluate.md reports: the source clip
against itself, the destination against itself, the destination blurred (Gaussian, sigma 2 and 4 px), and
the destination's faces passed through a 64, 96 and 128 px whole-face crop and enlarged back: the detail
a perfect model of that size could reach (its ceiling), whatever the training.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("DOPPEL_DATA", ROOT.parent / "shared" / "data")) / "clips"
DEFAULT_WORK = Path(os.environ.get("DOPPEL_QUALITY_WORK", Path.home() / ".cache" / "doppel-quality"))

TUNE_PAIRS = {"tune": ("src_woman_a", "dst_woman_b")}  # the demo's pair
CHECK_PAIRS = {"check": ("src_woman_d_long", "man_h_glasses"), "check2": ("src_woman_d_long", "woman_i_outdoor_portrait")}
PAIRS = {**TUNE_PAIRS, **CHECK_PAIRS}
BLUR_SIGMAS = (2.0, 4.0)
CEILING_RESOLUTIONS = (64, 96, 128)  # model face sizes whose detail ceiling --calibrate measures
IDENTITY_FRAMES = 100  # source clip frames averaged into the source identity

# flag -> model option; only the flags given override the device's default model (as `doppel swap`)
MODEL_FLAGS = {"resolution": int, "batch_size": int, "archi": str, "face_type": str, "ae_dims": int, "e_dims": int,
               "d_dims": int, "d_mask_dims": int}


def clip_path(name_or_path: str) -> Path:
    path = Path(name_or_path)
    return path if path.suffix else DATA / f"{name_or_path}.mp4"


@dataclass
class Pair:
    name: str
    src: Path
    dst: Path


def say(text: str) -> None:
    print(text, flush=True)


# ---- cached inputs ---------------------------------------------------------------------------

def extracted(clip: Path, work: Path, size: int, every_n: int, device: str) -> Path:
    """Aligned faces of `clip`, extracted once per (clip, face size, frame step) and reused."""
    from doppel.core.atomic import write_json
    from doppel.faces.extract import ExtractOptions, extract

    folder = work / "faces" / f"{clip.stem}-{size}px-every{every_n}"
    done = folder / "benchmark.done.json"
    if done.exists():
        return folder
    say(f"[extract] {clip.name} -> {folder}")
    t0 = time.perf_counter()
    r = extract(clip, folder, ExtractOptions(size=size, every_n=every_n, device=device), progress=sys.stdout.isatty())
    if not r.complete:
        raise SystemExit(f"extraction of {clip} did not finish; run again to resume")
    write_json(done, {"clip": str(clip), "frames": r.frames_seen, "without_face": r.frames_without_face,
                      "seconds": round(time.perf_counter() - t0, 1)})
    say(f"[extract] {r.frames_seen} frames, {r.frames_without_face} without a face, {time.perf_counter() - t0:.0f} s")
    return folder


def source_identity(clip: Path, work: Path) -> np.ndarray:
    """The source identity: mean dlib embedding over frames of the source clip, cached."""
    from doppel.core.atomic import write_json
    from doppel.evaluate.evaluate import source_identity as mean_embedding

    path = work / "identity" / f"{clip.stem}-{IDENTITY_FRAMES}.json"
    if path.exists():
        return np.asarray(json.loads(path.read_text())["embedding"], np.float32)
    say(f"[identity] {clip.name}: mean dlib embedding of {IDENTITY_FRAMES} frames")
    vec = mean_embedding(clip, IDENTITY_FRAMES)
    write_json(path, {"clip": str(clip), "frames": IDENTITY_FRAMES, "embedding": [round(float(v), 6) for v in vec]})
    return vec


# ---- scoring -----------------------------------------------------------------------------------

def score(src_identity: np.ndarray, src: Path, dst: Path, result: Path, every: int, max_frames: int) -> dict:
    """The benchmark's columns from `doppel evaluate`'s summary (and the summary itself)."""
    from doppel.evaluate.evaluate import EvaluateOptions, evaluate

    report = evaluate(src, dst, result, EvaluateOptions(every_n=every, max_frames=max_frames), src_identity=src_identity)
    s = report.summary
    pose = [v for v in s["pose_error_deg"].values() if v is not None]
    return {
        "distance": s["source_distance"]["mean"],
        "under_0_6": s["source_distance"]["under_threshold"],
        "detail": s["detail"],
        "pose_error": float(np.mean(pose)) if pose else None,
        "expression_error": s["expression_error"],
        "jitter_ratio": s["temporal"]["landmark_jitter_ratio"],
        "psnr_outside": s["outside_face"]["psnr_db"],
        "summary": s,
        "warnings": report.warnings,
    }


COLUMNS = [  # key, header, format
    ("start", "start", "{}"), ("minutes", "min", "{:.1f}"), ("iterations", "iter", "{}"), ("s_per_it", "s/it", "{:.2f}"),
    ("distance", "dist", "{:.3f}"), ("under_0_6", "<0.6", "{:.0%}"), ("detail", "detail", "{:.2f}"),
    ("pose_error", "pose°", "{:.1f}"), ("expression_error", "expr", "{:.3f}"), ("jitter_ratio", "jitter", "{:.2f}"),
    ("psnr_outside", "PSNR out", "{:.1f}"),
]


def table(rows: list[dict], columns=COLUMNS) -> str:
    def cell(row, key, fmt):
        v = row.get(key)
        return "n/a" if v is None else fmt.format(v)

    cells = [[h for _, h, _ in columns]] + [[cell(r, k, f) for k, _, f in columns] for r in rows]
    widths = [max(len(c[i]) for c in cells) for i in range(len(columns))]
    lines = ["  ".join(c.rjust(w) for c, w in zip(line, widths)) for line in cells]
    return "\n".join([lines[0], "  ".join("-" * w for w in widths)] + lines[1:])


# ---- training run ------------------------------------------------------------------------------

def parse_train_args(items: list[str]) -> dict:
    """KEY=VALUE pairs; values read as JSON where they parse (numbers, true/false), else text."""
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep:
            raise SystemExit(f"--train-arg {item!r}: write KEY=VALUE")
        try:
            out[key.strip().lstrip("-").replace("-", "_")] = json.loads(value)
        except ValueError:
            out[key.strip().lstrip("-").replace("-", "_")] = value
    return out


def model_setup(args, device_type: str) -> tuple[str, dict, dict]:
    """(model type, model options, run options) as `doppel swap` picks them, with the flags over them."""
    from doppel.models.registry import model_options
    from doppel.pipeline.swap import default_model
    from doppel.train.config import split_options

    model_type, options = default_model(device_type)
    if args.model_type and args.model_type != model_type:
        model_type, options = args.model_type, {}
    options = {**options, **{k: getattr(args, k) for k in MODEL_FLAGS if getattr(args, k) is not None}}
    fields = {f.name for f in dataclasses.fields(model_options(model_type))}
    extra_model, extra_run = split_options(parse_train_args(args.train_arg), fields)
    return model_type, {**options, **extra_model}, extra_run


def train_to(ws, model_type: str, model_options: dict, run_extra: dict, target: float, by_minutes: bool,
             device: str, threads: int, pretrained: str) -> dict:
    """Train (or resume) ws.model until `target` minutes of training time or iterations in all."""
    from doppel.pipeline.swap import trained_so_far
    from doppel.train.config import RunOptions
    from doppel.train.trainer import train

    spent, it_before = trained_so_far(ws.model)
    run = RunOptions(device=device, progress=sys.stdout.isatty(), autosave_minutes=5.0, preview_every=0, backup_hours=0.0,
                     threads=threads, pretrained=pretrained if it_before == 0 else "", **run_extra)
    if by_minutes:
        left = target - spent / 60.0
        if left <= 0:
            return {"iterations": it_before, "seconds": spent}
        run = run.replace(minutes=left)
    else:
        if target <= it_before:
            return {"iterations": it_before, "seconds": spent}
        run = run.replace(iterations=int(target))
    r = train(ws.src_aligned, ws.dst_aligned, ws.model, model_type, model_options if it_before == 0 else {}, run)
    if r.stop_reason not in ("target", "minutes", "early-stop"):
        raise SystemExit(f"training stopped ({r.stop_reason}) at iteration {r.iteration}")
    return {"iterations": r.iteration, "seconds": r.seconds, "loss": r.loss}


def run_curve(args) -> list[dict]:
    from doppel.core.device import pick_device
    from doppel.core.workspace import Workspace
    from doppel.pipeline.swap import SRC_EVERY_N_CPU, SwapOptions, merge_stage, model_resolution

    pair = pick_pair(args)
    device = pick_device(args.device)
    model_type, model_options, run_extra = model_setup(args, device.type)
    face_size = min(512, 2 * model_resolution(model_type, model_options))  # as `doppel swap`
    work = Path(args.work)
    src_faces = extracted(pair.src, work, face_size, SRC_EVERY_N_CPU if device.type == "cpu" else 1, args.device)
    dst_faces = extracted(pair.dst, work, face_size, 1, args.device)
    identity = source_identity(pair.src, work)
    targets = checkpoint_targets(args.checkpoints or args.iterations)
    by_minutes = bool(args.checkpoints)
    starts = [("scratch", "")] + ([("pretrained", str(Path(args.pretrained).resolve()))] if args.pretrained else [])
    stamp = time.strftime("%Y%m%d-%H%M%S")
    use = "tune" if pair.name in TUNE_PAIRS else "check" if pair.name in CHECK_PAIRS else "other"
    setup = {"pair": pair.name, "src": pair.src.name, "dst": pair.dst.name, "tune_or_check": use, "device": str(device),
             "threads": args.threads, "model_type": model_type, "model_options": model_options, "run_options": run_extra, "every": args.every,
             "label": args.label, "stamp": stamp}
    say(f"[quality] {pair.name}: {pair.src.name} -> {pair.dst.name} ({use} pair), {model_type} "
        f"{json.dumps(model_options)}, run {json.dumps(run_extra)}, device {device}")
    rows = []
    for start, pretrained in starts:
        run_dir = work / "runs" / f"{pair.name}-{args.label or model_type}-{start}-{stamp}"
        ws = Workspace(run_dir).create()
        for side, faces in ((ws.src_aligned, src_faces), (ws.dst_aligned, dst_faces)):
            side.rmdir()  # created empty just above: the cached faces stand in for it
            side.symlink_to(faces, target_is_directory=True)
        for target in targets:
            t0 = time.perf_counter()
            trained = train_to(ws, model_type, model_options, run_extra, target, by_minutes, args.device, args.threads,
                               pretrained)
            train_wall = time.perf_counter() - t0
            out = ws.output / (f"{target:g}min.mp4" if by_minutes else f"{int(target)}it.mp4")
            t0 = time.perf_counter()
            merge_stage(ws, pair.dst, out, SwapOptions(device=args.device, progress=sys.stdout.isatty()))
            merge_s = time.perf_counter() - t0
            t0 = time.perf_counter()
            scores = score(identity, pair.src, pair.dst, out, args.every, args.max_frames)
            row = {"start": start, "minutes": trained["seconds"] / 60.0, "iterations": trained["iterations"],
                   "s_per_it": trained["seconds"] / max(1, trained["iterations"]), **scores,
                   "train_wall_s": round(train_wall, 1), "merge_s": round(merge_s, 1),
                   "score_s": round(time.perf_counter() - t0, 1), "result": str(out), "setup": setup}
            rows.append(row)
            say(table([row]).splitlines()[-1] + f"   (merge {merge_s:.0f} s, scoring {row['score_s']:.0f} s)")
    return rows


def checkpoint_targets(text: str) -> list[float]:
    """'5,10,20' -> [5.0, 10.0, 20.0]: the budgets, in all, at which the run is scored."""
    try:
        targets = sorted({float(v) for v in text.split(",") if v.strip()})
    except ValueError:
        raise SystemExit(f"checkpoints {text!r}: write numbers separated by commas, e.g. 5,10,20,30") from None
    if not targets or targets[0] <= 0:
        raise SystemExit(f"checkpoints {text!r}: give one or more budgets above 0")
    return targets


def pick_pair(args) -> Pair:
    if args.src or args.dst:
        if not (args.src and args.dst):
            raise SystemExit("give both --src and --dst, or --pair")
        src, dst = clip_path(args.src), clip_path(args.dst)
        name = next((k for k, v in PAIRS.items() if (clip_path(v[0]), clip_path(v[1])) == (src, dst)), f"{src.stem}-{dst.stem}")
        return Pair(name, src, dst)
    if args.pair not in PAIRS:
        raise SystemExit(f"unknown pair {args.pair!r}: one of {', '.join(PAIRS)}")
    src, dst = PAIRS[args.pair]
    return Pair(args.pair, clip_path(src), clip_path(dst))


# ---- calibration -------------------------------------------------------------------------------

def _rewritten(clip: Path, out: Path, change) -> Path:
    """`clip` with `change(image)` applied to every frame, encoded as the merge encodes (h264, crf 18),
    cached at `out`."""
    from doppel.media.reader import read_frames
    from doppel.media.writer import VideoWriter

    if out.exists():
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    part = out.with_name(out.stem + ".part.mp4")
    with VideoWriter(part, like=clip, codec="h264", crf=18, provenance=False) as writer:
        for frame in read_frames(clip):
            writer.write(change(frame.image))
    part.replace(out)
    return out


def blurred(clip: Path, sigma: float, work: Path) -> Path:
    """The clip with every frame Gaussian-blurred, cached."""
    import cv2

    return _rewritten(clip, work / "calibration" / f"{clip.stem}-blur{sigma:g}.mp4",
                      lambda image: cv2.GaussianBlur(image, (0, 0), sigma))


def through_crop(clip: Path, resolution: int, work: Path) -> Path:
    """The clip with each face replaced by itself passed through a `resolution` px whole-face crop and
    back (what a perfect model of that size could give through the merge's enlargement), cached."""
    import cv2

    from doppel.evaluate.tracking import main_face
    from doppel.faces.align import align_face
    from doppel.faces.landmarks import FaceAnalyzer

    def through(image: np.ndarray) -> np.ndarray:
        face = main_face(analyzer.analyze(image))
        if face is None:
            return image
        h, w = image.shape[:2]
        small, m = align_face(image, face.landmarks68, "wf", resolution)
        inside = cv2.warpAffine(np.full(small.shape[:2], 255, np.uint8), m, (w, h), flags=cv2.WARP_INVERSE_MAP) > 127
        back = cv2.warpAffine(small, m, (w, h), flags=cv2.WARP_INVERSE_MAP | cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE)
        return np.where(inside[..., None], back, image)

    with FaceAnalyzer() as analyzer:
        return _rewritten(clip, work / "calibration" / f"{clip.stem}-through{resolution}px.mp4", through)


def calibrate(args) -> list[dict]:
    pair = pick_pair(args)
    work = Path(args.work)
    src_id, dst_id = source_identity(pair.src, work), source_identity(pair.dst, work)
    cases = [("source clip against itself", pair.src, pair.src, src_id),
             ("destination against itself", pair.dst, pair.dst, src_id),
             ("destination against itself, judged against its own identity", pair.dst, pair.dst, dst_id)]
    cases += [(f"destination blurred, sigma {s:g} px", pair.dst, blurred(pair.dst, s, work), src_id) for s in BLUR_SIGMAS]
    cases += [(f"destination through a {r} px face (a perfect {r} px model)", pair.dst, through_crop(pair.dst, r, work), src_id)
              for r in CEILING_RESOLUTIONS]
    rows = []
    for name, dst, result, identity in cases:
        t0 = time.perf_counter()
        row = {"case": name, **score(identity, pair.src, dst, result, args.every, args.max_frames),
               "score_s": round(time.perf_counter() - t0, 1),
               "setup": {"pair": pair.name, "calibration": True, "every": args.every}}
        rows.append(row)
        say(f"[calibrate] {name}: distance {row['distance']:.3f}, detail {row['detail']:.2f} ({row['score_s']:.0f} s)")
    return rows


# ---- main --------------------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--pair", default="tune", help=f"tune pairs: {TUNE_PAIRS}; check pairs: {CHECK_PAIRS}")
    p.add_argument("--src", help="source clip (a path, or a name in the shared clips) instead of --pair")
    p.add_argument("--dst", help="destination clip, with --src")
    budget = p.add_mutually_exclusive_group()
    budget.add_argument("--checkpoints", help="minutes of training at which to score, e.g. 5,10,20,30")
    budget.add_argument("--iterations", help="iterations at which to score, e.g. 200,500")
    p.add_argument("--device", default="cpu", help="cpu, cuda, cuda:N, auto")
    p.add_argument("--threads", type=int, default=0, help="CPU threads for training (0 = every core)")
    p.add_argument("--model-type", help="model (default: what `doppel swap` trains on this device)")
    p.add_argument("--resolution", type=int)
    p.add_argument("--batch", dest="batch_size", type=int)
    p.add_argument("--archi")
    p.add_argument("--face-type")
    for name in ("ae_dims", "e_dims", "d_dims", "d_mask_dims"):
        p.add_argument("--" + name.replace("_", "-"), type=int)
    p.add_argument("--train-arg", action="append", default=[], metavar="KEY=VALUE",
                   help="any other `doppel train` model or run option (repeat)")
    p.add_argument("--pretrained", help="also train from this pretrained model folder (same architecture)")
    p.add_argument("--every", type=int, default=10, help="score one destination frame in N")
    p.add_argument("--max-frames", type=int, default=0, help="score at most this many frames (0 = all)")
    p.add_argument("--work", default=str(DEFAULT_WORK), help="folder for cached faces, runs and results")
    p.add_argument("--results", help="JSON-lines file the rows are appended to (default WORK/results.jsonl)")
    p.add_argument("--label", default="", help="name of this configuration in the run folder and the results")
    p.add_argument("--calibrate", action="store_true", help="score the reference cases instead of training")
    args = p.parse_args(argv)
    if not args.calibrate and not (args.checkpoints or args.iterations):
        p.error("give --checkpoints MINUTES,... or --iterations N,... (or --calibrate)")

    from doppel.core.atomic import write_json
    from doppel.core.errors import DoppelError

    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    try:
        rows = calibrate(args) if args.calibrate else run_curve(args)
    except DoppelError as e:
        raise SystemExit(f"error: {e.one_line()}") from None
    columns = [("case", "case", "{}")] + COLUMNS[4:] if args.calibrate else COLUMNS
    say("")
    say(table(rows, columns))
    name = "calibration" if args.calibrate else "quality"
    out = work / f"{name}-{time.strftime('%Y%m%d-%H%M%S')}.json"
    write_json(out, {"rows": rows})
    results = Path(args.results) if args.results else work / "results.jsonl"
    with results.open("a", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, default=str) + "\n")
    say(f"\nJSON: {out}; appended to {results}")


if __name__ == "__main__":
    main()
