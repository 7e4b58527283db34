"""`doppel workspace init`."""

from __future__ import annotations

from pathlib import Path

import typer

from doppel.core.workspace import workspace


def register(app: typer.Typer) -> None:
    ws_app = typer.Typer(help="Workspace folders laid out like DeepFaceLab's.", no_args_is_help=True)

    @ws_app.command("init")
    def init(root: Path = typer.Argument(..., help="Folder to create the workspace in.")) -> None:
        """Create data_src/, data_dst/, model/ and output/ under ROOT."""
        ws = workspace(root).create()
        typer.echo(f"workspace ready: {ws.root}")

    app.add_typer(ws_app, name="workspace")
