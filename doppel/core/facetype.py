"""Face types: how much of the head an aligned face image covers.

The aligner maps a mean face (68-point layout, eyebrows to chin) into a square and then pads it.
`padding` is the share of the square added on each side around the mean face; `shift_up` moves the
crop toward the forehead (as a share of the square) so that whole-face and head keep the hairline.
Values follow what DeepFaceLab users know, so facesets look the same size as theirs.
"""

from __future__ import annotations

from enum import Enum

from doppel.core.errors import DoppelError


class FaceType(str, Enum):
    HALF = "half"
    MID_FULL = "mid-full"
    FULL = "full"
    WHOLE_FACE = "whole-face"
    HEAD = "head"

    @property
    def padding(self) -> float:
        return _PADDING[self]

    @property
    def shift_up(self) -> float:
        return _SHIFT_UP[self]

    @property
    def short(self) -> str:
        return _SHORT[self]

    @classmethod
    def parse(cls, name: "str | FaceType") -> "FaceType":
        if isinstance(name, FaceType):
            return name
        key = str(name).strip().lower().replace("_", "-")
        for ft in cls:
            if key in (ft.value, ft.short, ft.value.replace("-", "")):
                return ft
        choices = ", ".join(f"{ft.value} ({ft.short})" for ft in cls)
        raise DoppelError(f"unknown face type '{name}'", hint=f"Use one of: {choices}")


_PADDING = {
    FaceType.HALF: 0.0,
    FaceType.MID_FULL: 0.0675,
    FaceType.FULL: 0.2109375,
    FaceType.WHOLE_FACE: 0.40,
    FaceType.HEAD: 0.70,
}
_SHIFT_UP = {
    FaceType.HALF: 0.0,
    FaceType.MID_FULL: 0.0,
    FaceType.FULL: 0.0,
    FaceType.WHOLE_FACE: 0.07,
    FaceType.HEAD: 0.10,
}
_SHORT = {
    FaceType.HALF: "h",
    FaceType.MID_FULL: "mf",
    FaceType.FULL: "f",
    FaceType.WHOLE_FACE: "wf",
    FaceType.HEAD: "head",
}
