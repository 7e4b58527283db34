"""The one error type a user sees: a one-line message naming the file and what to do."""

from __future__ import annotations

import re
from pathlib import Path

_CONTROL = re.compile("[\x00-\x1f\x7f\x85\u2028\u2029]")  # what splitlines() breaks on, and control characters


class DoppelError(Exception):
    """A user-facing failure. The CLI prints it on one line and exits non-zero."""

    def __init__(self, message: str, path: str | Path | None = None, hint: str | None = None):
        self.path = Path(path) if path is not None else None
        self.hint = hint
        self.message = message
        super().__init__(self.one_line())

    def __reduce__(self):
        # Subclasses take other constructor arguments: rebuild from the state (errors cross processes).
        return _rebuild, (type(self), self.args, self.__dict__)

    def one_line(self) -> str:
        parts = [f"{self.path}: {self.message}" if self.path is not None else self.message]
        if self.hint:
            parts.append(self.hint)
        # Messages quote file content and names; their line breaks and control characters are shown escaped.
        return _CONTROL.sub(lambda m: repr(m.group())[1:-1], " ".join(p.rstrip(".") + "." for p in parts))


def _rebuild(cls: type, args: tuple, state: dict) -> DoppelError:
    error = cls.__new__(cls)
    Exception.__init__(error, *args)
    error.__dict__.update(state)
    return error


class NoMetadataError(DoppelError):
    """An image has no doppel face metadata (not an aligned face, or stripped by an editor)."""
