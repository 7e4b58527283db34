"""The model registry: one entry per model or preset, one options dataclass each.

A model is registered with `register_model(name, Options, build)`, where `build(options) -> FaceSwapModel`
is a callable or its import path ("package.module:name"). The built-in models register from their options
modules and name their builders by path, so listing models and their flags (every CLI start) does not
import torch. A preset is a named set of defaults over a model (`register_preset`); its `locked` options
cannot be changed (quick96 is always 96 px full face). `create_model(name, **options)` drops `None`
values so that defaults stay in effect.
"""

from __future__ import annotations

import dataclasses
import importlib
from dataclasses import dataclass
from typing import Any, Callable

from doppel.core.errors import DoppelError

BUILTIN_MODULES = ("doppel.models.saehd_options", "doppel.models.quick96", "doppel.models.presets",
                   "doppel.models.amp_options")


@dataclass(frozen=True)
class ModelEntry:
    name: str
    options_type: type
    build: Callable | str  # the builder, or its import path "module:name"
    help: str
    base: str | None = None  # the model a preset configures
    defaults: tuple = ()  # (name, value) pairs a preset sets
    locked: frozenset = frozenset()


_REGISTRY: dict[str, ModelEntry] = {}
_loaded = False


def register_model(name: str, options_type: type, build: Callable | str, help: str = "") -> None:
    """Register `build(options) -> FaceSwapModel` (or its path "module:name", imported on first use)."""
    doc = (build.__doc__ or "") if callable(build) else ""
    _REGISTRY[name] = ModelEntry(name, options_type, build, help or doc.strip())


def _builder(entry: ModelEntry) -> Callable:
    if callable(entry.build):
        return entry.build
    module, _, attr = entry.build.partition(":")
    return getattr(importlib.import_module(module), attr)


def register_preset(name: str, base: str, help: str, locked: tuple[str, ...] = (), **defaults: Any) -> None:
    """A named configuration of `base` (itself registered): new defaults, some of them locked."""
    parent = _REGISTRY[base]
    unknown = set(defaults) - {f.name for f in dataclasses.fields(parent.options_type)}
    if unknown or not set(locked) <= set(defaults):
        raise ValueError(f"preset {name}: bad options {sorted(unknown) or sorted(set(locked) - set(defaults))}")
    options_type = _preset_options_type(name, parent.options_type, defaults, frozenset(locked))
    _REGISTRY[name] = ModelEntry(name, options_type, parent.build, help, base, tuple(defaults.items()), frozenset(locked))


def _preset_options_type(name: str, base_type: type, defaults: dict, locked: frozenset) -> type:
    """A subclass of the model's options whose defaults are the preset's (so flags and forms show them)."""
    new_fields = []
    for f in dataclasses.fields(base_type):
        if f.name in defaults:
            meta = dict(f.metadata)
            if f.name in locked:
                meta["fixed"] = True
                meta["locked"] = True
            new_fields.append((f.name, f.type, dataclasses.field(default=defaults[f.name], metadata=meta)))
    cls_name = "".join(p.capitalize() for p in name.replace("-", "_").split("_")) + "Options"
    cls = dataclasses.make_dataclass(cls_name, new_fields, bases=(base_type,), frozen=True)
    cls.__module__ = base_type.__module__
    return cls


def _ensure_builtins() -> None:
    global _loaded
    if not _loaded:
        _loaded = True
        for module in BUILTIN_MODULES:
            importlib.import_module(module)


def get_entry(name: str) -> ModelEntry:
    _ensure_builtins()
    key = str(name).strip().lower()
    if key not in _REGISTRY:
        raise DoppelError(f"unknown model type '{name}'", hint=f"Use one of: {', '.join(available_models())}")
    return _REGISTRY[key]


def available_models() -> list[str]:
    """Every registered model and preset name, models first."""
    _ensure_builtins()
    models = sorted(n for n, e in _REGISTRY.items() if e.base is None)
    presets = sorted(n for n, e in _REGISTRY.items() if e.base is not None)
    return models + presets


def model_options(name: str) -> type:
    """The options dataclass for a model or preset (a preset's carries its own defaults)."""
    return get_entry(name).options_type


def make_options(name: str, **options: Any):
    """Validated options for `name`; `None` values mean "use the default"."""
    entry = get_entry(name)
    given = {k: v for k, v in options.items() if v is not None}
    known = {f.name for f in dataclasses.fields(entry.options_type)}
    unknown = sorted(set(given) - known)
    if unknown:
        raise DoppelError(f"model {entry.name} has no option {', '.join(unknown)}",
                          hint=f"Its options are: {', '.join(sorted(known))}")
    opts = entry.options_type(**given)
    if entry.locked:
        preset = entry.options_type()
        for key in sorted(entry.locked):
            if getattr(opts, key) != getattr(preset, key):
                raise DoppelError(f"{entry.name} always uses {key}={getattr(preset, key)!r}, got {given[key]!r}",
                                  hint=f"Use --model-type {entry.base} to choose {key}")
    return opts


def create_model(name: str, **options: Any):
    """Build a fresh model (weights initialised) from a registered name and option overrides."""
    entry = get_entry(name)
    opts = make_options(name, **options)
    model = _builder(entry)(opts)
    model.name = entry.name
    return model
