"""Checking data read from files: JSON parsed safely, then every field's type, shape and range.

Each file format has one loader that reads its file through `read_json` (or its own container) and
checks each field with the functions below. A bad field raises `SchemaError` naming the field
("landmarks: expected 68x2 numbers, got 12x2"); the loader adds the file's name and what to do.
Nothing here trusts the file: no value is used before its type is known.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from doppel.core.errors import DoppelError

MAX_DEPTH = 32  # deeper JSON than any doppel file writes; deeper input is refused, not recursed into
MAX_JSON_BYTES = 256 << 20


class SchemaError(DoppelError):
    """A value read from a file has the wrong type, shape or range (the message names the field)."""


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, (list, tuple)):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _fail(name: str, expected: str, value: Any) -> SchemaError:
    return SchemaError(f"{name}: expected {expected}, got {_kind(value)}")


def check_depth(value: Any, name: str = "data", limit: int = MAX_DEPTH) -> None:
    """Refuse containers nested deeper than `limit`, level by level (deep input cannot exhaust the stack)."""
    level, depth = [value], 0
    while level:
        level = [child for item in level if isinstance(item, (dict, list, tuple))
                 for child in (item.values() if isinstance(item, dict) else item)]
        if level and depth >= limit:
            raise SchemaError(f"{name}: nested more than {limit} levels deep")
        depth += 1


def parse_json(data: bytes | str, name: str = "JSON", free_form: bool = True) -> Any:
    """Parse JSON text; any failure (syntax, encoding, nesting) is a SchemaError. free_form=False leaves
    the nesting check to the caller, whose typed fields cannot nest (only its free-form ones need it)."""
    try:
        value = json.loads(data)
    except RecursionError:
        raise SchemaError(f"{name}: nested too deeply") from None
    except ValueError as e:  # JSONDecodeError and UnicodeDecodeError both are
        raise SchemaError(f"{name}: not valid JSON ({str(e).splitlines()[0][:120]})") from None
    if free_form:
        check_depth(value, name)
    return value


def read_limited(path: str | Path, what: str, hint: str | None = None) -> bytes:
    """The bytes of `path` (at most MAX_JSON_BYTES), or a one-line DoppelError naming the file."""
    path = Path(path)
    try:
        with open(path, "rb") as f:
            data = f.read(MAX_JSON_BYTES + 1)
    except FileNotFoundError as e:
        raise DoppelError(f"{what} not found", path, hint=hint) from e
    except OSError as e:
        raise DoppelError(f"cannot read {what} ({e.strerror or e})", path, hint=hint) from e
    if len(data) > MAX_JSON_BYTES:
        raise DoppelError(f"{what} is larger than {MAX_JSON_BYTES >> 20} MiB", path, hint=hint)
    return data


def read_json(path: str | Path, what: str, hint: str | None = None) -> Any:
    """The parsed JSON of `path`, or a one-line DoppelError naming the file (missing, unreadable, not JSON)."""
    data = read_limited(path, what, hint)
    try:
        return parse_json(data, what)
    except SchemaError as e:
        raise DoppelError(f"{e.message}", path, hint=hint) from None


def read_object(path: str | Path, what: str, hint: str | None = None) -> dict:
    """`read_json` of a file that must hold a JSON object (the fields are the caller's to check)."""
    value = read_json(path, what, hint)
    try:
        return obj(value, what)
    except SchemaError as e:
        raise damaged(what, e, path, hint) from None


def damaged(what: str, error: DoppelError, path: str | Path, hint: str | None = None) -> DoppelError:
    """The one-line error for a file whose content failed its checks."""
    return DoppelError(f"{what} is damaged ({error.message})", path, hint=error.hint or hint)


# ---- field checks -----------------------------------------------------------------------------


def obj(value: Any, name: str) -> dict:
    if not isinstance(value, dict):
        raise _fail(name, "an object", value)
    return value


def items(value: Any, name: str, max_len: int | None = None) -> list:
    if not isinstance(value, (list, tuple)):
        raise _fail(name, "a list", value)
    if max_len is not None and len(value) > max_len:
        raise SchemaError(f"{name}: more than {max_len} entries")
    return list(value)


def text(value: Any, name: str, max_len: int = 1 << 16) -> str:
    if not isinstance(value, str):
        raise _fail(name, "text", value)
    if len(value) > max_len:
        raise SchemaError(f"{name}: longer than {max_len} characters")
    return value


def flag(value: Any, name: str) -> bool:
    if not isinstance(value, bool):
        raise _fail(name, "true or false", value)
    return value


def _range(value: float, name: str, lo: float | None, hi: float | None) -> None:
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        raise SchemaError(f"{name}: {value} is out of range ({'' if lo is None else lo}..{'' if hi is None else hi})")


def integer(value: Any, name: str, lo: int | None = None, hi: int | None = None) -> int:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool):
        raise _fail(name, "a whole number", value)
    _range(value, name, lo, hi)
    return value


def number(value: Any, name: str, lo: float | None = None, hi: float | None = None) -> float:
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        raise _fail(name, "a number", value)
    value = float(value)
    if not math.isfinite(value):
        raise SchemaError(f"{name}: {value} is not a finite number")
    _range(value, name, lo, hi)
    return value


def sha256(value: Any, name: str) -> str:
    """A sha256 checksum as 64 lowercase hex digits."""
    digest = text(value, name, 64)
    if len(digest) != 64 or digest.strip("0123456789abcdef"):
        raise SchemaError(f"{name}: not a sha256 checksum")
    return digest


def plain(value: Any, name: str) -> Any:
    """An option's value as a file may hold it: text, a number, true/false or null (never a list or
    an object); the options classes convert and check it further."""
    if value is not None and not isinstance(value, (str, int, float, bool)):
        raise _fail(name, "text, a number or true/false", value)
    return value


def relative_path(value: Any, name: str) -> str:
    """A path inside a folder, as written to a journal: relative, without '..' or NUL characters."""
    rel = text(value, name, 4096)
    if not rel or "\0" in rel or Path(rel).is_absolute() or ".." in Path(rel).parts:
        raise SchemaError(f"{name}: {rel[:60]!r} is not a path inside the folder")
    return rel


def choice(value: Any, name: str, choices: Sequence[str]) -> str:
    if not isinstance(value, str) or value not in choices:
        raise SchemaError(f"{name}: expected one of {', '.join(choices)}, got {str(value)[:40]!r}")
    return value


def array(value: Any, name: str, shape: Sequence[int | None], max_size: int = 1 << 24, bound: float = 1e9) -> np.ndarray:
    """A float64 array of `shape` (None: any length along that axis) of finite numbers within +-bound."""
    if isinstance(value, np.ndarray):
        if value.dtype.kind not in "biuf":
            raise SchemaError(f"{name}: expected numbers, got an array of {value.dtype}")
    elif not isinstance(value, (list, tuple)):
        raise _fail(name, "a list of numbers", value)
    try:
        a = np.asarray(value, dtype=np.float64)
    except (ValueError, TypeError, OverflowError):
        raise SchemaError(f"{name}: expected a regular table of numbers") from None
    if a.size > max_size:
        raise SchemaError(f"{name}: more than {max_size} numbers")
    if a.ndim != len(shape) or any(want is not None and got != want for got, want in zip(a.shape, shape)):
        wanted = "x".join("N" if n is None else str(n) for n in shape)
        raise SchemaError(f"{name}: expected {wanted} numbers, got {'x'.join(map(str, a.shape)) or 'one number'}")
    if not np.isfinite(a).all():
        raise SchemaError(f"{name}: holds NaN or infinite numbers")
    if a.size and np.abs(a).max() > bound:
        raise SchemaError(f"{name}: holds numbers beyond +-{bound:g}")
    return a


def invertible(matrix: np.ndarray, name: str) -> np.ndarray:
    """A 2x3 affine whose 2x2 part can be inverted (a transform that maps a face somewhere)."""
    det = float(np.linalg.det(matrix[:2, :2]))
    scale = float(np.abs(matrix[:2, :2]).max()) or 1.0
    if not math.isfinite(det) or abs(det) < 1e-12 * scale * scale:
        raise SchemaError(f"{name}: the transform is singular (it maps the face onto a line or a point)")
    return matrix


def field(record: dict, key: str, check: Callable[..., Any], *args: Any, default: Any = ..., prefix: str = "", **kwargs: Any) -> Any:
    """`check(record[key])`; a missing key is an error unless a default is given. None passes as
    None only when the default is None."""
    name = prefix + key
    if key not in record:
        if default is ...:
            raise SchemaError(f"{name}: missing")
        return default
    value = record[key]
    if value is None and default is None:
        return None
    return check(value, name, *args, **kwargs)
