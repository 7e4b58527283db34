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
from doppel.train.augment import AugmentSettings
from doppel.train.config import RunOptions, settle_model_options
from doppel.train.faceset import Faceset, load_faceset, split_holdout
from doppel.train.history import History
from doppel.train.objective import Objective
from doppel.train.preview import preview_grid, write_preview
from doppel.train.samples import BatchSource, SampleSettings, batch_loader, finish_batch, plain_batch
from doppel.train.status import BACKUP_FILE, SAVE_FILE, STOP_FILE, take_request, write_status
from doppel.train.validation import ValidationTracker

MAX_ROLLBACKS_IN_A_ROW = 5


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


def sample_settings(o: Any, seed: int) -> SampleSettings:
    """How batches are drawn and augmented, from the model's training options (pretrain overrides)."""
    pretrain = bool(getattr(o, "pretrain", False))
    warp = bool(getattr(o, "random_warp", True)) and not pretrain
    zoom = 1.0 + float(getattr(o, "src_face_scale", 0)) / 100.0
    src = AugmentSettings(flip=bool(getattr(o, "random_src_flip", False)) or pretrain, warp=warp,
                          hsv_power=float(getattr(o, "random_hsv_power", 0.0)), zoom=zoom)
    dst = AugmentSettings(flip=bool(getattr(o, "random_dst_flip", True)) or pretrain, warp=warp)
    ct = getattr(o, "ct_mode", "none")
    return SampleSettings(
        batch_size=int(o.batch_size),
        src=src,
        dst=dst,
        uniform_yaw=bool(getattr(o, "uniform_yaw", False)) or pretrain,
        ct_mode=None if ct in (None, "", "none") else ct,
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


def _load_sides(src_dir, dst_dir, resolution, face_type, pretrain: bool, progress: bool) -> tuple[Faceset, Faceset]:
    src = load_faceset(src_dir, resolution, face_type, progress)
    if pretrain and (dst_dir is None or Path(dst_dir) == Path(src_dir)):
        return src, src  # pretraining on one generic faceset of many people
    if dst_dir is None:
        raise DoppelError("no destination faceset given", hint="Pass --dst DIR (only pretraining works without one)")
    return src, load_faceset(dst_dir, resolution, face_type, progress)


def _fixed_preview_faces(src: Faceset, dst: Faceset, count: int = 4) -> dict:
    """The same faces in every preview: spread over each set."""
    si = np.linspace(0, len(src) - 1, min(count, len(src), len(dst))).round().astype(int)
    di = np.linspace(0, len(dst) - 1, len(si)).round().astype(int)
    return {**plain_batch(src, si, "src"), **plain_batch(dst, di, "dst")}


def _to_device(batch: dict, device: torch.device, channels_last: bool) -> dict:
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    return {k: v.to(device, non_blocking=True).contiguous(memory_format=fmt) for k, v in batch.items()}


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

    # ---- model options: new, resumed or from a pretrained model -------------------------------
    loaded = ckpt.read_checkpoint(model_dir) if ckpt.has_checkpoint(model_dir) else None
    requested = dict(options or {})
    if loaded is not None:
        name = loaded.model_json["name"]
        if model_type and model_type.strip().lower() != name:
            raise DoppelError(f"this folder holds a {name} model, not {model_type}", model_dir,
                              hint="Leave out --model-type to resume it, or use a new model folder")
        if loaded.fell_back:
            say(f"the last save was interrupted: resuming from last_good/ (iteration {loaded.state.iteration})")
        saved = loaded.model_json.get("options", {})
        opts = settle_model_options(name, saved, requested, model_dir)
    else:
        pre = ckpt.read_checkpoint(Path(run.pretrained)) if run.pretrained else None
        name = (model_type or (pre.model_json["name"] if pre else "saehd")).strip().lower()
        if pre is not None:
            base = dict(pre.model_json.get("options", {}))
            base["pretrain"] = False
            opts = settle_model_options(name, base, requested, Path(run.pretrained))
        else:
            from doppel.models.registry import make_options

            opts = make_options(name, **requested)

    # ---- model --------------------------------------------------------------------------------
    torch.manual_seed(run.seed)
    np.random.seed(run.seed % 2**32)
    model = create_model(name, **{f.name: getattr(opts, f.name) for f in dataclasses.fields(opts)})
    state = ckpt.TrainState()
    if loaded is not None:
        ckpt.restore_model_weights(loaded, model)
        state = loaded.state
        was_pretrain = bool(loaded.model_json.get("options", {}).get("pretrain", False))
        if was_pretrain and not getattr(opts, "pretrain", False):
            say("pretraining switched off: starting the real model from the pretrained weights at iteration 0")
            state, loaded = ckpt.TrainState(), None  # fresh optimizer and counters, weights kept
    elif run.pretrained:
        ckpt.restore_model_weights(pre, model)
        say(f"starting from pretrained model {run.pretrained} (iteration {pre.state.iteration})")
    model.to(device)
    if channels_last:
        model.to(memory_format=torch.channels_last)

    # ---- data ---------------------------------------------------------------------------------
    pretrain = bool(getattr(opts, "pretrain", False))
    src_all, dst_all = _load_sides(src_dir, dst_dir, model.resolution, model.face_type, pretrain, run.progress and is_main)
    src_train, src_val = split_holdout(src_all, run.val_share, run.seed)
    dst_train, dst_val = (src_train, src_val) if dst_all is src_all else split_holdout(dst_all, run.val_share, run.seed)
    settings = sample_settings(opts, run.seed)
    gpu_aug = run.gpu_augment and device.type == "cuda"
    workers = _auto_workers(device, run.workers)
    preview_faces = _to_device(_fixed_preview_faces(src_val or src_train, dst_val or dst_train), device, channels_last)
    val_faces = None
    if src_val is not None and dst_val is not None:
        n = min(len(src_val), len(dst_val), 32)
        val_faces = _to_device({**plain_batch(src_val, np.arange(n), "src"), **plain_batch(dst_val, np.arange(n), "dst")}, device, channels_last)

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

    history = History(model_dir, resume_at=state.iteration) if is_main else None
    tracker = ValidationTracker(patience=run.patience)
    start_iteration = state.iteration

    def make_loader(salt: int, start: int):
        source = BatchSource(src_train, dst_train, settings, augment_here=not gpu_aug, salt=salt, rank=dist.rank)
        return batch_loader(source, start, workers, pin_memory=device.type == "cuda")

    def save(reason: str) -> None:
        state.elapsed_seconds = elapsed_before + time.monotonic() - t_start
        if is_main:
            ckpt.save_checkpoint(model_dir, model, state, objective.optimizers(), objective.modules())
            last_save[0] = time.monotonic()

    def rollback(why: str) -> None:
        nonlocal loader
        if state.rollbacks_in_a_row >= MAX_ROLLBACKS_IN_A_ROW:
            raise DoppelError(f"the loss kept turning into NaN/inf ({why})", model_dir,
                              hint="Lower --lr, switch on --clipgrad, or switch off GAN/style losses")
        back = ckpt.read_checkpoint(model_dir)
        ckpt.restore_model_weights(back, model)
        objective.load(back, model_dir)
        ckpt.restore_rng(back.rng)
        in_a_row = state.rollbacks_in_a_row + 1
        total = state.rollbacks + 1
        state.iteration, state.salt = back.state.iteration, max(state.salt, back.state.salt) + 1
        state.rollbacks, state.rollbacks_in_a_row = total, in_a_row
        say(f"loss was {why} at iteration {k}: rolled back to the checkpoint of iteration {state.iteration}")
        if history is not None:
            history.truncate(state.iteration)
        loader = iter(make_loader(state.salt, state.iteration + 1))

    # ---- loop ---------------------------------------------------------------------------------
    t_start = time.monotonic()
    elapsed_before = state.elapsed_seconds
    last_save = [t_start]
    last_backup = t_start
    last_status = 0.0
    data_wait = 0.0
    compute_time = 0.0
    stop_reason = "target"
    hard_stop = False
    last_loss, last_val, last_preview = math.nan, None, None
    last_parts: dict = {}
    losses_window: list[float] = []
    # CPU: look at each loss at once. CUDA: keep losses on the GPU and read them every `sync_every`
    # steps (one transfer), so the host never waits for the GPU inside the loop. A NaN found at a sync
    # rolls back to the checkpoint; checkpoints are only written right after a clean sync.
    sync_every = sync_interval(device)
    pending: list[tuple[int, torch.Tensor, dict]] = []
    loader = iter(make_loader(state.salt, state.iteration + 1))
    bar = _progress_bar(run, state.iteration) if is_main else None

    def due(k: int, now: float) -> bool:
        return (
            len(pending) >= sync_every
            or (run.iterations and k >= run.iterations)
            or (val_faces is not None and k % run.val_every == 0)
            or (run.preview_every and k % run.preview_every == 0)
            or now - last_status >= run.status_seconds
            or (run.autosave_minutes and now - last_save[0] >= run.autosave_minutes * 60)
            or (run.minutes and now - t_start >= run.minutes * 60)
        )

    try:
        with _Interrupts() as interrupts:
            while True:
                if run.iterations and state.iteration >= run.iterations:
                    stop_reason = "target"
                    break
                if not pending:  # at a sync point: stop requests, time budget
                    out_of_time = bool(run.minutes) and time.monotonic() - t_start >= run.minutes * 60
                    asked = interrupts.requested or (is_main and take_request(model_dir, STOP_FILE))
                    if ddp.any_true(out_of_time or asked, device, dist):  # every rank stops at the same step
                        stop_reason = "interrupted" if interrupts.requested else "minutes" if out_of_time else "stop-request"
                        break

                t0 = time.monotonic()
                k, raw = next(loader)
                t1 = time.monotonic()
                data_wait += t1 - t0
                if gpu_aug:
                    batch = _to_device(finish_batch(raw, settings, device), device, channels_last)
                else:
                    batch = _to_device(raw, device, channels_last)
                loss, parts = objective.step(train_module, batch, state.iteration, skip_nonfinite=sync_every == 1)
                pending.append((k, loss, parts))
                state.iteration = k
                compute_time += time.monotonic() - t1
                if not due(k, time.monotonic()):
                    continue

                # ---- sync point: read the pending losses in one transfer ----
                keys = sorted({name for _, _, p in pending for name in p})
                table = torch.stack([torch.stack([l.float()] + [p.get(n, l).float() for n in keys]) for _, l, p in pending])
                values = table.cpu().tolist()
                finite = all(math.isfinite(v[0]) for v in values)
                if ddp.any_true(not finite, device, dist):
                    bad = next((v[0] for v in values if not math.isfinite(v[0])), math.nan)
                    pending.clear()
                    rollback("NaN" if math.isnan(bad) else "inf")
                    continue
                state.rollbacks_in_a_row = 0
                rows = []
                now_s = round(elapsed_before + time.monotonic() - t_start, 3)
                for (ki, _, _), v in zip(pending, values):
                    rows.append({"iteration": ki, "seconds": now_s, "loss": v[0], **dict(zip(keys, v[1:]))})
                    losses_window.append(v[0])
                pending.clear()
                last_loss = rows[-1]["loss"]
                last_parts = {n: rows[-1][n] for n in keys}

                stop_early = False
                if val_faces is not None and k % run.val_every == 0:
                    last_val = objective.evaluate(model, val_faces)
                    rows[-1]["val_loss"] = last_val
                    tracker.add(k, last_val, sum(losses_window) / len(losses_window))
                    losses_window.clear()
                    if tracker.overfitting():
                        say(f"warning: validation loss rising while training loss falls (iteration {k}): the model may be overfitting")
                    if run.early_stop and tracker.should_stop():
                        stop_early = True
                if history is not None:
                    for row in rows:
                        history.append(row)
                if stop_early:
                    stop_reason = "early-stop"
                    say(f"early stop: no validation improvement since iteration {tracker.best_iteration}")
                    break
                if is_main and run.preview_every and k % run.preview_every == 0:
                    last_preview = _write_preview(model, preview_faces, model_dir, k, run.preview_history, last_loss, objective.autocast)
                    if history is not None:
                        history.plot()

                now = time.monotonic()
                if is_main and (take_request(model_dir, SAVE_FILE) or (run.autosave_minutes and now - last_save[0] >= run.autosave_minutes * 60)):
                    save("autosave")
                if is_main and (take_request(model_dir, BACKUP_FILE) or (run.backup_hours and now - last_backup >= run.backup_hours * 3600)):
                    save("backup")
                    ckpt.backup(model_dir, state.iteration, run.backups_keep)
                    last_backup = now
                if is_main and now - last_status >= run.status_seconds:
                    last_status = now
                    info = _status(state, run, start_iteration, t_start, data_wait, compute_time, last_loss, last_val, last_preview, last_parts, "training", name, device)
                    write_status(model_dir, **info)
                    if on_progress:
                        on_progress(info)
                if bar is not None:
                    bar.update(k, last_loss)
    except KeyboardInterrupt:  # a second Ctrl-C: the step may be half applied, keep the last save
        stop_reason, hard_stop = "interrupted", True
    finally:
        if bar is not None:
            bar.close()
    # ---- save ---------------------------------------------------------------------------------
    elapsed = time.monotonic() - t_start
    if pending:  # losses not yet looked at (CUDA): keep the last checkpoint rather than risk a NaN
        state.iteration -= len(pending)
        hard_stop = True
    if not hard_stop:
        save(stop_reason)
    if is_main:
        if history is not None and history.rows:
            history.plot()
        done_its = state.iteration - start_iteration
        info = _status(state, run, start_iteration, t_start, data_wait, compute_time, last_loss, last_val, last_preview, {}, "stopped", name, device)
        info["stop_reason"] = stop_reason
        write_status(model_dir, **info)
    ddp.cleanup(dist)
    loop_time = max(data_wait + compute_time, 1e-9)
    total = max(elapsed, 1e-9)
    return TrainResult(
        model_dir=model_dir,
        iteration=state.iteration,
        stop_reason=stop_reason,
        loss=last_loss,
        val_loss=last_val,
        seconds=state.elapsed_seconds,
        iterations_per_second=(state.iteration - start_iteration) / total,
        data_wait_share=data_wait / loop_time,
        rollbacks=state.rollbacks,
    )


def _write_preview(model, faces: dict, folder: Path, k: int, keep: bool, loss: float, autocast) -> Path:
    with torch.no_grad(), autocast():
        out = model(faces["src_input"], faces["dst_input"], need_swap=True)
    grid = preview_grid(faces["src_input"], out.src_rgb, faces["dst_input"], out.dst_rgb, out.swap_rgb,
                        label=f"iteration {k}  loss {loss:.4f}")
    return write_preview(folder / "previews", grid, k, keep)


def _status(state, run, start_it, t_start, data_wait, compute, loss, val, preview, parts, phase, name, device) -> dict:
    done = state.iteration - start_it
    secs = max(time.monotonic() - t_start, 1e-9)
    rate = done / secs if done else 0.0
    eta = None
    if run.iterations and rate > 0:
        eta = max(0.0, (run.iterations - state.iteration) / rate)
    if run.minutes:
        left = max(0.0, run.minutes * 60 - secs)
        eta = left if eta is None else min(eta, left)
    return {
        "state": phase,
        "model_type": name,
        "device": str(device),
        "iteration": state.iteration,
        "target_iterations": run.iterations or None,
        "loss": None if loss is None or not math.isfinite(loss) else loss,
        "losses": {k: float(v) for k, v in parts.items()},
        "val_loss": val,
        "iterations_per_second": rate,
        "eta_seconds": eta,
        "data_wait_share": data_wait / max(data_wait + compute, 1e-9),
        "last_preview": str(preview) if preview else None,
        "rollbacks": state.rollbacks,
    }


class _progress_bar:
    """A rich progress bar (total known when there is a target iteration)."""

    def __init__(self, run: RunOptions, start: int):
        self.bar = None
        if not run.progress:
            return
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

        self.bar = Progress(TextColumn("training"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[loss]}"),
                            TimeElapsedColumn(), TimeRemainingColumn(), transient=False)
        self.bar.start()
        self.task = self.bar.add_task("train", total=run.iterations or None, completed=start, loss="")

    def update(self, iteration: int, loss: float) -> None:
        if self.bar is not None:
            self.bar.update(self.task, completed=iteration, loss=f"loss {loss:.4f}")

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()
