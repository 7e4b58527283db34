"""Model options declared once: type, default, range, help, and whether they are fixed at creation.

Each field's `metadata` carries `help`, `group`, and optionally `choices`, `min`, `max`, `multiple_of`
and `fixed` (cannot change when a model is resumed). The training CLI builds its flags and the studio
its forms from this metadata, so nothing about an option is written twice.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from doppel.core.errors import DoppelError

_TYPES = {"bool": bool, "int": int, "float": float, "str": str}


def opt(default: Any, help: str, *, group: str = "training", choices: tuple | None = None,
        min: float | None = None, max: float | None = None, multiple_of: int | None = None,
        fixed: bool = False) -> Any:
    """A dataclass field with the metadata every front end reads."""
    meta = {"help": help, "group": group, "fixed": fixed}
    if choices is not None:
        meta["choices"] = tuple(choices)
    if min is not None:
        meta["min"] = min
    if max is not None:
        meta["max"] = max
    if multiple_of is not None:
        meta["multiple_of"] = multiple_of
    return dataclasses.field(default=default, metadata=meta)


def field_type(f: dataclasses.Field) -> type:
    """The Python type of an options field (annotations are strings under `from __future__`)."""
    t = f.type if isinstance(f.type, type) else _TYPES.get(str(f.type))
    if t is None:
        raise TypeError(f"option {f.name}: unsupported type {f.type!r}")
    return t


@dataclass(frozen=True)
class Options:
    """Base of every model's options: coerces plain types and checks ranges on creation."""

    def __post_init__(self) -> None:
        self.normalize()
        for f in dataclasses.fields(self):
            value = _coerce(f, getattr(self, f.name))
            object.__setattr__(self, f.name, value)
            _check_range(f, value)
        self.validate()

    def normalize(self) -> None:
        """Model-specific spelling fixes before the range checks (e.g. 'whole-face' -> 'wf')."""

    def validate(self) -> None:
        """Model-specific checks after the range checks; raise DoppelError."""

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def fixed_fields(cls) -> tuple[str, ...]:
        return tuple(f.name for f in dataclasses.fields(cls) if f.metadata.get("fixed"))


def _coerce(f: dataclasses.Field, value: Any) -> Any:
    t = field_type(f)
    if isinstance(value, t) and not (t is int and isinstance(value, bool)):
        return value
    if t is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if t is int and isinstance(value, float) and value.is_integer():
        return int(value)
    if t is bool and isinstance(value, str) and value.lower() in ("y", "yes", "true", "1", "n", "no", "false", "0"):
        return value.lower() in ("y", "yes", "true", "1")
    if t in (int, float) and isinstance(value, str):
        try:
            return t(value)
        except ValueError:
            pass
    raise DoppelError(f"option {f.name} must be {t.__name__}, got {value!r}", hint=f.metadata.get("help"))


def _check_range(f: dataclasses.Field, value: Any) -> None:
    m = f.metadata
    if "choices" in m and value not in m["choices"]:
        raise DoppelError(f"option {f.name}={value!r} is not one of {', '.join(map(str, m['choices']))}")
    if "min" in m and value < m["min"] or "max" in m and value > m["max"]:
        raise DoppelError(f"option {f.name}={value} is out of range {m.get('min')}..{m.get('max')}")
    if "multiple_of" in m and value % m["multiple_of"]:
        raise DoppelError(f"option {f.name}={value} must be a multiple of {m['multiple_of']}")


def describe(options_type: type) -> list[dict]:
    """One dict per option (name, type, default, and the metadata): for `doppel models` and forms."""
    rows = []
    for f in dataclasses.fields(options_type):
        rows.append({"name": f.name, "type": field_type(f).__name__, "default": f.default, **dict(f.metadata)})
    return rows
