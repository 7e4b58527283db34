"""Merge settings: declared once (type, range, choices, help) for the CLI, the studio and JSON files."""

from __future__ import annotations

import json
from dataclasses import MISSING, Field, asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from doppel.core.atomic import write_json
from doppel.core.errors import DoppelError

MODES = ("original", "overlay", "hist-match", "seamless", "seamless-hist-match", "raw-rgb", "raw-predict")
MASK_MODES = (
    "full",
    "dst",
    "learned-prd",
    "learned-dst",
    "learned-prd*learned-dst",
    "learned-prd+learned-dst",
    "xseg-prd",
    "xseg-dst",
    "xseg-prd*xseg-dst",
    "learned-prd*learned-dst*xseg-prd*xseg-dst",
)
COLOR_TRANSFERS = ("none", "rct", "lct", "mkl", "mkl-m", "idt", "idt-m", "sot-m", "mix-m")
SHARPEN_MODES = ("none", "box", "gaussian")


def _opt(default: Any, help: str, *, min: float | None = None, max: float | None = None, choices: tuple | None = None) -> Field:
    meta = {"help": help, "min": min, "max": max, "choices": choices}
    return field(default=default, metadata={k: v for k, v in meta.items() if v is not None})


@dataclass(frozen=True)
class MergeSettings:
    mode: str = _opt("overlay", "How the predicted face meets the frame.", choices=MODES)
    mask_mode: str = _opt("dst", "Which mask decides where the face goes.", choices=MASK_MODES)
    erode: int = _opt(0, "Shrink (>0) or grow (<0) the mask, in percent of the face.", min=-400, max=400)
    blur: int = _opt(10, "Feather the mask edge, in percent of the face.", min=0, max=400)
    motion_blur: int = _opt(0, "Blur the face along its motion between neighbouring frames (strength).", min=0, max=100)
    face_scale: int = _opt(0, "Grow (>0) or shrink (<0) the output face, in percent.", min=-50, max=50)
    color_transfer: str = _opt("rct", "Recolour the predicted face toward the destination face.", choices=COLOR_TRANSFERS)
    hist_match_threshold: int = _opt(238, "Hist-match modes: how far highlights are matched (255 = all).", min=0, max=255)
    masked_hist_match: bool = _opt(True, "Hist-match modes: match inside the mask only.")
    sharpen_mode: str = _opt("none", "Sharpen kernel for the predicted face.", choices=SHARPEN_MODES)
    sharpen_amount: int = _opt(0, "Sharpen (>0) or soften (<0) the predicted face.", min=-100, max=100)
    denoise: int = _opt(0, "Edge-preserving denoise of the predicted face.", min=0, max=500)
    bicubic_degrade: int = _opt(0, "Lower the predicted face's resolution to match soft footage.", min=0, max=100)
    color_degrade: int = _opt(0, "Fewer colour levels in the predicted face (banded, compressed look).", min=0, max=100)
    smooth_landmarks: int = _opt(2, "Temporal smoothing of face positions, in frames each side (0 = off).", min=0, max=15)
    morph: float = _opt(1.0, "AMP models only: how far toward the source identity (0..1).", min=0.0, max=1.0)

    def validate(self) -> "MergeSettings":
        for f in fields(self):
            value = getattr(self, f.name)
            meta = f.metadata
            flag = "--" + f.name.replace("_", "-")
            if "choices" in meta and value not in meta["choices"]:
                raise DoppelError(f"{flag} '{value}' is not one of {', '.join(meta['choices'])}")
            if "min" in meta and not (meta["min"] <= value <= meta["max"]):
                raise DoppelError(f"{flag} {value} is outside {meta['min']}..{meta['max']}")
        return self

    def to_dict(self) -> dict:
        return asdict(self)

    def save(self, path: str | Path) -> None:
        write_json(path, {"kind": "doppel-merge-settings", "version": 1, "settings": self.to_dict()})

    @classmethod
    def from_dict(cls, values: dict) -> "MergeSettings":
        known = {f.name: f for f in fields(cls)}
        unknown = sorted(set(values) - set(known))
        if unknown:
            raise DoppelError(f"unknown merge settings: {', '.join(unknown)}", hint=f"Known: {', '.join(known)}")
        coerced = {k: _coerce(known[k], v) for k, v in values.items()}
        return cls(**coerced).validate()

    @classmethod
    def load(cls, path: str | Path) -> "MergeSettings":
        path = Path(path)
        try:
            data = json.loads(path.read_text())
        except FileNotFoundError as e:
            raise DoppelError("merge config not found", path) from e
        except (OSError, ValueError) as e:
            raise DoppelError(f"merge config is not valid JSON ({e})", path, hint="Fix or delete the file") from e
        values = data.get("settings", data) if isinstance(data, dict) else None
        if not isinstance(values, dict):
            raise DoppelError("merge config must be a JSON object", path)
        try:
            return cls.from_dict(values)
        except DoppelError as e:
            raise DoppelError(e.message, path, hint=e.hint) from e

    def with_overrides(self, **overrides: Any) -> "MergeSettings":
        """Apply the values that are not None (CLI flags the user actually gave)."""
        given = {k: v for k, v in overrides.items() if v is not None}
        return replace(self, **given).validate() if given else self


def _coerce(f: Field, value: Any) -> Any:
    default = f.default if f.default is not MISSING else None
    try:
        if isinstance(default, bool):
            if isinstance(value, str):
                return value.strip().lower() in ("1", "true", "yes", "on")
            return bool(value)
        if isinstance(default, int):
            return int(value)
        if isinstance(default, float):
            return float(value)
    except (TypeError, ValueError) as e:
        raise DoppelError(f"merge setting {f.name}={value!r} is not a {type(default).__name__}") from e
    return value


def merge_settings_fields() -> list[dict]:
    """Every setting with its type, default and metadata: what a form or a CLI is built from."""
    out = []
    for f in fields(MergeSettings):
        out.append({"name": f.name, "type": type(f.default).__name__, "default": f.default, **f.metadata})
    return out


def config_path_for(output: str | Path) -> Path:
    """Where the settings of a merge are saved: `<output>.merge.json` beside the output."""
    output = Path(output)
    return output.with_name(output.name + ".merge.json")
