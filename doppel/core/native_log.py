"""Keep native libraries' log lines (mediapipe, TF Lite, absl) off the user's terminal.

mediapipe's C++ code writes lines such as `W0000 00:00:17.. 8428 inference_feedback_manager.cc:114] ...`
and `INFO: Created TensorFlow Lite XNNPACK delegate for CPU.` straight to file descriptor 2, from
its own threads, whatever Python's logging says (GLOG_minloglevel no longer reaches absl's log). The
CLI therefore routes fd 2 through a pipe and a thread that drops exactly those lines and passes
everything else (progress bars, errors, tracebacks) on unchanged. `DOPPEL_NATIVE_LOGS=1` keeps them.
"""

from __future__ import annotations

import atexit
import os
import re
import sys
import threading

# absl/glog: severity letter, MMDD, time, thread id, file:line]  -- and TF Lite's INFO lines.
NATIVE_LINE = re.compile(
    rb"^(?:[IW]\d{4} \d\d:\d\d:[\d.]+\s+\d+ [\w./-]+:\d+\]"
    rb"|INFO: Created TensorFlow Lite|WARNING: All log messages before absl::InitializeLog)"
)
_PREFIXES = (b"I0", b"W0", b"INFO:", b"WARNING: All log")


def _could_be_native(partial: bytes) -> bool:
    """A line start that may still become a native log line once more bytes arrive."""
    return any(p.startswith(partial[: len(p)]) or partial.startswith(p) for p in _PREFIXES)


class _Filter:
    def __init__(self) -> None:
        self.original = os.dup(2)
        read_end, write_end = os.pipe()
        os.dup2(write_end, 2)
        os.close(write_end)
        self.read_end = read_end
        self.thread = threading.Thread(target=self._pump, name="native-log-filter", daemon=True)
        self.thread.start()
        atexit.register(self.close)

    def _emit(self, data: bytes) -> None:
        while data:
            written = os.write(self.original, data)
            data = data[written:]

    def _pump(self) -> None:
        pending = b""
        while True:
            try:
                chunk = os.read(self.read_end, 65536)
            except OSError:
                break
            if not chunk:
                break
            pending += chunk
            *lines, pending = pending.split(b"\n")
            out = b"".join(line + b"\n" for line in lines if not NATIVE_LINE.match(line))
            if pending and not _could_be_native(pending):  # a progress bar redraws without a newline
                out += pending
                pending = b""
            if out:
                self._emit(out)
        if pending and not NATIVE_LINE.match(pending):
            self._emit(pending)

    def close(self) -> None:
        """Put fd 2 back and let the thread pass on what is left."""
        try:
            sys.stderr.flush()
        except (OSError, ValueError):
            pass
        os.dup2(self.original, 2)  # the pipe's last write end closes: the thread reads to its end
        self.thread.join(timeout=2.0)


_installed: _Filter | None = None


def filter_native_logs() -> None:
    """Install the filter once for this process (the CLI calls it; library users keep their stderr)."""
    global _installed
    if _installed is None and os.environ.get("DOPPEL_NATIVE_LOGS", "") != "1":
        _installed = _Filter()


def stderr_is_terminal() -> bool:
    """Whether the user's stderr is a terminal (fd 2 itself is a pipe once the filter is in)."""
    return os.isatty(_installed.original) if _installed is not None else sys.stderr.isatty()
