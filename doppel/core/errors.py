"""The one error type a user sees: a one-line message naming the file and what to do."""

from __future__ import annotations

from pathlib import Path


class DoppelError(Exception):
    """A user-facing failure. The CLI prints it on one line and exits non-zero."""

    def __init__(self, message: str, path: str | Path | None = None, hint: str | None = None):
        self.path = Path(path) if path is not None else None
        self.hint = hint
        self.message = message
        super().__init__(self.one_line())

    def one_line(self) -> str:
        parts = [f"{self.path}: {self.message}" if self.path is not None else self.message]
        if self.hint:
            parts.append(self.hint)
        return " ".join(p.rstrip(".") + "." for p in parts)


class NoMetadataError(DoppelError):
    """An image has no doppel face metadata (not an aligned face, or stripped by an editor)."""
