"""Options declared once, on dataclass fields, and read by every front end.

A field made by `option()` carries its help text and limits in its metadata: `choices`, `min`, `max`,
and whatever else a front end reads (`multiple_of`, `fixed`, `group`, `step`...). From that one
declaration `check_options` validates an instance, `cli_parameters` and `field_option` build the CLI
flags and `describe_options` the studio's forms, so no default, range or help text is written twice.
Options classes derive from `CheckedOptions` (checked when made); `options_command` gives a CLI command
all of a class's flags as one `options` argument; `same_option` declares a field that passes one on.
typer is imported only when flags are built: library code declaring options stays light.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import os
import types
import typing
from typing import Any, Callable, Iterable

from doppel.core.errors import DoppelError

_KINDS = {bool: "bool", int: "int", float: "float", str: "str"}
_TRUE, _FALSE = ("1", "true", "yes", "y", "on"), ("0", "false", "no", "n", "off")
_FIXED = " (fixed once the model exists)"


class CheckedOptions:
    """Base of the options dataclasses: values are converted and checked when an instance is made, so
    library, config-file and studio callers get the CLI's one-line errors."""

    def __post_init__(self) -> None:
        check_options(self)


def option(default: Any = dataclasses.MISSING, help: str = "", *, choices: Iterable | None = None,
           min: float | None = None, max: float | None = None,
           default_factory: Callable[[], Any] | Any = dataclasses.MISSING, **meta: Any) -> Any:
    """A dataclass field whose metadata holds its help and limits (limits left as None are not stored)."""
    meta = {"help": help, "choices": tuple(choices) if choices is not None else None, "min": min, "max": max, **meta}
    return dataclasses.field(default=default, default_factory=default_factory,
                             metadata={k: v for k, v in meta.items() if v is not None})


def same_option(cls: type, name: str) -> Any:
    """A field declared like `cls.<name>` (default, help, limits), for options that pass it on unchanged."""
    f = next(f for f in dataclasses.fields(cls) if f.name == name)
    return dataclasses.field(default=f.default, default_factory=f.default_factory, metadata=f.metadata)


def flag(name: str) -> str:
    """The CLI spelling of an option: batch_size -> --batch-size."""
    return "--" + name.replace("_", "-")


def check_options(instance: Any) -> None:
    """Convert and check every field of `instance`; raise DoppelError naming the flag.

    Values from config files, JSON and forms arrive as text or as the other kind of number, so plain
    types are converted first (in place, frozen dataclasses too). None passes where the type allows it.
    """
    for f in dataclasses.fields(instance):
        kind, optional = _type(type(instance), f)
        value = getattr(instance, f.name)
        if kind not in _KINDS or (value is None and optional):
            continue
        value = _coerce(f, kind, value)
        object.__setattr__(instance, f.name, value)
        m, name = f.metadata, flag(f.name)
        if "choices" in m and value not in m["choices"]:
            raise DoppelError(f"{name} must be one of {', '.join(map(str, m['choices']))}, not '{value}'")
        if "min" in m and value < m["min"] or "max" in m and value > m["max"]:
            raise DoppelError(f"{name} {value} is out of range ({m.get('min', '')}..{m.get('max', '')})")
        if "multiple_of" in m and value % m["multiple_of"]:
            raise DoppelError(f"{name} {value} must be a multiple of {m['multiple_of']}")


def describe_options(cls: type, values: Any = None) -> list[dict]:
    """The studio's form: per field name, kind, default, help, the limits declared, and `value`
    (from `values`, a dict or an options instance) when values are given."""
    out = []
    for f in dataclasses.fields(cls):
        default = _default(f, None)
        kind = _KINDS.get(_type(cls, f)[0]) or _KINDS.get(type(default), "str")
        entry = {"name": f.name, "kind": kind, "default": default, "help": f.metadata.get("help", "")}
        for key in ("min", "max", "step", "choices", "fixed", "group"):
            if key in f.metadata:
                entry[key] = list(f.metadata[key]) if key == "choices" else f.metadata[key]
        if values is not None:
            entry["value"] = values.get(f.name, default) if isinstance(values, dict) else getattr(values, f.name, default)
        out.append(entry)
    return out


def cli_parameters(cls: type, *, all_optional: bool = False, panel: str | Callable[[dataclasses.Field], str] | None = None,
                   flags: dict[str, tuple[str, ...]] | None = None, skip: Iterable[str] = (),
                   show_default: bool = True) -> list[inspect.Parameter]:
    """Keyword-only typer parameters, one per field, for a command's `__signature__`.

    all_optional: every flag defaults to None, meaning "not given", so values from a config file or a
    saved model stay in effect; ranges are then written in the help (the options class checks them).
    panel: a rich help panel, or a function of the field (train groups its flags by `group`).
    flags: declarations replacing `--name` for some fields, e.g. {"debug_dir": ("--debug", "--debug-dir")}.
    show_default: False where the default is not the one that applies (it depends on the model type).
    """
    params = []
    for f in dataclasses.fields(cls):
        if f.name in skip:
            continue
        annotation, default = _parameter(cls, f, (flags or {}).get(f.name, ()), all_optional,
                                         panel(f) if callable(panel) else panel, show_default)
        params.append(inspect.Parameter(f.name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=annotation))
    return params


def field_option(cls: type, name: str, *decls: str) -> Any:
    """One typer.Option from `cls.<name>`'s declaration, for commands written as plain functions."""
    f = next(f for f in dataclasses.fields(cls) if f.name == name)
    return _parameter(cls, f, decls, False, None, True)[1]


def options_command(cls: type, *, flags: dict[str, tuple[str, ...]] | None = None,
                    panel: str | None = None) -> Callable[[Callable], Callable]:
    """Decorate a command written as `def command(<its own flags>, options: cls)`: the flags of `cls`'s
    fields are added to its signature, and the command receives them as one `options` instance."""

    def wrap(fn: Callable) -> Callable:
        own = [p for p in inspect.signature(fn, eval_str=True).parameters.values() if p.name != "options"]

        def command(**kwargs: Any) -> Any:
            options = cls(**take_options(cls, kwargs))
            return fn(**kwargs, options=options)

        command.__name__, command.__doc__ = fn.__name__, fn.__doc__
        command.__signature__ = inspect.Signature(own + cli_parameters(cls, flags=flags, panel=panel))
        return command

    return wrap


def take_options(cls: type, kwargs: dict) -> dict:
    """Remove `cls`'s fields from a command's keyword arguments and return them."""
    return {f.name: kwargs.pop(f.name) for f in dataclasses.fields(cls) if f.name in kwargs}


def _parameter(cls: type, f: dataclasses.Field, decls: tuple, all_optional: bool, panel: str | None,
               show_default: bool) -> tuple[Any, Any]:
    import typer

    kind, optional = _type(cls, f)
    m, default = f.metadata, _default(f, ...)
    if not decls:
        decls = (f"{flag(f.name)}/--no-{flag(f.name)[2:]}",) if kind is bool else (flag(f.name),)
    text = m.get("help", "") + (f" One of: {', '.join(map(str, m['choices']))}." if "choices" in m else "")
    ranged = kind in (int, float) and not all_optional  # typer checks and shows the range itself
    if not ranged and ("min" in m or "max" in m):
        text += f" [{m.get('min', '')}..{m.get('max', '')}]"  # no letter first: not rich markup
    text += _FIXED if m.get("fixed") else ""
    extra = {"min": m.get("min"), "max": m.get("max")} if ranged else {}
    if all_optional:
        if show_default and default not in (None, ...):
            shown = '""' if default == "" else default
            text += f" (default: {shown})"
        default, show_default = None, False
    annotation = typing.Optional[kind] if optional or default is None else kind
    option = typer.Option(default, *decls, help=text, rich_help_panel=panel, **extra,
                          **({} if show_default else {"show_default": False}))
    return annotation, option


def _default(f: dataclasses.Field, missing: Any) -> Any:
    if f.default is not dataclasses.MISSING:
        return f.default
    return f.default_factory() if f.default_factory is not dataclasses.MISSING else missing  # type: ignore[misc]


@functools.cache
def _hints(cls: type) -> dict:
    try:
        return typing.get_type_hints(cls)
    except Exception:  # an annotation that does not resolve: _type judges by the default
        return {}


def _type(cls: type, f: dataclasses.Field) -> tuple[Any, bool]:
    """(plain type, may be None) of a field: `int | None` -> (int, True)."""
    hint = _hints(cls).get(f.name)
    if hint is None:
        default = _default(f, None)
        return (str if default is None else type(default)), default is None
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        args = typing.get_args(hint)
        return next(a for a in args if a is not type(None)), type(None) in args
    return hint, False


def _coerce(f: dataclasses.Field, kind: type, value: Any) -> Any:
    if isinstance(value, kind) and not (kind is int and isinstance(value, bool)):
        return value
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if kind is int and isinstance(value, float) and value.is_integer():
        return int(value)
    if kind is str and isinstance(value, os.PathLike):
        return os.fspath(value)
    if isinstance(value, str) and kind is bool and value.strip().lower() in _TRUE + _FALSE:
        return value.strip().lower() in _TRUE
    if isinstance(value, str) and kind in (int, float):
        try:
            return kind(value)
        except ValueError:
            pass
    raise DoppelError(f"{flag(f.name)} must be {kind.__name__}, got {value!r}", hint=f.metadata.get("help"))
