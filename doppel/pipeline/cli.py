"""`doppel swap SRC DST -o OUT.mp4`: the whole job in one command, resumable."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer


def register(app: typer.Typer) -> None:
    @app.command("swap")
    def swap_command(
        src: Path = typer.Argument(..., help="Source video (the identity to put in) or folder of images."),
        dst: Path = typer.Argument(..., help="Destination video (the footage to change)."),
        out: Path = typer.Option(..., "--out", "-o", help="Output video, e.g. output/swap.mp4."),
        workspace: Path = typer.Option(Path("workspace"), "--workspace", "-w", help="Folder for faces, model and stage markers (a re-run resumes)."),
        minutes: Optional[float] = typer.Option(None, "--minutes", min=0.0, help="Training budget in minutes (default 5 on CPU, 30 on a GPU)."),
        iterations: Optional[int] = typer.Option(None, "--iterations", min=1, help="Train to this iteration instead of a time budget."),
        model_type: Optional[str] = typer.Option(None, "--model-type", help="Model (see 'doppel models'); default chosen for the device."),
        face_size: Optional[int] = typer.Option(None, "--face-size", min=32, help="Side of the aligned faces (default twice the model resolution)."),
        device: Optional[str] = typer.Option(None, "--device", help="auto, cpu, cuda, cuda:N, mps, xpu."),
        codec: str = typer.Option("h264", "--codec", help="Output codec: h264, h265, prores, ffv1, png."),
        crf: int = typer.Option(18, "--crf", min=0, max=51, help="h264/h265 quality (lower is better)."),
    ) -> None:
        """Extract faces from SRC and DST, train a model, merge it into DST: one command, resumable."""
        from rich.console import Console
        from rich.table import Table

        from doppel.pipeline.swap import SwapOptions, summary_rows, swap

        result = swap(src, dst, out, workspace, SwapOptions(minutes=minutes, iterations=iterations, model_type=model_type,
                                                            face_size=face_size, device=device, codec=codec, crf=crf))
        table = Table(title="doppel swap")
        for col in ("stage", "status", "time", "result"):
            table.add_column(col)
        for row in summary_rows(result):
            table.add_row(*row)
        console = Console()
        console.print(table)
        console.print(f"source faces: {result.src_faces}; destination faces: {result.dst_faces} in {result.dst_frames} frames; "
                      f"iterations: {result.iterations}", highlight=False, soft_wrap=True)
        console.print(f"output: {result.output}  workspace: {result.workspace} (model in {result.workspace / 'model'})",
                      highlight=False, soft_wrap=True)
        for w in result.warnings:
            console.print(f"[yellow]warning:[/] {w}", highlight=False, soft_wrap=True)
