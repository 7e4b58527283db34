"""Atomic writes: a temp file in the same folder, fsync, then rename. Readers never see half a file."""

from __future__ import annotations

import errno
import json
import logging
import os
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator



class _StderrLines(logging.Handler):
    """Each note as one plain line on the current stderr (whatever logging setup a library made)."""

    def emit(self, record: logging.LogRecord) -> None:
        print(record.getMessage(), file=sys.stderr, flush=True)


notices = logging.getLogger("doppel.notices")  # one-line notes to the user
notices.addHandler(_StderrLines())
notices.propagate = False


def _umask() -> int:
    """The process umask, read without changing it where Linux reports it (os.umask sets it)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _new_file_mode(path: Path) -> int:
    """The mode a plain open() would give `path` (an existing file keeps its own): mkstemp's 0600
    would make outputs private to their writer."""
    try:
        return path.stat().st_mode & 0o7777
    except OSError:
        return 0o666 & ~_umask()


@contextmanager
def atomic_path(path: str | Path, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path beside `path`; on success it is renamed onto `path`.

    The temp name keeps the extension (or `suffix`) so that writers that pick a format by
    extension (OpenCV, PyAV) still work.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    ext = suffix if suffix is not None else path.suffix
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=f".part{ext}", dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        if tmp_path.exists():
            os.chmod(tmp_path, _new_file_mode(path))
        os.replace(tmp_path, path)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def write_bytes(path: str | Path, data: bytes) -> None:
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())


def write_text(path: str | Path, text: str) -> None:
    write_bytes(path, text.encode("utf-8"))


def write_json(path: str | Path, obj) -> None:
    write_text(path, json.dumps(obj, indent=2, sort_keys=False) + "\n")


def is_partial(path: str | Path) -> bool:
    """True for leftovers of an interrupted atomic write (safe to ignore or remove)."""
    return ".part" in Path(path).name and Path(path).name.startswith(".")


def leftover_pattern(path: str | Path) -> str:
    """The glob of the temporary files `atomic_path(path)` makes (to clean up after one output only)."""
    path = Path(path)
    return f".{path.stem}.*.part{path.suffix}"


def remove_leftovers(folder: str | Path, pattern: str = ".*.part*", recursive: bool = False) -> tuple[int, int]:
    """Delete what interrupted atomic writes left in `folder` (hidden `.NAME.*.part*` files: never a
    complete file, so nothing is lost) and say so in one line. Returns (files, bytes)."""
    folder = Path(folder)
    if not folder.is_dir():
        return 0, 0
    count = size = 0
    for leftover in folder.glob(f"**/{pattern}" if recursive else pattern):
        if leftover.is_file() and is_partial(leftover) and "_trash" not in leftover.relative_to(folder).parts:
            size += leftover.stat().st_size
            leftover.unlink()
            count += 1
    if count:
        notices.warning(f"removed {count} leftover temporary file{'s' if count > 1 else ''} of an interrupted run "
                        f"({size / 1e6:.1f} MB) in {folder}")
    return count, size


def write_error(e: OSError, path: str | Path, what: str) -> "DoppelError":
    """The one-line error for a failed write of `what` to `path`: a full disk, a read-only folder."""
    from doppel.core.errors import DoppelError

    problem = "disk full" if e.errno == errno.ENOSPC else f"cannot write ({e.strerror or e})"
    return DoppelError(f"{problem} while writing {what}", path,
                       hint="Free some space (or make the folder writable) and run the same command again")
