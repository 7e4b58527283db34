"""A model folder: `model.json` (name, options, doppel version, sha256 of the weights) beside
`model.safetensors`. Both are written atomically, weights first, so a crash never leaves a json that
points at half a file. Loading checks size and checksum and refuses anything else."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file

from doppel import __version__
from doppel.core import schema
from doppel.core.atomic import atomic_path, write_json
from doppel.core.errors import DoppelError
from doppel.core.schema import read_json

FORMAT = "doppel-model"
FORMAT_VERSION = 1
MODEL_JSON = "model.json"
WEIGHTS = "model.safetensors"


def sha256_file(path: Path, chunk: int = 1 << 22) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def model_state(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """Contiguous CPU float32 copies of the weights (channels_last or autocast never leak into files)."""
    return {k: v.detach().to("cpu", torch.float32 if v.is_floating_point() else v.dtype).contiguous()
            for k, v in model.state_dict().items()}


def save_model(model, folder: str | Path, extra: dict | None = None) -> Path:
    """Write model.safetensors then model.json into `folder`; returns the json path."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    weights = folder / WEIGHTS
    with atomic_path(weights) as tmp:
        save_file(model_state(model), str(tmp), metadata={"format": FORMAT, "model": model.name})
        _fsync(tmp)
        digest, size = sha256_file(tmp), tmp.stat().st_size
    info = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "name": model.name,
        "options": model.options.to_dict(),
        "doppel_version": __version__,
        "parameters": model.num_parameters(),
        "weights": {"file": WEIGHTS, "sha256": digest, "bytes": size},
    }
    if extra:
        info["extra"] = extra
    write_json(folder / MODEL_JSON, info)
    return folder / MODEL_JSON


def read_model_info(folder: str | Path) -> dict:
    """The checked model.json of a model folder (every field's type), or DoppelError naming the file.
    The one place model.json is read."""
    path = Path(folder) / MODEL_JSON
    if not path.is_file():
        raise DoppelError("no model here (model.json missing)", path=Path(folder),
                          hint="Pass the folder a model was trained into")
    hint = "Restore it from the model's backups/ folder"
    info = read_json(path, "model.json", hint=hint)
    try:
        return check_model_info(info)
    except DoppelError as e:
        raise schema.damaged("model.json", e, path, hint) from None


def check_model_info(info: Any) -> dict:
    """model.json's fields checked: format, name, options (an object; the model's options class checks
    each value when the model is built), weights file, size and checksum."""
    f = schema.field
    info = schema.obj(info, "model.json")
    if info.get("format") != FORMAT:
        raise schema.SchemaError(f"format: not a doppel model.json (expected '{FORMAT}')")
    if f(info, "format_version", schema.integer, 0, default=0) > FORMAT_VERSION:
        raise DoppelError("model made by a newer doppel", hint="Upgrade doppel")
    f(info, "name", schema.text, 256)
    f(info, "options", schema.obj)
    for key, value in info["options"].items():
        if isinstance(value, (dict, list)):
            raise schema.SchemaError(f"options.{key}: expected a plain value, got {'an object' if isinstance(value, dict) else 'a list'}")
    f(info, "doppel_version", schema.text, 64, default=None)
    f(info, "parameters", schema.integer, 0, default=None)
    f(info, "extra", schema.obj, default=None)
    weights = f(info, "weights", schema.obj, default={})
    file = f(weights, "file", schema.text, 255, default=WEIGHTS, prefix="weights.")
    if file != Path(file).name or file in ("", ".", ".."):
        raise schema.SchemaError(f"weights.file: {file[:60]!r} is not a file name in the model folder")
    f(weights, "bytes", schema.integer, 0, default=None, prefix="weights.")
    f(weights, "sha256", schema.sha256, default=None, prefix="weights.")
    return info


def load_model(folder: str | Path, device: str | torch.device | None = None, verify: bool = True):
    """Rebuild the model from model.json and load its checked weights; returned in eval mode."""
    from doppel.models.registry import create_model

    folder = Path(folder)
    info = read_model_info(folder)
    weights = folder / info.get("weights", {}).get("file", WEIGHTS)
    if not weights.is_file():
        raise DoppelError("weights file missing", path=weights, hint="Restore it from the model's backups/ folder")
    expected = info.get("weights", {})
    if verify:
        if "bytes" in expected and weights.stat().st_size != expected["bytes"]:
            raise DoppelError(f"weights are truncated ({weights.stat().st_size} of {expected['bytes']} bytes)",
                              path=weights, hint="Restore it from the model's backups/ folder")
        if "sha256" in expected and sha256_file(weights) != expected["sha256"]:
            raise DoppelError("weights do not match model.json (checksum differs)", path=weights,
                              hint="The file was changed or damaged; restore it from backups/")
    try:
        model = create_model(info["name"], **info["options"])
    except DoppelError as e:
        raise DoppelError(f"cannot rebuild the model: {e.message}", path=folder / MODEL_JSON, hint=e.hint) from e
    try:
        state = load_file(str(weights))
    except Exception as e:  # safetensors raises its own error types for damaged headers
        raise DoppelError(f"weights cannot be read ({e})", path=weights, hint="Restore it from backups/") from e
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as e:
        first = str(e).splitlines()[1:2] or [str(e)]
        raise DoppelError(f"weights do not fit the model ({first[0].strip()})", path=weights) from e
    if device is not None:
        model = model.to(torch.device(device))
    return model.eval()
