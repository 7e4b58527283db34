"""CLI flags read from an options dataclass field's declaration (default, help, range), so nothing is
written twice."""

from __future__ import annotations

import dataclasses

import typer


def field_option(options_type: type, name: str, *decls: str):
    """A typer.Option for `options_type.<name>`: its default, `help`, and `min`/`max` metadata."""
    f = next(f for f in dataclasses.fields(options_type) if f.name == name)
    meta = f.metadata
    flag = decls or ("--" + name.replace("_", "-"),)
    return typer.Option(f.default, *flag, help=meta.get("help", ""), min=meta.get("min"), max=meta.get("max"))


def field(default, help: str, *, min: float | None = None, max: float | None = None):
    """A dataclass field with the metadata `field_option` reads."""
    meta = {"help": help}
    if min is not None:
        meta["min"] = min
    if max is not None:
        meta["max"] = max
    return dataclasses.field(default=default, metadata=meta)
