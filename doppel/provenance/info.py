"""What a rendered output says about itself: synthetic, made with doppel, which model, when."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone

from doppel import __version__

MARKER = "doppel-provenance"  # key of the JSON record in containers and images


def _now() -> str:
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


@dataclass(frozen=True)
class ProvenanceInfo:
    """Provenance of a rendered output. Pass `provenance=False` to writers to turn it off."""

    model_id: str | None = None  # e.g. "saehd:3f2a91c0" (model name and weights hash prefix)
    source: str | None = None  # file name of the destination footage
    note: str | None = None
    created: str = field(default_factory=_now)  # ISO 8601, UTC
    tool: str = "doppel"
    version: str = __version__
    synthetic: bool = True
    watermark: bool = True  # embed the invisible mark in every frame

    def label(self) -> str:
        """One human-readable line for `description`-style fields."""
        text = f"synthetic: made with {self.tool} {self.version}"
        return text + (f" (model {self.model_id})" if self.model_id else "")

    def to_dict(self) -> dict:
        return {"marker": MARKER, **asdict(self)}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), separators=(",", ":"), sort_keys=True)

    @classmethod
    def from_dict(cls, d: dict) -> "ProvenanceInfo":
        known = {k: d[k] for k in cls.__dataclass_fields__ if k in d}
        return cls(**known)


def parse_record(text: str | bytes | None) -> dict | None:
    """The provenance JSON record inside `text`, or None when there is none."""
    if not text:
        return None
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    start = text.find("{")
    if start < 0:
        return None
    try:
        record = json.loads(text[start:])
    except json.JSONDecodeError:
        return None
    return record if isinstance(record, dict) and record.get("marker") == MARKER else None


def resolve(provenance: "ProvenanceInfo | bool | None") -> "ProvenanceInfo | None":
    """Writers' rule: None or True means the default record, False means off."""
    if provenance is False:
        return None
    if provenance is None or provenance is True:
        return ProvenanceInfo()
    if isinstance(provenance, ProvenanceInfo):
        return provenance
    raise TypeError("provenance must be a ProvenanceInfo, None, True or False")
