"""Merge settings: declared once (type, range, choices, help) for the CLI, the studio and JSON files."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

from doppel.core.atomic import write_json
from doppel.core.errors import DoppelError
from doppel.core.options import CheckedOptions, describe_options, option
from doppel.core.schema import read_json

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


@dataclass(frozen=True)
class MergeSettings(CheckedOptions):
    mode: str = option("overlay", "How the predicted face meets the frame.", choices=MODES)
    mask_mode: str = option("dst", "Which mask decides where the face goes.", choices=MASK_MODES)
    erode: int = option(0, "Shrink (>0) or grow (<0) the mask, in percent of the face.", min=-400, max=400)
    blur: int = option(50, "Feather the mask edge: its width in percent of a tenth of the face (50 = 5 % of the face).", min=0, max=400)
    motion_blur: int = option(0, "Blur the face along its motion between neighbouring frames (strength).", min=0, max=100)
    face_scale: int = option(0, "Grow (>0) or shrink (<0) the output face, in percent.", min=-50, max=50)
    color_transfer: str = option("rct", "Recolour the predicted face toward the destination face.", choices=COLOR_TRANSFERS)
    hist_match_threshold: int = option(238, "Hist-match modes: how far highlights are matched (255 = all).", min=0, max=255)
    masked_hist_match: bool = option(True, "Hist-match modes: match inside the mask only.")
    sharpen_mode: str = option("none", "Sharpen kernel for the predicted face.", choices=SHARPEN_MODES)
    sharpen_amount: int = option(0, "Sharpen (>0) or soften (<0) the predicted face.", min=-100, max=100)
    denoise: int = option(0, "Edge-preserving denoise of the predicted face.", min=0, max=500)
    bicubic_degrade: int = option(0, "Lower the predicted face's resolution to match soft footage.", min=0, max=100)
    color_degrade: int = option(0, "Fewer colour levels in the predicted face (banded, compressed look).", min=0, max=100)
    smooth_landmarks: int = option(2, "Temporal smoothing of face positions, in frames each side (0 = off).", min=0, max=15)
    morph: float = option(1.0, "AMP models only: how far toward the source identity (0..1).", min=0.0, max=1.0)

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
        return cls(**values)

    @classmethod
    def load(cls, path: str | Path) -> "MergeSettings":
        path = Path(path)
        data = read_json(path, "merge config", hint="Fix or delete the file")
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
        return replace(self, **given) if given else self


def merge_settings_fields() -> list[dict]:
    """Every setting with its kind, default and limits: what the studio's form is built from."""
    return describe_options(MergeSettings)


def config_path_for(output: str | Path) -> Path:
    """Where the settings of a merge are saved: `<output>.merge.json` beside the output."""
    output = Path(output)
    return output.with_name(output.name + ".merge.json")
