"""Model options declared once: type, default, range, help, and whether they are fixed at creation.

Each field's `metadata` carries `help`, `group`, and optionally `choices`, `min`, `max`, `multiple_of`
and `fixed` (cannot change when a model is resumed). The training CLI builds its flags and the studio
its forms from this metadata (with `doppel.core.options`), so nothing about an option is written twice.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from doppel.core.options import check_options, option


def opt(default: Any, help: str, *, group: str = "training", fixed: bool = False, **limits: Any) -> Any:
    """A model option: `option()` plus the form group it sits in and whether it is fixed at creation
    (both always recorded: the studio's forms read them for every model option)."""
    return option(default, help, group=group, fixed=fixed, **limits)


@dataclass(frozen=True)
class Options:
    """Base of every model's options: coerces plain types and checks ranges on creation."""

    def __post_init__(self) -> None:
        self.normalize()
        check_options(self)
        self.validate()

    def normalize(self) -> None:
        """Model-specific spelling fixes before the range checks (e.g. 'whole-face' -> 'wf')."""

    def validate(self) -> None:
        """Model-specific checks after the range checks; raise DoppelError."""

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def fixed_fields(cls) -> tuple[str, ...]:
        return tuple(f.name for f in dataclasses.fields(cls) if f.metadata.get("fixed"))
