"""Long jobs the studio starts: library calls in a thread (XSeg training, apply) or a `doppel`
command in its own process (face-swap training, which must outlive a closed browser tab).
One job per name at a time."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from doppel.core import schema
from doppel.core.errors import DoppelError
from doppel.studio.paths import without_absolute_paths


def read_status(path: Path) -> dict | None:
    """The status file a job writes (status.json of training, xseg_status.json), or None when there is
    none or it cannot be used: missing, being replaced right now (an atomic rename on most systems,
    not all), or damaged. The page shows "no status" and asks again."""
    try:
        return schema.read_object(path, "status file")
    except DoppelError:
        return None


@dataclass
class Job:
    name: str
    started: float = field(default_factory=time.time)
    thread: threading.Thread | None = None
    process: subprocess.Popen | None = None
    log: Path | None = None
    result: Any = None
    error: str | None = None
    finished: float | None = None

    @property
    def running(self) -> bool:
        if self.thread is not None:
            return self.thread.is_alive()
        return self.process is not None and self.process.poll() is None

    def describe(self) -> dict:
        if self.process is not None and not self.running and self.finished is None:
            self.finished = time.time()
            code = self.process.returncode
            if code:
                self.error = f"exited with code {code}" + (f"; see {self.log.name}" if self.log else "")
        return {
            "name": self.name,
            "running": self.running,
            "started": self.started,
            "finished": self.finished,
            "error": self.error,
            "result": self.result,
            "pid": self.process.pid if self.process is not None else None,
        }


class Jobs:
    def __init__(self, root: Path | None = None) -> None:
        self.root = root  # the workspace: job errors name paths relative to it
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()

    def _error_text(self, text: str) -> str:
        return without_absolute_paths(text, self.root) if self.root is not None else text

    def get(self, name: str) -> Job | None:
        return self._jobs.get(name)

    def _claim(self, name: str) -> Job:
        with self._lock:
            old = self._jobs.get(name)
            if old is not None and old.running:
                raise DoppelError(f"'{name}' is already running", hint="Wait for it or stop it first")
            job = Job(name)
            self._jobs[name] = job
            return job

    def start_thread(self, name: str, fn: Callable[[], Any]) -> Job:
        job = self._claim(name)

        def run() -> None:
            try:
                job.result = fn()
            except DoppelError as e:
                job.error = self._error_text(e.one_line())
            except Exception as e:  # shown in the studio instead of killing the server
                job.error = self._error_text(f"{type(e).__name__}: {e}")
            finally:
                job.finished = time.time()

        job.thread = threading.Thread(target=run, name=f"studio-{name}", daemon=True)
        job.thread.start()
        return job

    def start_process(self, name: str, args: list[str], log: Path, cwd: Path) -> Job:
        """Run `python -m doppel.cli ARGS` with its output in `log` (appended)."""
        job = self._claim(name)
        job.log = log
        log.parent.mkdir(parents=True, exist_ok=True)
        with open(log, "ab") as out:
            job.process = subprocess.Popen(
                [sys.executable, "-m", "doppel.cli", *args], cwd=cwd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True,  # training outlives the studio (and its Ctrl-C); stop it with STOP
            )
        return job
