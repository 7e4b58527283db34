"""`doppel studio WORKSPACE [--host 127.0.0.1] [--port 8765]`."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer


def register(app: typer.Typer) -> None:
    @app.command("studio")
    def studio(
        workspace: Path = typer.Argument(..., help="Workspace folder (see 'doppel workspace init')."),
        host: str = typer.Option("127.0.0.1", help="Address to listen on. Anything but localhost requires the printed token."),
        port: int = typer.Option(8765, min=0, max=65535, help="Port to listen on (0 = any free port)."),
        token: Optional[str] = typer.Option(None, help="Token to require (default: a random one when not on localhost)."),
        verbose: bool = typer.Option(False, help="Log every request."),
    ) -> None:
        """Open the browser studio on a workspace: training monitor, faceset browser, XSeg editor, interactive merger and manual fix.

        Works over SSH: forward the port and open the printed URL.
        """
        from doppel.studio.server import serve

        serve(workspace, host, port, token, verbose)
