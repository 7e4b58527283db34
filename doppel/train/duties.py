"""The parts of the training loop besides the step, each with one job, so `trainer.train` reads top to
bottom: the clock, the deferred-loss buffer, timers, checkpoints (save, NaN rollback), validation,
previews, status.json and the progress display."""

from __future__ import annotations

import math
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import torch

from doppel.core.errors import DoppelError
from doppel.media.progress import progress_bar
from doppel.train import checkpoint as ckpt
from doppel.train.config import RunOptions
from doppel.train.preview import preview_grid, write_preview
from doppel.train.status import write_status
from doppel.train.validation import ValidationTracker

MAX_ROLLBACKS_IN_A_ROW = 5
PLAIN_LINE_SECONDS = 5.0  # progress lines when stdout is not a terminal (logs, pipes)


@dataclass
class RunClock:
    """Time spent in this session, split into waiting for batches and computing."""

    elapsed_before: float = 0.0  # seconds trained in earlier sessions (from the checkpoint)
    start: float = field(default_factory=time.monotonic)
    data_wait: float = 0.0
    compute: float = 0.0

    def seconds(self, now: float | None = None) -> float:
        return (time.monotonic() if now is None else now) - self.start

    def elapsed(self) -> float:
        """Seconds trained over all sessions."""
        return self.elapsed_before + self.seconds()

    def data_wait_share(self) -> float:
        return self.data_wait / max(self.data_wait + self.compute, 1e-9)


class Every:
    """A timer that is due once `seconds` have passed since it was last marked (never when seconds is 0)."""

    def __init__(self, seconds: float, last: float):
        self.seconds, self.last = seconds, last

    def due(self, now: float) -> bool:
        return bool(self.seconds) and now - self.last >= self.seconds

    def mark(self, now: float) -> None:
        self.last = now


class LossBuffer:
    """Losses of the steps not yet looked at.

    CPU: look at each loss at once. CUDA: keep losses on the GPU and read them every `every` steps
    (one transfer), so the host never waits for the GPU inside the loop. A NaN found at a read rolls
    back to the checkpoint; checkpoints are only written right after a clean read.
    """

    def __init__(self, every: int):
        self.every = every
        self._pending: list[tuple[int, torch.Tensor, dict]] = []

    def __len__(self) -> int:
        return len(self._pending)

    def add(self, iteration: int, loss: torch.Tensor, parts: dict) -> None:
        self._pending.append((iteration, loss, parts))

    def full(self) -> bool:
        return len(self._pending) >= self.every

    def drain(self, seconds: float) -> tuple[list[dict], float | None]:
        """History rows of the pending steps (read in one transfer) and the first non-finite loss, if any."""
        keys = sorted({name for _, _, p in self._pending for name in p})
        table = torch.stack([torch.stack([l.float()] + [p.get(n, l).float() for n in keys]) for _, l, p in self._pending])
        values = table.cpu().tolist()
        rows = [{"iteration": k, "seconds": round(seconds, 3), "loss": v[0], **dict(zip(keys, v[1:]))}
                for (k, _, _), v in zip(self._pending, values)]
        self._pending.clear()
        bad = next((v[0] for v in values if not math.isfinite(v[0])), None)
        return rows, bad


@dataclass
class Checkpoints:
    """Saving this run's checkpoint, and rolling back to it when the loss turns into NaN/inf."""

    model_dir: Path
    model: torch.nn.Module
    objective: object  # doppel.train.objective.Objective
    state: ckpt.TrainState
    clock: RunClock
    is_main: bool
    say: Callable[..., None]
    autosave_seconds: float = 0.0  # 0: no autosave
    saved_at: float = field(default_factory=time.monotonic)

    def autosave_due(self, now: float) -> bool:
        return bool(self.autosave_seconds) and now - self.saved_at >= self.autosave_seconds

    def save(self, reason: str) -> None:
        """`reason`: autosave, backup, or why the run stopped; it goes into train_state.json."""
        self.state.elapsed_seconds = self.clock.elapsed()
        if self.is_main:
            self.state.extra["save_reason"] = reason
            ckpt.save_checkpoint(self.model_dir, self.model, self.state, self.objective.optimizers(), self.objective.modules())
            self.saved_at = time.monotonic()

    def roll_back(self, why: str, at_iteration: int) -> None:
        state = self.state
        if state.rollbacks_in_a_row >= MAX_ROLLBACKS_IN_A_ROW:
            raise DoppelError(f"the loss kept turning into NaN/inf ({why})", self.model_dir,
                              hint="Lower --lr, switch on --clipgrad, or switch off GAN/style losses")
        back = ckpt.read_checkpoint(self.model_dir)
        ckpt.restore_model_weights(back, self.model)
        self.objective.load(back, self.model_dir)
        ckpt.restore_rng(back.rng)
        state.iteration, state.salt = back.state.iteration, max(state.salt, back.state.salt) + 1
        state.rollbacks, state.rollbacks_in_a_row = state.rollbacks + 1, state.rollbacks_in_a_row + 1
        self.say(f"loss was {why} at iteration {at_iteration}: rolled back to the checkpoint of iteration {state.iteration}")


class Validation:
    """The held-out loss every `run.val_every` steps, the overfitting warning and the early stop."""

    def __init__(self, faces: dict | None, run: RunOptions, say: Callable[..., None]):
        self.faces, self.every, self.early_stop, self.say = faces, run.val_every, run.early_stop, say
        self.tracker = ValidationTracker(patience=run.patience)
        self._train_losses: list[float] = []
        self.last: float | None = None

    def due(self, iteration: int) -> bool:
        return self.faces is not None and iteration % self.every == 0

    def add_train_losses(self, rows: list[dict]) -> None:
        """Training losses since the last check: the overfitting warning compares their mean."""
        if self.faces is not None:
            self._train_losses.extend(row["loss"] for row in rows)

    def check(self, objective, model, iteration: int) -> bool:
        """Compute the validation loss; True when the run should stop early."""
        self.last = objective.evaluate(model, self.faces)
        self.tracker.add(iteration, self.last, sum(self._train_losses) / len(self._train_losses))
        self._train_losses.clear()
        if self.tracker.overfitting():
            self.say(f"warning: validation loss rising while training loss falls (iteration {iteration}): the model may be overfitting")
        if self.early_stop and self.tracker.should_stop():
            self.say(f"early stop: no validation improvement since iteration {self.tracker.best_iteration}")
            return True
        return False


@dataclass
class Previews:
    """previews/latest.png every `every` steps: the same faces each time."""

    faces: dict
    folder: Path
    every: int
    keep_history: bool
    last: Path | None = None

    def due(self, iteration: int) -> bool:
        return bool(self.every) and iteration % self.every == 0

    def write(self, model, iteration: int, loss: float, autocast) -> None:
        faces = self.faces
        with torch.no_grad(), autocast():
            out = model(faces["src_input"], faces["dst_input"], need_swap=True)
        grid = preview_grid(faces["src_input"], out.src_rgb, faces["dst_input"], out.dst_rgb, out.swap_rgb,
                            label=f"iteration {iteration}  loss {loss:.4f}")
        self.last = write_preview(self.folder / "previews", grid, iteration, self.keep_history)


@dataclass
class StatusReport:
    """What status.json (and the studio's on_progress) says about the run."""

    model_dir: Path
    model_type: str
    device: torch.device
    run: RunOptions
    start_iteration: int
    clock: RunClock
    on_progress: Callable[[dict], None] | None = None
    loss: float = math.nan
    parts: dict = field(default_factory=dict)

    def record(self, rows: list[dict]) -> None:
        """The latest losses, from the rows just read."""
        self.loss = rows[-1]["loss"]
        self.parts = {k: v for k, v in rows[-1].items() if k not in ("iteration", "seconds", "loss")}

    def fields(self, state: ckpt.TrainState, phase: str, val_loss: float | None, preview: Path | None) -> dict:
        run, secs = self.run, max(self.clock.seconds(), 1e-9)
        done = state.iteration - self.start_iteration
        rate = done / secs if done else 0.0
        eta = None
        if run.iterations and rate > 0:
            eta = max(0.0, (run.iterations - state.iteration) / rate)
        if run.minutes:
            left = max(0.0, run.minutes * 60 - secs)
            eta = left if eta is None else min(eta, left)
        return {
            "state": phase,
            "model_type": self.model_type,
            "device": str(self.device),
            "iteration": state.iteration,
            "target_iterations": run.iterations or None,
            "loss": None if self.loss is None or not math.isfinite(self.loss) else self.loss,
            "losses": {k: float(v) for k, v in self.parts.items()},
            "val_loss": val_loss,
            "iterations_per_second": rate,
            "eta_seconds": eta,
            "data_wait_share": self.clock.data_wait_share(),
            "last_preview": str(preview) if preview else None,
            "rollbacks": state.rollbacks,
        }

    def write(self, state: ckpt.TrainState, phase: str, val_loss: float | None, preview: Path | None, **extra) -> None:
        info = {**self.fields(state, phase, val_loss, preview), **extra}
        write_status(self.model_dir, **info)
        if self.on_progress and phase != "stopped":
            self.on_progress(info)


class TrainingProgress:
    """A rich bar on a terminal; elsewhere (logs, pipes) a plain line every few seconds."""

    def __init__(self, run: RunOptions, start_iteration: int, enabled: bool):
        self.target = run.iterations or None
        self.enabled = enabled
        self.plain = enabled and not sys.stdout.isatty()
        self._start = (start_iteration, time.monotonic())
        self._last_line = -math.inf
        self._unprinted: tuple[int, float] | None = None
        self._bar_context = progress_bar("training", self.target, enabled and not self.plain,
                                         completed=start_iteration, elapsed=True)

    def __enter__(self) -> "TrainingProgress":
        self.bar = self._bar_context.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        if self._unprinted is not None:
            self._print_line(*self._unprinted)
        self._bar_context.__exit__(*exc)

    def update(self, iteration: int, loss: float) -> None:
        if not self.plain:
            self.bar.update(iteration, f"loss {loss:.4f}")
        elif time.monotonic() - self._last_line >= PLAIN_LINE_SECONDS:
            self._print_line(iteration, loss)
        else:
            self._unprinted = (iteration, loss)

    def _print_line(self, iteration: int, loss: float) -> None:
        now = time.monotonic()
        self._last_line, self._unprinted = now, None
        start_it, start_t = self._start
        done = iteration - start_it
        per_it = f"{(now - start_t) / done:.2f} s/it" if done > 0 else "- s/it"
        target = f"/{self.target}" if self.target else ""
        print(f"iteration {iteration}{target}  loss {loss:.4f}  {per_it}  elapsed {_clock_text(now - start_t)}", flush=True)


def _clock_text(seconds: float) -> str:
    m, s = divmod(int(seconds), 60)
    h, m = divmod(m, 60)
    return f"{h}:{m:02d}:{s:02d}"
