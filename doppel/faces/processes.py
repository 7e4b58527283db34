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
import queue
import signal
from typing import Callable

POLL_S = 0.5  # how often the parent checks on silent workers while it waits for messages
STOP_GRACE_S = 10.0  # after an error or Ctrl-C, how long workers get to finish their current frames

Report = Callable[[tuple], None]
Task = Callable[[Report, object], None]  # task(report, stop_event); report((kind, ...)) reaches the parent


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


def run_tasks(tasks: list[Task], on_message: Callable[[tuple], None],
              stops_others: Callable[[BaseException], bool] = lambda e: True) -> list[BaseException | None]:
    """Run each task in its own forked process; call `on_message` in this process for every report.

    Returns one entry per task: None when it finished, else the exception it raised. A failure for which
    `stops_others` is true sets the stop event of the other tasks (they finish their current frames)."""
    ctx = _context()
    messages = ctx.Queue()
    stop = ctx.Event()
    parent = os.getpid() if ctx.get_start_method() == "fork" else None  # a fork server's workers have it as parent
    processes = [ctx.Process(target=_child, args=(i, task, messages, stop, parent), daemon=True,
                             name=f"doppel-extract-{i}") for i, task in enumerate(tasks)]
    outcome: dict[int, BaseException | None] = {}
    try:
        for p in processes:
            p.start()
        while len(outcome) < len(processes):
            try:
                worker, kind, payload = messages.get(timeout=POLL_S)
            except queue.Empty:
                for i, p in enumerate(processes):  # killed or crashed without a word
                    if i not in outcome and p.exitcode is not None:
                        outcome[i] = WorkerDied(f"extraction worker {i} stopped unexpectedly (exit code {p.exitcode})")
                        stop.set()
                continue
            if kind == "message":
                on_message(payload)
            else:
                outcome[worker] = payload
                if payload is not None and stops_others(payload):
                    stop.set()
    except BaseException:
        stop.set()
        raise
    finally:
        for p in processes:
            if p.pid is not None:
                p.join(timeout=STOP_GRACE_S)
                if p.is_alive():
                    p.kill()
                    p.join()
        messages.close()
    return [outcome.get(i) for i in range(len(processes))]


def _child(worker: int, task: Task, messages, stop, parent: int | None) -> None:
    _die_with_parent(parent)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the parent, which stops the workers
    try:
        task(lambda payload: messages.put((worker, "message", payload)), stop)
        messages.put((worker, "done", None))
    except BaseException as e:  # noqa: BLE001 - every failure goes back to the parent
        messages.put((worker, "done", e))
    messages.close()
    messages.join_thread()


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
