"""Option dataclasses -> form descriptions for the browser. Options are declared once (type, range,
choices, help on the dataclass fields); the studio's forms are built from the same metadata as the CLI."""

from __future__ import annotations

import dataclasses
import typing
from typing import Any

_TYPES = {bool: "bool", int: "int", float: "float", str: "str"}


def _kind(f: dataclasses.Field, owner: type) -> str:
    try:
        t = typing.get_type_hints(owner).get(f.name, f.type)
    except Exception:  # string annotations that do not resolve: fall back to the default's type
        t = type(f.default)
    for arg in (t, *typing.get_args(t)):
        if arg in _TYPES:
            return _TYPES[arg]
    return _TYPES.get(type(f.default), "str")


def describe(cls: type, values: Any = None) -> list[dict]:
    """One entry per field: name, kind, default, value, help, min, max, step, choices, fixed, group."""
    out = []
    for f in dataclasses.fields(cls):
        default = f.default if f.default is not dataclasses.MISSING else (
            f.default_factory() if f.default_factory is not dataclasses.MISSING else None)  # type: ignore[misc]
        m = dict(f.metadata)
        entry = {"name": f.name, "kind": _kind(f, cls), "default": default, "help": m.get("help", "")}
        for key in ("min", "max", "step", "choices", "fixed", "group"):
            if key in m:
                entry[key] = list(m[key]) if key == "choices" else m[key]
        if values is not None:
            entry["value"] = values.get(f.name, default) if isinstance(values, dict) else getattr(values, f.name, default)
        out.append(entry)
    return out
