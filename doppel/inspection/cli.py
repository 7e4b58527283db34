"""`doppel inspect FILE`: provenance tag and watermark detection of a video or image."""

from __future__ import annotations

import json
from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    @app.command("inspect")
    def inspect_cmd(
        file: Path = typer.Argument(..., help="Video, image, or folder of frames to check."),
        frames: int = typer.Option(60, "--frames", min=1, help="Video frames to check, spread over the file."),
        as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    ) -> None:
        """Report the synthetic-content tag and the invisible watermark (per-frame detection rate for videos)."""
        from doppel.inspection.report import inspect

        report = inspect(file, max_frames=frames)
        if as_json:
            typer.echo(json.dumps(report.to_dict(), indent=2))
        else:
            typer.echo("\n".join(report.lines()))
