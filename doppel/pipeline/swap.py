"""`swap(src, dst, out)`: extract both sides, train, merge, in one call that resumes where it stopped.

Stage markers live in `<workspace>/.swap/<stage>.done` (JSON: the options the stage ran with and
what it produced). A re-run skips finished stages; unfinished ones resume by themselves:
extraction continues from its alignments index, training from its last checkpoint (the budget
counts the training time already saved), and merge restarts cleanly (the video appears only when
complete, so a half-written output never exists).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from doppel.core import schema
from doppel.core.atomic import write_json
from doppel.core.errors import DoppelError
from doppel.core.options import CheckedOptions, option, same_option
from doppel.core.workspace import Workspace
from doppel.merge.output import OutputOptions

STAGES = ("extract-src", "extract-dst", "train", "merge")
MARKER_DIR = ".swap"
SRC_EVERY_N_CPU = 2  # neighbouring source frames are near duplicates; on CPU extract every other one


@dataclass(frozen=True)
class SwapOptions(CheckedOptions):
    minutes: float | None = option(None, "Training budget in minutes (default 5 on CPU, 30 on a GPU).", min=0.0)
    iterations: int | None = option(None, "Train to this iteration instead of a time budget.", min=1)
    model_type: str | None = option(None, "Model (see 'doppel models'); default chosen for the device.")
    face_size: int | None = option(None, "Side of the aligned faces (default twice the model resolution).", min=32)
    device: str | None = option(None, "auto, cpu, cuda, cuda:N, mps, xpu.")
    codec: str = same_option(OutputOptions, "codec")
    crf: int = same_option(OutputOptions, "crf")
    strip: str | None = option(None, "Also write a before/after picture (destination, result, source) to this file.")
    pretrained: str | None = option(None, "Start training from this pretrained model folder (`doppel train --pretrain`); "
                                    "its model type and architecture are used.")
    model_options: dict | None = None  # library callers: model options over the defaults (not a CLI flag)
    progress: bool = True


@dataclass
class StageReport:
    name: str
    status: str  # done (this run), skipped (done earlier), resumed
    seconds: float
    detail: str


@dataclass
class SwapResult:
    output: Path
    workspace: Path
    stages: list[StageReport]
    src_faces: int = 0
    dst_faces: int = 0
    dst_frames: int = 0
    iterations: int = 0
    warnings: list[str] = field(default_factory=list)


def default_model(device_type: str) -> tuple[str, dict[str, Any]]:
    """A model that gives a sensible result in the time a user waits on this machine: on a CPU the
    `saehd-cpu` preset (64 px, small dims, trained as the quality benchmark measured fastest); on a GPU
    SAEHD df at 128 px with DFL's default dims and training."""
    if device_type == "cpu":
        return "saehd-cpu", {}
    return "saehd", dict(resolution=128, face_type="wf", archi="df", batch_size=16)


def chosen_model(device_type: str, options: SwapOptions) -> tuple[str | None, dict[str, Any]]:
    """(model type, options) a swap trains: the device's default, or --model-type; a pretrained start
    brings its own type (None here), with only the library caller's options over it."""
    if options.pretrained:
        return None, dict(options.model_options or {})
    model_type, model_options = (options.model_type, {}) if options.model_type else default_model(device_type)
    return model_type, {**model_options, **(options.model_options or {})}


def model_resolution(model_type: str | None, model_options: dict[str, Any], pretrained: str | None = None) -> int:
    """The face size the model trains at: its options over its type's defaults, or the pretrained model's."""
    from doppel.models.registry import make_options

    if pretrained:
        from doppel.train.checkpoint import read_model_json

        saved = read_model_json(Path(pretrained))
        model_type, model_options = saved.get("name", "saehd"), {**saved.get("options", {}), **model_options}
    return int(make_options(model_type, **model_options).resolution)


def _marker(ws: Workspace, stage: str) -> Path:
    return ws.root / MARKER_DIR / f"{stage}.done"


def _read_marker(ws: Workspace, stage: str) -> dict | None:
    path = _marker(ws, stage)
    if not path.exists():
        return None
    try:
        marker = schema.read_object(path, "stage marker")
        schema.field(marker, "detail", schema.text, default="")
        facts = schema.field(marker, "facts", schema.obj, default={})
        for key in ("faces", "frames", "iterations"):  # the facts swap reads back
            schema.field(facts, key, schema.integer, 0, default=0, prefix="facts.")
        return marker
    except DoppelError:
        return None  # a damaged marker: run the stage again (it resumes)


def _check_same(ws: Workspace, stage: str, marker: dict, key: dict) -> None:
    if marker.get("key") != key:
        raise DoppelError(
            f"this workspace's {stage} stage ran with other inputs or options ({marker.get('key')})",
            _marker(ws, stage),
            hint="Use a new --workspace, or delete that marker to redo the stage",
        )


def _stage(ws: Workspace, name: str, key: dict, run: Callable[[], dict], reports: list[StageReport], say,
           strict: bool = True) -> dict:
    """Run one stage unless its marker says it is done with the same key; returns the stage's facts.

    strict: a marker with another key is an error (other inputs); otherwise the stage runs again
    (a larger training budget, another output name)."""
    marker = _read_marker(ws, name)
    if marker is not None and not strict and marker.get("key") != key:
        marker = None
    if marker is not None:
        _check_same(ws, name, marker, key)
        reports.append(StageReport(name, "skipped", 0.0, marker.get("detail", "done earlier")))
        say(f"[{name}] done earlier, skipped")
        return marker.get("facts", {})
    say(f"[{name}] running")
    t0 = time.perf_counter()
    facts = run()
    seconds = time.perf_counter() - t0
    detail = facts.pop("detail", "")
    write_json(_marker(ws, name), {"stage": name, "key": key, "facts": facts, "detail": detail, "seconds": round(seconds, 2),
                                   "finished": time.strftime("%Y-%m-%dT%H:%M:%S")})
    reports.append(StageReport(name, facts.pop("status", "done"), seconds, detail))
    return facts


def swap(src: str | Path, dst: str | Path, out: str | Path, workspace: str | Path, options: SwapOptions = SwapOptions()) -> SwapResult:
    from doppel.core.device import pick_device
    from doppel.faces.extract import ExtractOptions, extract

    src, dst, out = Path(src).resolve(), Path(dst).resolve(), Path(out)
    for path, what in ((src, "source"), (dst, "destination")):
        if not path.exists():
            raise DoppelError(f"{what} not found", path, hint="Check the path: a video, a folder of images or one image")
    if options.minutes is not None and options.iterations is not None:
        raise DoppelError("give --minutes or --iterations, not both")
    if options.model_type and options.pretrained:
        raise DoppelError("give --model-type or --pretrained, not both",
                          hint="A pretrained model brings its own model type; leave out --model-type")
    ws = Workspace(Path(workspace)).create()
    device = pick_device(options.device)
    model_type, model_options = chosen_model(device.type, options)
    face_size = options.face_size or min(512, 2 * model_resolution(model_type, model_options, options.pretrained))
    minutes = options.minutes if options.minutes is not None else (None if options.iterations else (5.0 if device.type == "cpu" else 30.0))
    say = print if options.progress else (lambda *a, **k: None)
    reports: list[StageReport] = []
    result = SwapResult(output=out, workspace=ws.root, stages=reports)

    def run_extract(video: Path, folder: Path, every_n: int) -> Callable[[], dict]:
        def run() -> dict:
            r = extract(video, folder, ExtractOptions(size=face_size, every_n=every_n, device=options.device),
                        progress=options.progress)
            status = "resumed" if r.frames_resumed else "done"
            faces = _count_faces(folder)
            return {"faces": faces, "frames": r.frames_seen, "status": status,
                    "detail": f"{faces} faces from {r.frames_seen} frames"}
        return run

    src_every = SRC_EVERY_N_CPU if device.type == "cpu" and src.is_file() else 1
    facts = _stage(ws, "extract-src", {"input": str(src), "size": face_size, "every_n": src_every},
                   run_extract(src, ws.src_aligned, src_every), reports, say)
    result.src_faces = facts.get("faces", 0)
    facts = _stage(ws, "extract-dst", {"input": str(dst), "size": face_size},
                   run_extract(dst, ws.dst_aligned, 1), reports, say)
    result.dst_faces, result.dst_frames = facts.get("faces", 0), facts.get("frames", 0)

    if _read_marker(ws, "train") is None:
        warning = _pair_check(ws)
        if warning:
            result.warnings.append(warning)
            say(f"pair check: {warning}")

    train_key = {"model_type": model_type, "options": model_options, "minutes": minutes, "iterations": options.iterations,
                 **({"pretrained": options.pretrained} if options.pretrained else {})}
    facts = _stage(ws, "train", train_key, lambda: _train(ws, model_type, model_options, minutes, options), reports, say,
                   strict=False)
    result.iterations = facts.get("iterations", 0)

    merge_key = {"dst": str(dst), "out": str(out.resolve()), "codec": options.codec, "crf": options.crf}
    _stage(ws, "merge", merge_key, lambda: merge_stage(ws, dst, out, options), reports, say, strict=False)
    if not out.exists():
        raise DoppelError("the merge stage is marked done but its output is gone", out,
                          hint=f"Delete {_marker(ws, 'merge')} to merge again")
    if options.strip:
        from doppel.pipeline.strip import before_after_strip

        say(f"before/after picture: {before_after_strip(dst, out, ws.dst_aligned, ws.src_aligned, options.strip)}")
    return result


def _count_faces(folder: Path) -> int:
    from doppel.core.images import list_images

    return len(list_images(folder))


def _pair_check(ws: Workspace) -> str | None:
    """The evaluation engineer's coverage check, when present: a warning line, never a failure."""
    try:
        from doppel.evaluate.pair_check import pair_check
    except ImportError:
        return None
    try:
        report = pair_check(ws.src_aligned, ws.dst_aligned, progress=False)
    except (DoppelError, ValueError) as e:
        return f"pair check skipped ({e})"
    return report.summary if report.covered_share < 0.8 else None


def trained_so_far(model_dir: Path) -> tuple[float, int]:
    """(seconds trained, iteration) of the model in `model_dir`; (0, 0) before its first save."""
    from doppel.train import checkpoint as ckpt

    if not ckpt.has_checkpoint(model_dir):
        return 0.0, 0
    loaded = ckpt.read_checkpoint(model_dir)
    return float(loaded.state.elapsed_seconds), int(loaded.state.iteration)


def _train(ws: Workspace, model_type: str, model_options: dict, minutes: float | None, options: SwapOptions) -> dict:
    from doppel.train.config import RunOptions
    from doppel.train.trainer import train

    spent, it_before = trained_so_far(ws.model)
    # Sample workers as `doppel train` chooses them (none on small CPUs; spawned, so the extraction
    # that ran in this process does not matter).
    run = RunOptions(device=options.device or "auto", progress=options.progress, autosave_minutes=1.0,
                     preview_every=200, backup_hours=0.0, workers=-1,
                     pretrained=options.pretrained if options.pretrained and it_before == 0 else "")
    if options.iterations:
        run = run.replace(iterations=int(options.iterations))
    else:
        left = max(0.0, float(minutes) - spent / 60.0)
        if left <= 0.0:
            return {"iterations": it_before, "status": "skipped", "detail": f"budget already used ({it_before} iterations)"}
        run = run.replace(minutes=left)
    r = train(ws.src_aligned, ws.dst_aligned, ws.model, model_type, model_options if it_before == 0 else {}, run)
    if r.stop_reason not in ("target", "minutes", "early-stop"):
        raise DoppelError(f"training stopped ({r.stop_reason}) at iteration {r.iteration}", ws.model,
                          hint="Run the same swap command again to resume")
    return {"iterations": r.iteration, "status": "resumed" if it_before else "done",
            "detail": f"{r.iteration} iterations, loss {r.loss:.4f}, {r.iterations_per_second:.2f} it/s"}


def merge_stage(ws: Workspace, dst: Path, out: Path, options: SwapOptions) -> dict:
    """Merge the workspace's model into `dst` as the swap's last stage does (the quality benchmark scores this)."""
    from doppel.merge.merger import merge
    from doppel.merge.settings import MergeSettings

    settings = MergeSettings()  # the defaults: overlay, the one mask rule, rct, a feather inside the mask
    r = merge(ws.model, dst, out, settings, ws.dst_aligned, OutputOptions(codec=options.codec, crf=options.crf),
              device=options.device, progress=options.progress)
    return {"frames": r.frames, "detail": f"{r.frames} frames ({r.frames_with_faces} with faces), {r.fps:.1f} frames/s"}


def summary_rows(result: SwapResult) -> list[tuple[str, str, str, str]]:
    rows = [(s.name, s.status, f"{s.seconds:.1f} s", s.detail) for s in result.stages]
    return rows


__all__ = ["STAGES", "SwapOptions", "SwapResult", "StageReport", "swap", "default_model", "chosen_model", "model_resolution",
           "merge_stage", "summary_rows", "trained_so_far"]
