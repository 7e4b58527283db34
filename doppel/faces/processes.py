"""Run extraction stretches in forked worker processes.

Threads cannot share the work: mediapipe holds the GIL for the whole of each inference (measured: a
mesh loop and a pure-Python loop run back to back, never side by side), so one process uses about one
core however many threads it has. Each worker process runs one stretch with its own models, writes its
faces itself and reports every frame to the parent, which keeps the alignments index and the progress bar.

Workers are forked, so they start at once with the parent's modules loaded (a spawned interpreter would
spend a second importing mediapipe before its first frame). A process that has run a mediapipe graph
cannot fork safely (the child's heap is corrupt: measured), so such a process starts its workers from a
fork server instead, a clean process with the same modules loaded, started once (about a second).
Workers die with the parent (kill -9 included), ignore Ctrl-C (the parent stops them at a frame boundary)
and send their errors back as exceptions.
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import signal
import threading
import time
from multiprocessing.connection import wait
from typing import Callable

POLL_S = 0.5  # how often the parent looks at the clock while it waits for reports
STOP_GRACE_S = 10.0  # after an error or Ctrl-C, how long workers get to finish their current frames

Report = Callable[[tuple], None]
Task = Callable[[Report, object], None]  # task(report, stop_flag); report((kind, ...)) reaches the parent


_graphs_created = False
FORK_SERVER_PRELOAD = ["doppel.faces.extract", "mediapipe"]


def fork_available() -> bool:
    return "fork" in multiprocessing.get_all_start_methods()


def note_native_graphs() -> None:
    """Called wherever this process starts a mediapipe graph: from then on, workers come from a fork server."""
    global _graphs_created
    _graphs_created = True


def can_fork_models() -> bool:
    """Whether a child forked from this process may run mediapipe (no graph has run here)."""
    return not _graphs_created


def _context():
    if can_fork_models():
        return multiprocessing.get_context("fork")
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(FORK_SERVER_PRELOAD)
    return ctx


class WorkerDied(RuntimeError):
    pass


class StopFlag:
    """A stop request shared with the workers: one byte of shared memory, no lock. A worker killed while
    holding a lock (a multiprocessing Event or Queue) would leave the others blocked on it for ever."""

    def __init__(self, ctx):
        self._flag = ctx.RawValue("b", 0)

    def set(self) -> None:
        self._flag.value = 1

    def is_set(self) -> bool:
        return bool(self._flag.value)


def run_tasks(tasks: list[Task], on_message: Callable[[tuple], None],
              stops_others: Callable[[BaseException], bool] = lambda e: True) -> list[BaseException | None]:
    """Run each task in its own forked process; call `on_message` in this process for every report.

    Returns one entry per task: None when it finished, else the exception it raised. A failure for which
    `stops_others` is true sets the stop flag of the other tasks (they finish their current frames).
    Each worker reports through a pipe of its own, so one that dies mid-message harms no other."""
    ctx = _context()
    stop = StopFlag(ctx)
    parent = os.getpid() if ctx.get_start_method() == "fork" else None  # a fork server's workers have it as parent
    processes, pipes = [], []
    outcome: dict[int, BaseException | None] = {}
    stop_deadline = None
    try:
        for i, task in enumerate(tasks):
            # Made, handed over and closed here one at a time, so no later child inherits this write end
            # (a dead worker's pipe then reads as ended instead of waiting for a sibling to exit).
            receive, send = ctx.Pipe(duplex=False)
            p = ctx.Process(target=_child, args=(i, task, send, stop, parent), daemon=True, name=f"doppel-extract-{i}")
            p.start()
            send.close()
            processes.append(p)
            pipes.append(receive)
        while len(outcome) < len(processes):
            running = [i for i in range(len(processes)) if i not in outcome]
            ready = set(wait([pipes[i] for i in running] + [processes[i].sentinel for i in running], timeout=POLL_S))
            for i in running:
                ended = processes[i].sentinel in ready
                if pipes[i] in ready and not _receive(i, pipes[i], on_message, outcome):
                    ended = True
                if ended and i not in outcome:  # read what it left, then judge
                    while i not in outcome and pipes[i].poll() and _receive(i, pipes[i], on_message, outcome):
                        pass
                    if i not in outcome:
                        processes[i].join(timeout=STOP_GRACE_S)
                        processes[i].kill()
                        outcome[i] = WorkerDied(f"extraction worker {i} stopped unexpectedly "
                                                f"(exit code {processes[i].exitcode})")
                if outcome.get(i) is not None and stops_others(outcome[i]):
                    stop.set()
            if stop.is_set():
                stop_deadline = stop_deadline or time.monotonic() + STOP_GRACE_S
                if time.monotonic() > stop_deadline:  # a worker that ignores the stop is killed
                    for i in range(len(processes)):
                        if i not in outcome:
                            processes[i].kill()
                            outcome[i] = WorkerDied(f"extraction worker {i} did not stop within {STOP_GRACE_S:.0f} s")
    except BaseException:
        stop.set()
        raise
    finally:
        for p in processes:
            p.join(timeout=STOP_GRACE_S)
            if p.is_alive():
                p.kill()
                p.join()
        for receive in pipes:
            receive.close()
    return [outcome.get(i) for i in range(len(processes))]


def _receive(worker: int, pipe, on_message, outcome: dict) -> bool:
    """Handle one report from a worker's pipe; False when the pipe has ended (or ends mid-message)."""
    try:
        kind, payload = pipe.recv()
    except Exception:  # noqa: BLE001 - ended, or ended mid-message (a truncated pickle)
        return False
    if kind == "message":
        on_message(payload)
    else:
        outcome[worker] = payload
    return True


def _child(worker: int, task: Task, send, stop: StopFlag, parent: int | None) -> None:
    _die_with_parent(parent)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the parent, which stops the workers
    lock = threading.Lock()  # reports may come from several threads of the worker

    def report(kind: str, payload) -> None:
        with lock:
            send.send((kind, payload))

    try:
        task(lambda payload: report("message", payload), stop)
        report("done", None)
    except BaseException as e:  # noqa: BLE001 - every failure goes back to the parent
        try:
            report("done", e)
        except Exception:  # noqa: BLE001 - an exception that cannot be pickled goes back as text
            report("done", RuntimeError(f"{type(e).__name__}: {e}"))
    send.close()


def _die_with_parent(parent: int | None) -> None:
    """Ask Linux to SIGKILL this process when its parent dies (kill -9 of doppel must not leave workers
    writing faces; a fork server exits with doppel); elsewhere the daemon flag covers a normal exit."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass
    if parent is not None and os.getppid() != parent:  # the parent died before the request took effect
        os._exit(1)
