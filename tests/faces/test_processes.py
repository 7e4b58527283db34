"""The extraction worker pool: a worker that dies, even mid-message, is reported and stops no other."""

import os
import threading
import time

import pytest

from doppel.faces import processes
from doppel.faces.processes import WorkerDied, run_tasks


@pytest.fixture(autouse=True)
def forked(monkeypatch):
    # These tasks run no mediapipe graph, so forking is safe even after other tests ran one here.
    monkeypatch.setattr(processes, "can_fork_models", lambda: True)


def dies_after_reports(report, stop):
    for i in range(5):
        report(("n", i))
    os._exit(3)


def reports_until_stopped(report, stop):
    deadline = time.monotonic() + 30
    report(("tick", None))
    while not stop.is_set() and time.monotonic() < deadline:
        report(("tick", None))
        time.sleep(0.001)


def dies_mid_message(report, stop):
    report(("start", None))
    threading.Thread(target=report, args=(("big", b"x" * 4_000_000),), daemon=True).start()
    time.sleep(0.3)  # the parent is not reading yet: the big message is stuck half-written in the pipe
    os._exit(4)


class Unpicklable(Exception):
    def __reduce__(self):
        raise TypeError("no")


def raises(report, stop):
    raise ValueError("bad frame")


def raises_unpicklable(report, stop):
    raise Unpicklable("odd")


def test_a_dead_worker_is_reported_and_the_other_is_stopped():
    received = []
    started = time.monotonic()
    outcome = run_tasks([dies_after_reports, reports_until_stopped], received.append)
    assert time.monotonic() - started < 20
    assert isinstance(outcome[0], WorkerDied) and "exit code 3" in str(outcome[0])
    assert outcome[1] is None
    assert [m for m in received if m[0] == "n"] == [("n", i) for i in range(5)]
    assert any(m[0] == "tick" for m in received)


def test_a_worker_that_dies_mid_message_does_not_hang_the_parent():
    received = []

    def on_message(message):
        received.append(message[0])
        if message[0] == "start":
            time.sleep(1.0)

    outcome = run_tasks([dies_mid_message], on_message)
    assert isinstance(outcome[0], WorkerDied)
    assert received == ["start"]


def test_errors_come_back_as_exceptions():
    outcome = run_tasks([raises, raises_unpicklable], lambda m: None, stops_others=lambda e: False)
    assert isinstance(outcome[0], ValueError) and str(outcome[0]) == "bad frame"
    assert isinstance(outcome[1], RuntimeError) and "Unpicklable: odd" in str(outcome[1])
