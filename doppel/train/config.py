"""Run options of `doppel train` and how model options are settled: defaults < saved < config file < flags.

Model options (architecture and training knobs) live in the model's own dataclass
(`doppel.models.model_options(name)`); they are saved in `model.json`. On resume, the ones marked
`fixed` cannot change and asking for a different value is refused; the others take the new value.
Run options (how long, how often to save, device...) belong to one run and are not saved with the model.
"""

from __future__ import annotations

import dataclasses
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from doppel.core import schema
from doppel.core.errors import DoppelError
from doppel.core.options import CheckedOptions
from doppel.models.options import opt
from doppel.models.train_options import TrainingOptions


@dataclass(frozen=True)
class RunOptions(CheckedOptions):
    iterations: int = opt(0, "Stop at this iteration (0 = no target).", group="run", min=0)
    minutes: float = opt(0.0, "Stop after this many minutes of training (0 = no limit).", group="run", min=0.0)
    autosave_minutes: float = opt(15.0, "Save the model every N minutes.", group="run", min=0.0)
    backup_hours: float = opt(2.0, "Copy the model into backups/ every N hours (0 = never).", group="run", min=0.0)
    backups_keep: int = opt(5, "How many backups to keep.", group="run", min=1)
    preview_every: int = opt(100, "Write previews/latest.png every N iterations (0 = never).", group="run", min=0)
    preview_history: bool = opt(False, "Keep every preview as previews/itNNNNNNNN.png.", group="run")
    val_share: float = opt(0.05, "Share of each faceset held out for validation (0 = none).", group="run", min=0.0, max=0.5)
    val_every: int = opt(100, "Compute the validation loss every N iterations.", group="run", min=1)
    early_stop: bool = opt(False, "Stop when the validation loss has not improved for --patience checks.", group="run")
    patience: int = opt(10, "Validation checks without improvement before --early-stop stops.", group="run", min=1)
    device: str = opt("auto", "Compute device: auto, cpu, cuda, cuda:N, mps, xpu.", group="run")
    precision: str = opt("auto", "Arithmetic: auto (bf16 where the GPU or CPU computes it natively, e.g. AVX512_BF16), fp32, bf16.", group="run", choices=("auto", "fp32", "bf16"))
    compile: bool = opt(False, "torch.compile the model (CUDA; slower start, faster steps).", group="run")
    seed: int = opt(0, "Random seed (weights init, batches, augmentation).", group="run")
    threads: int = opt(0, "CPU threads for the model (0 = every core).", group="run", min=0, max=1024)
    workers: int = opt(-1, "Sample worker processes (-1 = auto, 0 = in the main process).", group="run", min=-1, max=64)
    gpu_augment: bool = opt(True, "On CUDA, augment batches on the GPU (grid_sample) instead of in workers.", group="run")
    status_seconds: float = opt(5.0, "Write status.json every N seconds.", group="run", min=0.5)
    pretrained: str = opt("", "Start a new model from this pretrained model folder (same architecture).", group="run")
    progress: bool = opt(True, "Show a progress bar.", group="run")

    def replace(self, **changes: Any) -> "RunOptions":
        return dataclasses.replace(self, **changes)


RUN_FIELDS = {f.name: f for f in dataclasses.fields(RunOptions)}


def normalize_key(key: str) -> str:
    return key.strip().lstrip("-").replace("-", "_")


def read_config(path: str | Path) -> dict[str, Any]:
    """A flat TOML or JSON table of option names (model and run options, `model_type`).
    TOML tables [model] and [run] are flattened."""
    path = Path(path)
    hint = "Fix the config file: a table of option = value"
    toml = path.suffix.lower() != ".json"
    data = schema.read_limited(path, "config", hint) if toml else schema.read_json(path, "config", hint)
    try:
        if toml:
            data = tomllib.loads(data.decode("utf-8"))
            schema.check_depth(data, "config")
        flat: dict[str, Any] = {}
        for key, value in schema.obj(data, "config").items():
            if isinstance(value, dict) and key in ("model", "run", "options", "train"):
                flat.update({normalize_key(k): schema.plain(v, f"{key}.{k}") for k, v in value.items()})
            else:
                flat[normalize_key(key)] = schema.plain(value, key)
        for key in ("model_type", "src", "dst"):
            schema.field(flat, key, schema.text, 4096, default=None)
    except (ValueError, RecursionError) as e:  # TOMLDecodeError and UnicodeDecodeError are ValueErrors
        raise DoppelError(f"config is not valid TOML ({str(e).splitlines()[0][:120]})", path, hint=hint) from None
    except schema.SchemaError as e:
        raise DoppelError(f"config is damaged ({e.message})", path, hint=hint) from None
    return flat


def split_options(values: dict[str, Any], model_fields: set[str], where: Path | None = None) -> tuple[dict, dict]:
    """(model options, run options) from one flat dict; unknown keys are refused. `model_type`, `src`
    and `dst` (a config file may name them) are neither: the caller reads them."""
    model, run = {}, {}
    for key, value in values.items():
        if key in ("model_type", "src", "dst"):
            continue
        if key in RUN_FIELDS:
            run[key] = value
        elif key in model_fields:
            model[key] = value
        else:
            raise DoppelError(f"unknown option '{key}'", where, hint="See 'doppel train --help' for the options")
    return model, run


def make_run_options(values: dict[str, Any]) -> RunOptions:
    """RunOptions from flags and config values (None = not given: the default stays)."""
    return RunOptions(**{k: v for k, v in values.items() if v is not None})


def settle_model_options(name: str, saved: dict | None, requested: dict[str, Any], folder: Path) -> TrainingOptions:
    """The options of the model to build: defaults < saved < requested. Fixed options cannot change."""
    from doppel.models.registry import make_options, model_options

    options_type = model_options(name)
    if saved is None:
        return make_options(name, **requested)
    fixed = {f.name for f in dataclasses.fields(options_type) if f.metadata.get("fixed")}
    names = {f.name for f in dataclasses.fields(options_type)}
    saved_opts = make_options(name, **{k: v for k, v in saved.items() if k in names})
    asked = make_options(name, **{**{k: getattr(saved_opts, k) for k in names}, **requested})
    refused = [
        f"{k} (saved {getattr(saved_opts, k)!r}, asked {getattr(asked, k)!r})"
        for k in sorted(fixed & set(requested))
        if getattr(asked, k) != getattr(saved_opts, k)
    ]
    if refused:
        raise DoppelError(
            "cannot change on resume: " + "; ".join(refused),
            folder,
            hint="These options are fixed when a model is created; train a new model folder to change them",
        )
    return asked
