"""`doppel swap SRC DST -o OUT.mp4`: the whole job in one command, resumable."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from doppel.core.options import field_option
from doppel.pipeline.swap import SwapOptions


def register(app: typer.Typer) -> None:
    @app.command("swap")
    def swap_command(
        src: Path = typer.Argument(..., help="Source video (the identity to put in) or folder of images."),
        dst: Path = typer.Argument(..., help="Destination video (the footage to change)."),
        out: Path = typer.Option(..., "--out", "-o", help="Output video, e.g. output/swap.mp4."),
        workspace: Path = typer.Option(Path("workspace"), "--workspace", "-w", help="Folder for faces, model and stage markers (a re-run resumes)."),
        minutes: Optional[float] = field_option(SwapOptions, "minutes"),
        iterations: Optional[int] = field_option(SwapOptions, "iterations"),
        model_type: Optional[str] = field_option(SwapOptions, "model_type"),
        face_size: Optional[int] = field_option(SwapOptions, "face_size"),
        device: Optional[str] = field_option(SwapOptions, "device"),
        codec: str = field_option(SwapOptions, "codec"),
        crf: int = field_option(SwapOptions, "crf"),
        strip: Optional[str] = field_option(SwapOptions, "strip"),
        pretrained: Optional[str] = field_option(SwapOptions, "pretrained"),
    ) -> None:
        """Extract faces from SRC and DST, train a model, merge it into DST: one command, resumable."""
        from rich.console import Console
        from rich.table import Table

        from doppel.pipeline.swap import summary_rows, swap

        result = swap(src, dst, out, workspace, SwapOptions(minutes=minutes, iterations=iterations, model_type=model_type,
                                                            face_size=face_size, device=device, codec=codec, crf=crf,
                                                            strip=strip, pretrained=pretrained))
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
