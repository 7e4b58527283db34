"""The training run, top to bottom: setup, data, model, resume, loop, save.

`train(src_dir, dst_dir, model_dir, model_type, options, run)` is the one entry point; `doppel train`,
`doppel swap` and the studio call it. It saves on exit (target reached, time budget spent, Ctrl-C,
a STOP request, early stop) and every `autosave_minutes`; see doppel/train/status.py for the files
other processes use to watch and steer it.
"""

from __future__ import annotations

import dataclasses
import math
import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

from doppel.core.device import pick_device
from doppel.core.errors import DoppelError
from doppel.train import checkpoint as ckpt
from doppel.train import distributed as ddp
from doppel.models.train_options import TrainingOptions
from doppel.train.augment import AugmentSettings
from doppel.train.config import RunOptions, settle_model_options
from doppel.train.faceset import TrainingFaces, load_faceset, split_holdout
from doppel.train.history import History
from doppel.train.objective import Objective
from doppel.train.duties import (Checkpoints, Every, LossBuffer, Previews, RunClock, StatusReport, TrainingProgress,
                                 Validation)
from doppel.train.samples import BatchSource, SampleSettings, batch_loader, finish_batch, plain_batch
from doppel.train.status import BACKUP_FILE, SAVE_FILE, STOP_FILE, take_request


@dataclass(frozen=True)
class TrainResult:
    model_dir: Path
    iteration: int
    stop_reason: str  # target, minutes, stop-request, interrupted, early-stop
    loss: float
    val_loss: float | None
    seconds: float
    iterations_per_second: float
    data_wait_share: float  # share of loop time spent waiting for batches
    rollbacks: int


def sync_interval(device: torch.device) -> int:
    """Steps between reads of the loss values (1 on CPU, where reading costs nothing)."""
    return 1 if device.type == "cpu" else 20


def sample_settings(options: TrainingOptions, seed: int) -> SampleSettings:
    """How batches are drawn and augmented, from the model's training options (pretrain overrides)."""
    pretrain = options.pretrain
    warp = options.random_warp and not pretrain
    src = AugmentSettings(flip=options.random_src_flip or pretrain, warp=warp, hsv_power=options.random_hsv_power,
                          zoom=1.0 + options.src_face_scale / 100.0)
    dst = AugmentSettings(flip=options.random_dst_flip or pretrain, warp=warp)
    return SampleSettings(
        batch_size=options.batch_size,
        src=src,
        dst=dst,
        uniform_yaw=options.uniform_yaw or pretrain,
        ct_mode=None if options.ct_mode in (None, "", "none") else options.ct_mode,
        seed=seed,
    )


# On a CPU with this many cores or fewer, batches are made in the main process between steps. The model's
# OpenMP threads use every core and wait for each other after every operation: a worker process that
# wakes up to make a batch preempts one of them and stalls the rest. Measured on 2 cores: the worker's
# 31 ms of CPU per iteration cost 95 ms of wall time at (a) (1.36 vs 1.26 s/it) and 1.1 s at (b)
# (11.6 vs 10.4 s/it), while making the batch inline costs 10-20 ms (1 % of a step).
INLINE_SAMPLING_MAX_CORES = 4


def _auto_workers(device: torch.device, requested: int) -> int:
    if requested >= 0:
        return requested
    cores = os.cpu_count() or 1
    if device.type == "cpu":
        return 0 if cores <= INLINE_SAMPLING_MAX_CORES else min(4, cores // 4)
    return max(2, min(8, cores - 1))


def _load_sides(src_dir, dst_dir, resolution, face_type, pretrain: bool, progress: bool) -> tuple[TrainingFaces, TrainingFaces]:
    if pretrain and (dst_dir is None or Path(dst_dir) == Path(src_dir)):
        # one generic faceset of many people: a folder of faces, or of folders (one per extracted clip)
        src = load_faceset(src_dir, resolution, face_type, progress, recursive=True)
        return src, src
    src = load_faceset(src_dir, resolution, face_type, progress)
    if dst_dir is None:
        raise DoppelError("no destination faceset given", hint="Pass --dst DIR (only pretraining works without one)")
    return src, load_faceset(dst_dir, resolution, face_type, progress)


def _fixed_preview_faces(src: TrainingFaces, dst: TrainingFaces, count: int = 4) -> dict:
    """The same faces in every preview: spread over each set."""
    si = np.linspace(0, len(src) - 1, min(count, len(src), len(dst))).round().astype(int)
    di = np.linspace(0, len(dst) - 1, len(si)).round().astype(int)
    return {**plain_batch(src, si, "src"), **plain_batch(dst, di, "dst")}


def _to_device(batch: dict, device: torch.device, channels_last: bool) -> dict:
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    return {k: v.to(device, non_blocking=True).contiguous(memory_format=fmt) for k, v in batch.items()}


class _Batches:
    """Training batches on the device, numbered by iteration; restarted after a rollback."""

    def __init__(self, src: TrainingFaces, dst: TrainingFaces, settings: SampleSettings, device: torch.device, rank: int,
                 workers: int, gpu_augment: bool, channels_last: bool):
        self.src, self.dst, self.settings, self.device, self.rank = src, dst, settings, device, rank
        self.workers, self.gpu_augment, self.channels_last = workers, gpu_augment, channels_last
        self._loader = None

    def restart(self, salt: int, first_iteration: int) -> None:
        source = BatchSource(self.src, self.dst, self.settings, augment_here=not self.gpu_augment, salt=salt, rank=self.rank)
        self._loader = iter(batch_loader(source, first_iteration, self.workers, pin_memory=self.device.type == "cuda"))

    def next_raw(self) -> tuple[int, dict]:
        return next(self._loader)

    def to_device(self, raw: dict) -> dict:
        if self.gpu_augment:
            raw = finish_batch(raw, self.settings, self.device)
        return _to_device(raw, self.device, self.channels_last)


class _Interrupts:
    """SIGTERM (and SIGINT when we own the main thread) ask the loop to save and stop."""

    def __init__(self) -> None:
        self.requested = False
        self._old = {}

    def __enter__(self):
        import threading

        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._old[sig] = signal.signal(sig, self._handle)
        return self

    def _handle(self, signum, frame) -> None:
        if self.requested and signum == signal.SIGINT:
            raise KeyboardInterrupt  # a second Ctrl-C: stop now (the last autosave stays)
        self.requested = True

    def __exit__(self, *exc) -> None:
        for sig, old in self._old.items():
            signal.signal(sig, old)


def train(
    src_dir: str | Path,
    dst_dir: str | Path | None,
    model_dir: str | Path,
    model_type: str | None = None,
    options: dict[str, Any] | None = None,
    run: RunOptions = RunOptions(),
    on_progress: Callable[[dict], None] | None = None,
) -> TrainResult:
    """Train (or resume) the model in `model_dir` on aligned facesets `src_dir` and `dst_dir`.

    `options` are model options (architecture and training knobs, see `doppel models`); on resume
    only the ones not fixed at creation may differ from the saved ones.
    """
    from doppel.models.registry import create_model

    # ---- setup ------------------------------------------------------------------------------
    model_dir = Path(model_dir)
    device = pick_device(None if run.device in ("", "auto") else run.device)
    dist, device = ddp.setup(device)
    is_main = dist.is_main
    if device.type == "cpu":
        torch.set_num_threads(run.threads or os.cpu_count() or 1)  # every core for the model; workers use one each
    channels_last = device.type == "cuda"
    say = print if (is_main and run.progress) else (lambda *a, **k: None)

    # ---- model options and weights: new, resumed or from a pretrained model --------------------
    loaded = ckpt.read_checkpoint(model_dir) if ckpt.has_checkpoint(model_dir) else None
    pre = ckpt.read_checkpoint(Path(run.pretrained)) if run.pretrained and loaded is None else None
    name, opts = _model_options(model_dir, model_type, dict(options or {}), loaded, pre, run, say)
    torch.manual_seed(run.seed)
    np.random.seed(run.seed % 2**32)
    model = create_model(name, **{f.name: getattr(opts, f.name) for f in dataclasses.fields(opts)})
    state, loaded = _restore_weights(model, opts, loaded, pre, run, say)
    model.to(device)
    if channels_last:
        model.to(memory_format=torch.channels_last)

    # ---- data ---------------------------------------------------------------------------------
    src_all, dst_all = _load_sides(src_dir, dst_dir, model.resolution, model.face_type, opts.pretrain, run.progress and is_main)
    src_train, src_val = split_holdout(src_all, run.val_share, run.seed)
    dst_train, dst_val = (src_train, src_val) if dst_all is src_all else split_holdout(dst_all, run.val_share, run.seed)
    settings = sample_settings(opts, run.seed)
    batches = _Batches(src_train, dst_train, settings, device, dist.rank, _auto_workers(device, run.workers),
                       run.gpu_augment and device.type == "cuda", channels_last)
    preview_faces = _to_device(_fixed_preview_faces(src_val or src_train, dst_val or dst_train), device, channels_last)
    val_faces = _validation_faces(src_val, dst_val, device, channels_last)

    # ---- objective (losses, optimizers, discriminators) and resume ----------------------------
    objective = Objective(model, opts, device, run.precision)
    if loaded is not None:
        objective.load(loaded, model_dir)
        ckpt.restore_rng(loaded.rng)
    train_module = ddp.wrap(model, dist, device)
    if run.compile and device.type == "cuda":
        train_module = torch.compile(train_module)
    state.extra["run"] = dataclasses.asdict(run)  # the latest run's options, saved in train_state.json
    if is_main and loaded is None:
        ckpt.save_checkpoint(model_dir, model, state, objective.optimizers(), objective.modules())  # a good state to roll back to

    # ---- the loop's helpers -------------------------------------------------------------------
    history = History(model_dir, resume_at=state.iteration) if is_main else None
    start_iteration = state.iteration
    clock = RunClock(elapsed_before=state.elapsed_seconds)
    checkpoints = Checkpoints(model_dir, model, objective, state, clock, is_main, say, run.autosave_minutes * 60, clock.start)
    losses = LossBuffer(sync_interval(device))
    validation = Validation(val_faces, run, say)
    previews = Previews(preview_faces, model_dir, run.preview_every, run.preview_history)
    report = StatusReport(model_dir, name, device, run, start_iteration, clock, on_progress)
    backup = Every(run.backup_hours * 3600, clock.start)
    status = Every(run.status_seconds, 0.0)
    budget = Every(run.minutes * 60, clock.start)
    batches.restart(state.salt, state.iteration + 1)
    stop_reason, hard_stop = "target", False

    # ---- loop ---------------------------------------------------------------------------------
    try:
        with _Interrupts() as interrupts, TrainingProgress(run, state.iteration, is_main and run.progress) as display:
            while True:
                if run.iterations and state.iteration >= run.iterations:
                    stop_reason = "target"
                    break
                if not losses:  # at a sync point: stop requests, time budget
                    out_of_time = budget.due(time.monotonic())
                    asked = interrupts.requested or (is_main and take_request(model_dir, STOP_FILE))
                    if ddp.any_true(out_of_time or asked, device, dist):  # every rank stops at the same step
                        stop_reason = "interrupted" if interrupts.requested else "minutes" if out_of_time else "stop-request"
                        break

                t0 = time.monotonic()
                k, raw = batches.next_raw()
                t1 = time.monotonic()
                loss, parts = objective.step(train_module, batches.to_device(raw), state.iteration, skip_nonfinite=losses.every == 1)
                losses.add(k, loss, parts)
                state.iteration = k
                clock.data_wait, clock.compute = clock.data_wait + t1 - t0, clock.compute + time.monotonic() - t1
                now = time.monotonic()
                # Under DDP every rank must reach the same sync points (they hold collectives), so only
                # step counts decide there; clocks differ between ranks and are read at those points.
                timed = not dist.enabled and (status.due(now) or checkpoints.autosave_due(now) or budget.due(now))
                if not (losses.full() or (run.iterations and k >= run.iterations) or validation.due(k) or previews.due(k)
                        or timed):
                    continue

                # ---- sync point: read the pending losses in one transfer ----
                rows, bad = losses.drain(clock.elapsed())
                if ddp.any_true(bad is not None, device, dist):
                    checkpoints.roll_back("NaN" if bad is None or math.isnan(bad) else "inf", k)
                    if history is not None:
                        history.truncate(state.iteration)
                    batches.restart(state.salt, state.iteration + 1)
                    continue
                state.rollbacks_in_a_row = 0
                report.record(rows)
                validation.add_train_losses(rows)
                stop_early = False
                if validation.due(k):
                    stop_early = validation.check(objective, model, k)
                    rows[-1]["val_loss"] = validation.last
                if history is not None:
                    for row in rows:
                        history.append(row)
                if stop_early:
                    stop_reason = "early-stop"
                    break
                if is_main and previews.due(k):
                    previews.write(model, k, report.loss, objective.autocast)
                    if history is not None:
                        history.plot()
                if is_main:
                    _timed_duties(model_dir, run, checkpoints, backup, status, report, validation, previews)
                display.update(k, report.loss)
    except KeyboardInterrupt:  # a second Ctrl-C: the step may be half applied, keep the last save
        stop_reason, hard_stop = "interrupted", True

    # ---- save ---------------------------------------------------------------------------------
    seconds = clock.seconds()
    if losses:  # losses not yet looked at (CUDA): keep the last checkpoint rather than risk a NaN
        state.iteration -= len(losses)
        hard_stop = True
    if not hard_stop:
        checkpoints.save(stop_reason)
    if is_main:
        if history is not None and history.rows:
            history.plot()
        report.parts = {}
        report.write(state, "stopped", validation.last, previews.last, stop_reason=stop_reason)
    ddp.cleanup(dist)
    return TrainResult(model_dir, state.iteration, stop_reason, report.loss, validation.last, state.elapsed_seconds,
                       (state.iteration - start_iteration) / max(seconds, 1e-9), clock.data_wait_share(), state.rollbacks)


def _model_options(model_dir: Path, model_type: str | None, requested: dict, loaded, pre, run: RunOptions,
                   say) -> tuple[str, TrainingOptions]:
    """(model name, TrainingOptions) for a resumed model, one started from a pretrained model, or a new one."""
    if loaded is not None:
        name = loaded.model_json["name"]
        if model_type and model_type.strip().lower() != name:
            raise DoppelError(f"this folder holds a {name} model, not {model_type}", model_dir,
                              hint="Leave out --model-type to resume it, or use a new model folder")
        if loaded.fell_back:
            say(f"the last save was interrupted: resuming from last_good/ (iteration {loaded.state.iteration})")
        return name, settle_model_options(name, loaded.model_json.get("options", {}), requested, model_dir)
    name = (model_type or (pre.model_json["name"] if pre else "saehd")).strip().lower()
    if pre is not None:
        base = {**pre.model_json.get("options", {}), "pretrain": False}
        return name, settle_model_options(name, base, requested, Path(run.pretrained))
    from doppel.models.registry import make_options

    return name, make_options(name, **requested)


def _restore_weights(model, opts, loaded, pre, run: RunOptions, say) -> tuple[ckpt.TrainState, ckpt.Loaded | None]:
    """Load the resumed (or pretrained) weights into `model`: (the state to go on from, the checkpoint to resume)."""
    if loaded is not None:
        ckpt.restore_model_weights(loaded, model)
        if loaded.model_json.get("options", {}).get("pretrain", False) and not opts.pretrain:
            say("pretraining switched off: starting the real model from the pretrained weights at iteration 0")
            return ckpt.TrainState(), None  # fresh optimizer and counters, weights kept
        return loaded.state, loaded
    if pre is not None:
        ckpt.restore_model_weights(pre, model)
        say(f"starting from pretrained model {run.pretrained} (iteration {pre.state.iteration})")
    return ckpt.TrainState(), None


def _validation_faces(src_val: TrainingFaces | None, dst_val: TrainingFaces | None, device: torch.device, channels_last: bool) -> dict | None:
    """The same held-out faces at every validation (at most 32 a side), on the device."""
    if src_val is None or dst_val is None:
        return None
    n = min(len(src_val), len(dst_val), 32)
    return _to_device({**plain_batch(src_val, np.arange(n), "src"), **plain_batch(dst_val, np.arange(n), "dst")}, device, channels_last)


def _timed_duties(model_dir: Path, run: RunOptions, checkpoints: Checkpoints, backup: Every, status: Every,
                  report: StatusReport, validation: Validation, previews: Previews) -> None:
    """After a sync on the main process: autosave, backup and status.json, when due or asked for."""
    now = time.monotonic()
    if take_request(model_dir, SAVE_FILE) or checkpoints.autosave_due(now):
        checkpoints.save("autosave")
    if take_request(model_dir, BACKUP_FILE) or backup.due(now):
        checkpoints.save("backup")
        ckpt.backup(model_dir, checkpoints.state.iteration, run.backups_keep)
        backup.mark(now)
    if status.due(now):
        status.mark(now)
        report.write(checkpoints.state, "training", validation.last, previews.last)
