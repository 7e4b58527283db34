"""Validation: a held-out share of each faceset, its loss, and the overfitting warning.

The validation batch is the same every time (no augmentation), so its loss is comparable across a run.
Overfitting: the validation loss rose over the last `window` checks while the training loss fell.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import math


@dataclass
class ValidationTracker:
    window: int = 3
    patience: int = 10
    checks: list[tuple[int, float, float]] = field(default_factory=list)  # (iteration, val, train)
    best: float = math.inf
    best_iteration: int = 0
    since_best: int = 0

    def add(self, iteration: int, val_loss: float, train_loss: float) -> None:
        self.checks.append((iteration, val_loss, train_loss))
        if val_loss < self.best - 1e-9:
            self.best, self.best_iteration, self.since_best = val_loss, iteration, 0
        else:
            self.since_best += 1

    def overfitting(self) -> bool:
        """Validation loss rising at each of the last `window` checks while training loss fell."""
        if len(self.checks) < self.window + 1:
            return False
        recent = self.checks[-(self.window + 1) :]
        val_up = all(b[1] > a[1] for a, b in zip(recent, recent[1:]))
        train_down = recent[-1][2] < recent[0][2]
        return val_up and train_down

    def should_stop(self) -> bool:
        return self.since_best >= self.patience
