"""Validation tracking, loss history and status files (no training)."""

from __future__ import annotations

import math

from doppel.train.history import History
from doppel.train.status import STOP_FILE, take_request
from doppel.train.validation import ValidationTracker


def test_overfitting_is_flagged_only_when_val_rises_and_train_falls():
    t = ValidationTracker(window=3, patience=3)
    for i, (val, train) in enumerate([(1.0, 2.0), (0.9, 1.8), (0.95, 1.6), (1.0, 1.4), (1.1, 1.2)]):
        t.add(i, val, train)
    assert t.overfitting() and t.best_iteration == 1 and t.should_stop()
    healthy = ValidationTracker(window=3)
    for i, (val, train) in enumerate([(1.0, 2.0), (0.9, 1.8), (0.85, 1.6), (0.8, 1.4)]):
        healthy.add(i, val, train)
    assert not healthy.overfitting() and not healthy.should_stop()
    both_up = ValidationTracker(window=3)
    for i, v in enumerate([1.0, 1.1, 1.2, 1.3]):
        both_up.add(i, v, v)  # diverging, not overfitting
    assert not both_up.overfitting()


def test_history_survives_a_cut_line_and_forgets_lost_iterations(tmp_path):
    h = History(tmp_path)
    for i in range(1, 6):
        h.append({"iteration": i, "seconds": float(i), "loss": 1.0 / i, "src": 0.5 / i})
    with open(tmp_path / "history.csv", "a") as f:
        f.write("6,6.0,0.1")  # a kill in the middle of a line
    resumed = History(tmp_path, resume_at=3)  # the checkpoint was at iteration 3
    assert [r["iteration"] for r in resumed.rows] == [1, 2, 3]
    assert math.isnan(resumed.rows[0]["val_loss"]) and abs(resumed.rows[2]["src"] - 0.5 / 3) < 1e-5
    assert (tmp_path / "history.csv").read_text().strip().splitlines()[-1].startswith("3,")
    assert resumed.plot().stat().st_size > 1000


def test_stop_request_is_taken_once(tmp_path):
    assert not take_request(tmp_path, STOP_FILE)
    (tmp_path / STOP_FILE).touch()
    assert take_request(tmp_path, STOP_FILE) and not (tmp_path / STOP_FILE).exists()
