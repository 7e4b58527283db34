"""`doppel inspect`: what a file says about its origin, and whether its pixels carry doppel's mark
(doppel.provenance writes the mark; this package reads media back to check it)."""

from doppel.inspection.report import InspectReport, inspect

__all__ = ["InspectReport", "inspect"]
