"""Training checkpoints: safetensors + JSON, atomic, validated before anything is loaded.

A model folder holds the model itself (`model.json` + `model.safetensors`, written by
`doppel.models.io.save_model`, loadable by merge on its own) and the training state beside it:

- `train_state.safetensors`: optimizer tensors, extra modules (discriminators), RNG states;
- `train_state.json`: iteration, optimizer scalars and param groups, Python/NumPy RNG, and the
  sha256 of both safetensors files, so a state never pairs with weights it was not saved with.

Saving: the previous checkpoint is hard-linked into `last_good/` first and a `SAVING` marker marks
the write; the JSON is written last. If a save is cut off (kill -9, power), the marker is still there
and loading falls back to `last_good/` with a warning. Without the marker, a checkpoint that fails to
validate (truncated, tampered) is refused with a DoppelError and nothing is loaded.
"""

from __future__ import annotations

import os
import random
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from doppel import __version__
from doppel.core import schema
from doppel.core.atomic import atomic_path, remove_leftovers, write_error, write_json
from doppel.core.errors import DoppelError
from doppel.core.images import TRASH_DIR
from doppel.core.schema import read_json
from doppel.core.trash import trash_everything
from doppel.models.io import sha256_file
from doppel.train.history import HISTORY_CSV

MODEL_JSON = "model.json"
MODEL_WEIGHTS = "model.safetensors"
STATE_JSON = "train_state.json"
STATE_TENSORS = "train_state.safetensors"
SAVING_MARKER = "SAVING"
LAST_GOOD = "last_good"
BACKUPS = "backups"
CHECKPOINT_FILES = (MODEL_JSON, MODEL_WEIGHTS, STATE_JSON, STATE_TENSORS)
STATE_SCHEMA = 1


@dataclass
class TrainState:
    """What a resume needs besides weights: counters and RNG."""

    iteration: int = 0
    salt: int = 0  # bumped on each NaN rollback so the replayed batches differ
    elapsed_seconds: float = 0.0
    rollbacks: int = 0
    extra: dict = field(default_factory=dict)
    rollbacks_in_a_row: int = 0  # not saved: resets when a step succeeds


@dataclass
class Loaded:
    """A validated checkpoint in memory (CPU tensors), not yet applied to anything."""

    folder: Path
    model_json: dict
    state: TrainState
    optimizers: dict[str, dict]
    modules: dict[str, dict[str, torch.Tensor]]
    rng: dict
    fell_back: bool = False


# What a model folder holds besides model.json: a folder with any of these is another model's work.
MODEL_WORK = (MODEL_WEIGHTS, STATE_JSON, STATE_TENSORS, LAST_GOOD, BACKUPS, HISTORY_CSV)


def has_checkpoint(folder: Path) -> bool:
    """True when `folder` holds a model to resume. Removes leftovers of interrupted saves (and says so).

    A folder with a model's work (weights, training state, last_good/, backups/, history) but no
    model.json is refused: training there would build a new model over the old one's files."""
    folder = Path(folder)
    remove_leftovers(folder, recursive=True)
    if (folder / MODEL_JSON).exists():
        return True
    work = [name for name in MODEL_WORK if (folder / name).exists()]
    if work:
        raise DoppelError(
            f"holds a model's work ({', '.join(work)}) but its {MODEL_JSON} is missing", folder,
            hint=f"Restore {MODEL_JSON} from {LAST_GOOD}/ or {BACKUPS}/, train in another --model folder, "
                 f"or pass --new to move the old work into {folder / TRASH_DIR}",
        )
    return False


def start_afresh(folder: Path) -> int:
    """Move a model folder's work into its trash (`doppel trash restore` brings it back), for --new.
    Returns how many files moved."""
    folder = Path(folder)
    if not folder.is_dir():
        return 0
    return len(trash_everything(folder, "train --new: a new model in this folder"))


def read_model_json(folder: Path) -> dict:
    """The checked model.json of a model folder (doppel.models.io reads and checks it)."""
    from doppel.models.io import read_model_info

    return read_model_info(folder)


# ---- flattening state dicts into safetensors + JSON ------------------------------------------


def _flatten_optimizer(name: str, sd: dict, names: list[str], tensors: dict) -> dict:
    """Optimizer state keyed by parameter name (not index), so a changed set of trained weights
    (liae freezes inter_AB without random warp) still finds its state."""
    scalars: dict[str, dict] = {}
    for idx, per_param in sd["state"].items():
        pname = names[idx]
        for key, value in per_param.items():
            if isinstance(value, torch.Tensor):
                tensors[f"optim.{name}.{pname}.{key}"] = value.detach().to("cpu").contiguous()
            else:
                scalars.setdefault(pname, {})[key] = value
    return {"param_groups": sd["param_groups"], "scalars": scalars}


def _unflatten_optimizer(name: str, meta: dict, tensors: dict) -> dict:
    """{parameter name: {state key: value}} plus the saved param groups."""
    by_name: dict[str, dict] = {}
    prefix = f"optim.{name}."
    for key, value in tensors.items():
        if key.startswith(prefix) and "." in key[len(prefix) :]:
            pname, sub = key[len(prefix) :].rsplit(".", 1)
            by_name.setdefault(pname, {})[sub] = value
    for pname, values in meta["scalars"].items():
        by_name.setdefault(pname, {}).update(values)
    return {"by_name": by_name, "param_groups": meta["param_groups"]}


def _rng_state() -> tuple[dict, dict]:
    tensors = {"rng.torch": torch.get_rng_state()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        for i, s in enumerate(torch.cuda.get_rng_state_all()):
            tensors[f"rng.cuda.{i}"] = s
    kind, keys, pos, has_gauss, gauss = np.random.get_state()
    tensors["rng.numpy"] = torch.from_numpy(np.asarray(keys, np.int64))
    version, internal, py_gauss = random.getstate()
    meta = {
        "numpy": [kind, int(pos), int(has_gauss), float(gauss)],
        "python": [version, list(internal), py_gauss],
    }
    return tensors, meta


def restore_rng(rng: dict) -> None:
    torch.set_rng_state(rng["torch"])
    cuda = [rng[k] for k in sorted(k for k in rng if k.startswith("cuda."))]
    if cuda and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(cuda[: torch.cuda.device_count()])
    kind, pos, has_gauss, gauss = rng["numpy_meta"]
    np.random.set_state((kind, rng["numpy"].numpy().astype(np.uint32), pos, has_gauss, gauss))
    version, internal, py_gauss = rng["python_meta"]
    random.setstate((version, tuple(internal), py_gauss))


# ---- saving -----------------------------------------------------------------------------------


def _link_or_copy(src: Path, dst: Path) -> None:
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def _snapshot(folder: Path, dest: Path) -> None:
    """Make `dest` hold the checkpoint files of `folder` (hard links: atomic writes leave them intact)."""
    tmp = dest.with_name(dest.name + ".part")
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    for name in CHECKPOINT_FILES:
        if (folder / name).exists():
            _link_or_copy(folder / name, tmp / name)
    old = dest.with_name(dest.name + ".old")
    if dest.exists():
        dest.rename(old)
    tmp.rename(dest)
    if old.exists():
        shutil.rmtree(old)


def save_checkpoint(
    folder: Path,
    model: torch.nn.Module,
    state: TrainState,
    optimizers: dict[str, tuple[torch.optim.Optimizer, list[str]]],
    modules: dict[str, torch.nn.Module] | None = None,
) -> None:
    """Write model + training state atomically. Refuses weights that are not finite."""
    folder = Path(folder)
    modules = modules or {}
    for owner, mod in [("model", model), *modules.items()]:
        for pname, p in mod.state_dict().items():
            if p.is_floating_point() and not torch.isfinite(p).all():
                raise DoppelError(f"refusing to save: {owner} weight {pname} is not finite", folder)
    try:
        _write_checkpoint(folder, model, state, optimizers, modules)
    except OSError as e:  # a full disk or a read-only folder: the last good checkpoint stays loadable
        raise write_error(e, folder, "the checkpoint (training resumes from the last save)") from e


def _write_checkpoint(folder: Path, model, state: TrainState, optimizers, modules: dict) -> None:
    from doppel.models.io import save_model

    folder.mkdir(parents=True, exist_ok=True)
    valid_before = (folder / STATE_JSON).exists() and not (folder / SAVING_MARKER).exists()
    if valid_before:
        _snapshot(folder, folder / LAST_GOOD)
    write_json(folder / SAVING_MARKER, {"iteration": state.iteration, "time": time.time()})

    tensors, rng_meta = _rng_state()
    optim_meta = {}
    for name, (opt, names) in optimizers.items():
        optim_meta[name] = _flatten_optimizer(name, opt.state_dict(), names, tensors)
    for name, mod in modules.items():
        for key, value in mod.state_dict().items():
            tensors[f"module.{name}.{key}"] = value.detach().to("cpu").contiguous()
    with atomic_path(folder / STATE_TENSORS) as tmp:
        save_file(tensors, str(tmp))
    save_model(model, folder)
    write_json(
        folder / STATE_JSON,
        {
            "schema": STATE_SCHEMA,
            "doppel_version": __version__,
            "iteration": state.iteration,
            "salt": state.salt,
            "elapsed_seconds": state.elapsed_seconds,
            "rollbacks": state.rollbacks,
            "extra": state.extra,
            "model_sha256": sha256_file(folder / MODEL_WEIGHTS),
            "tensors_sha256": sha256_file(folder / STATE_TENSORS),
            "optimizers": optim_meta,
            "modules": sorted(modules),
            "rng": rng_meta,
            "saved_at": time.time(),
        },
    )
    (folder / SAVING_MARKER).unlink()


# ---- loading ----------------------------------------------------------------------------------


def check_state_json(meta: Any) -> dict:
    """train_state.json's fields checked (types, ranges, the RNG states' shapes); the one place it is
    trusted. Returns the record with defaults filled in."""
    f = schema.field
    meta = schema.obj(meta, "train_state.json")
    if f(meta, "schema", schema.integer, 0, default=0) > STATE_SCHEMA:
        raise DoppelError("training state is from a newer doppel", hint="Upgrade doppel")
    out = dict(meta)
    out["iteration"] = f(meta, "iteration", schema.integer, 0)
    out["salt"] = f(meta, "salt", schema.integer, 0, 2**63 - 1, default=0)
    out["elapsed_seconds"] = f(meta, "elapsed_seconds", schema.number, 0.0, default=0.0)
    out["rollbacks"] = f(meta, "rollbacks", schema.integer, 0, default=0)
    out["extra"] = dict(f(meta, "extra", schema.obj, default={}))
    for key in ("model_sha256", "tensors_sha256"):
        f(meta, key, schema.sha256)
    out["optimizers"] = {}
    for name, opt in f(meta, "optimizers", schema.obj, default={}).items():
        where = f"optimizers.{name}."
        opt = schema.obj(opt, where[:-1])
        groups = f(opt, "param_groups", schema.items, prefix=where)
        for i, group in enumerate(groups):
            schema.obj(group, f"{where}param_groups[{i}]")
        scalars = f(opt, "scalars", schema.obj, default={}, prefix=where)
        for pname, values in scalars.items():
            for key, value in schema.obj(values, f"{where}scalars.{pname}").items():
                if value is not None and not isinstance(value, (int, float)):
                    raise schema.SchemaError(f"{where}scalars.{pname}.{key}: expected a number, got {type(value).__name__}")
        out["optimizers"][name] = {"param_groups": groups, "scalars": scalars}
    out["modules"] = [schema.text(m, f"modules[{i}]", 256) for i, m in enumerate(f(meta, "modules", schema.items, default=[]))]
    rng = f(meta, "rng", schema.obj)
    numpy_state = f(rng, "numpy", schema.items, prefix="rng.")
    if len(numpy_state) != 4:
        raise schema.SchemaError("rng.numpy: expected [kind, position, has_gauss, gauss]")
    schema.choice(numpy_state[0], "rng.numpy[0]", ("MT19937",))
    numpy_state = [numpy_state[0], schema.integer(numpy_state[1], "rng.numpy[1]", 0, 624),
                   schema.integer(numpy_state[2], "rng.numpy[2]", 0, 1), schema.number(numpy_state[3], "rng.numpy[3]")]
    python_state = f(rng, "python", schema.items, prefix="rng.")
    if len(python_state) != 3:
        raise schema.SchemaError("rng.python: expected [version, state, gauss]")
    internal = schema.array(python_state[1], "rng.python[1]", (625,), bound=2**32)
    if (internal < 0).any() or (internal != np.floor(internal)).any() or internal[-1] > 624:
        raise schema.SchemaError("rng.python[1]: not a Mersenne Twister state")
    python_state = [schema.integer(python_state[0], "rng.python[0]", 3, 3), [int(v) for v in python_state[1]],
                    None if python_state[2] is None else schema.number(python_state[2], "rng.python[2]")]
    out["rng"] = {"numpy": numpy_state, "python": python_state}
    return out


def _rng_tensors_fit(rng: dict) -> bool:
    """The saved torch and NumPy generator states have the types and sizes `restore_rng` sets."""
    torch_state, numpy_keys = rng.get("torch"), rng.get("numpy")
    cuda_ok = all(v.dtype == torch.uint8 and v.ndim == 1 for k, v in rng.items() if k.startswith("cuda."))
    return (torch_state is not None and torch_state.dtype == torch.uint8
            and torch_state.shape == torch.get_rng_state().shape
            and numpy_keys is not None and tuple(numpy_keys.shape) == (624,) and not numpy_keys.is_floating_point()
            and cuda_ok)


def _read_state(folder: Path) -> Loaded:
    """Validate and read one checkpoint folder. Raises DoppelError before returning anything partial."""
    hint = "Restore the folder from backups/ (or last_good/), or start a new model folder"
    model_json = read_model_json(folder)
    path = folder / STATE_JSON
    if not path.exists():
        raise DoppelError("model has no training state (not saved by 'doppel train')", path, hint=hint)
    meta = read_json(path, "training state", hint=hint)
    try:
        meta = check_state_json(meta)
    except DoppelError as e:
        raise schema.damaged("training state", e, path, hint) from None
    for name, key in ((MODEL_WEIGHTS, "model_sha256"), (STATE_TENSORS, "tensors_sha256")):
        file = folder / name
        if not file.exists():
            raise DoppelError("checkpoint file is missing", file, hint=hint)
        if sha256_file(file) != meta.get(key):
            raise DoppelError("checkpoint file does not match its checksum (truncated or modified)", file, hint=hint)
    try:
        tensors = load_file(str(folder / STATE_TENSORS))
    except (SafetensorError, OSError, RuntimeError) as e:
        raise DoppelError(f"training state tensors are unreadable ({e})", folder / STATE_TENSORS, hint=hint) from e
    optimizers = {name: _unflatten_optimizer(name, m, tensors) for name, m in meta["optimizers"].items()}
    modules: dict[str, dict] = {name: {} for name in meta["modules"]}
    for key, value in tensors.items():
        if key.startswith("module.") and "." in key[len("module.") :]:
            name, sub = key[len("module.") :].split(".", 1)
            modules.setdefault(name, {})[sub] = value
    rng = {k[len("rng.") :]: v for k, v in tensors.items() if k.startswith("rng.")}
    if not _rng_tensors_fit(rng):
        raise DoppelError("training state tensors lack the random number states", folder / STATE_TENSORS, hint=hint)
    rng["numpy_meta"] = meta["rng"]["numpy"]
    rng["python_meta"] = meta["rng"]["python"]
    state = TrainState(
        iteration=meta["iteration"],
        salt=meta["salt"],
        elapsed_seconds=meta["elapsed_seconds"],
        rollbacks=meta["rollbacks"],
        extra=meta["extra"],
    )
    return Loaded(folder, model_json, state, optimizers, modules, rng)


def read_checkpoint(folder: Path) -> Loaded:
    """The newest valid checkpoint of `folder`: the main one, or `last_good/` after an interrupted save."""
    folder = Path(folder)
    if (folder / SAVING_MARKER).exists() and (folder / LAST_GOOD / STATE_JSON).exists():
        loaded = _read_state(folder / LAST_GOOD)
        loaded.fell_back = True
        return loaded
    return _read_state(folder)


def load_optimizer(opt: torch.optim.Optimizer, saved: dict, params: list[torch.Tensor], names: list[str], where: Path) -> None:
    """Give `opt` the saved per-weight state (matched by name, shapes checked first). Hyper-parameters
    come from the current options, so a changed lr takes effect on resume."""
    by_name = saved["by_name"]
    state = {}
    for idx, (p, pname) in enumerate(zip(params, names)):
        if pname not in by_name:
            continue
        for key, value in by_name[pname].items():
            if isinstance(value, torch.Tensor) and value.ndim > 0 and tuple(value.shape) != tuple(p.shape):
                raise DoppelError(
                    f"optimizer state {pname}.{key} has shape {tuple(value.shape)}, the weight has {tuple(p.shape)}",
                    where,
                    hint="The checkpoint does not belong to this model; start a new model folder",
                )
        state[idx] = by_name[pname]
    opt.load_state_dict({"state": state, "param_groups": opt.state_dict()["param_groups"]})


def restore_model_weights(loaded: Loaded, model: torch.nn.Module) -> None:
    """Load the validated weights of `loaded` into `model` (built with the same fixed options)."""
    from doppel.models.io import load_model

    source = load_model(loaded.folder, device="cpu")
    own = model.state_dict()
    theirs = source.state_dict()
    missing = sorted(set(own) ^ set(theirs))
    bad = [k for k in own if k in theirs and own[k].shape != theirs[k].shape]
    if missing or bad:
        raise DoppelError(
            f"checkpoint weights do not fit the model ({len(missing)} names, {len(bad)} shapes differ)",
            loaded.folder,
            hint="Start a new model folder for a different architecture",
        )
    model.load_state_dict(theirs)


# ---- backups ----------------------------------------------------------------------------------


def backup(folder: Path, iteration: int, keep: int) -> Path:
    """Copy the current checkpoint into backups/<time>-it<N>/ and keep the newest `keep` backups."""
    folder = Path(folder)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    dest = folder / BACKUPS / f"{stamp}-it{iteration:08d}"
    n = 1
    while dest.exists():  # two backups within a second
        n += 1
        dest = folder / BACKUPS / f"{stamp}-it{iteration:08d}-{n}"
    _snapshot(folder, dest)
    existing = sorted(p for p in (folder / BACKUPS).iterdir() if p.is_dir() and not p.name.endswith((".part", ".old")))
    for old in existing[: max(0, len(existing) - keep)]:
        shutil.rmtree(old)
    return dest
