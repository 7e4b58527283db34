"""The one gate between a request and the file system: every path the studio touches goes through
`inside(root, rel)`, which refuses anything that resolves outside the workspace (.., absolute
paths, symlinks pointing out, NUL bytes, backslash tricks)."""

from __future__ import annotations

import os
import re
from pathlib import Path, PurePosixPath

from doppel.core.errors import DoppelError


class Forbidden(DoppelError):
    """A request for a path outside the workspace. The server answers 403."""


def inside(root: Path, rel: str | None) -> Path:
    """`root / rel`, resolved, guaranteed to lie inside `root` (which must already be resolved)."""
    if rel is None or rel == "":
        return root
    if not isinstance(rel, str):
        raise Forbidden("a path must be a name inside the workspace", str(rel)[:80])
    if "\x00" in rel or "\\" in rel:
        raise Forbidden("path refused", rel)
    pure = PurePosixPath(rel)
    if pure.is_absolute() or ".." in pure.parts:
        raise Forbidden("path outside the workspace refused", rel)
    path = (root / pure).resolve()
    if path != root and root not in path.parents:
        raise Forbidden("path outside the workspace refused", rel)
    return path


def name_only(name: str) -> str:
    """A bare file name (no folder part), as sent for faces inside a chosen faceset."""
    if not name or "/" in name or "\\" in name or "\x00" in name or name in (".", ".."):
        raise Forbidden("file name refused", name)
    return name


def relative(root: Path, path: Path) -> str:
    return path.resolve().relative_to(root).as_posix()


_ABSOLUTE_PATH = re.compile(r"(?<![\w.~-])/(?:[^\s/\"':;,()]+/)+([^\s/\"':;,()]*)")


def without_absolute_paths(text: str, root: Path) -> str:
    """Text for the client (an error) without absolute paths: those inside the workspace read relative
    to it, any other (a video beside it, a library file in a bug report) by its last part."""
    for prefix in sorted({str(root), os.path.realpath(root)}, key=len, reverse=True):
        text = text.replace(prefix + os.sep, "").replace(prefix, ".")
    return _ABSOLUTE_PATH.sub(lambda m: m.group(1) or ".", text)
