"""`doppel extract INPUT OUT [options]`: flags are built from ExtractOptions' declarations."""

from __future__ import annotations

import inspect
from pathlib import Path

import typer

from doppel.core.options import cli_parameters
from doppel.faces.options import ExtractOptions


def register(app: typer.Typer) -> None:
    def extract_command(**kwargs) -> None:
        from rich.console import Console

        from doppel.faces.extract import extract
        from doppel.faces.same_source import start_afresh

        input_path, out = kwargs.pop("input"), kwargs.pop("out")
        if kwargs.pop("new"):
            moved = start_afresh(out, input_path)
            if moved:
                Console().print(f"moved {moved} files of the earlier extraction into {out / '_trash'} "
                                f"('doppel trash restore {out}' brings them back)", highlight=False, soft_wrap=True)
        if kwargs.get("debug_dir") is not None:
            kwargs["debug_dir"] = str(kwargs["debug_dir"])
        result = extract(input_path, out, ExtractOptions(**kwargs), progress=True)
        line = (f"{result.faces_written} faces written to {result.out_dir} from {result.frames_seen} frames "
                f"({result.frames_without_face} without a face")
        line += f", {result.frames_resumed} done by an earlier run)" if result.frames_resumed else ")"
        if result.alignments_path:
            line += f"; index: {result.alignments_path}"
        Console().print(line, highlight=False, soft_wrap=True)

    positional = [
        inspect.Parameter("input", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=Path,
                          default=typer.Argument(..., metavar="INPUT", help="A video, a folder of images, or one image.")),
        inspect.Parameter("out", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=Path,
                          default=typer.Argument(..., metavar="OUT", help="Folder for the aligned faces (created; a re-run resumes).")),
        inspect.Parameter("new", inspect.Parameter.KEYWORD_ONLY, annotation=bool,
                          default=typer.Option(False, "--new", help="OUT holds another input's faces: move them and the index into OUT/_trash first.")),
    ]
    flags = cli_parameters(ExtractOptions, flags={"debug_dir": ("--debug", "--debug-dir")})
    extract_command.__signature__ = inspect.Signature(positional + flags)
    extract_command.__doc__ = (
        "Find faces in INPUT and write aligned faces (JPEG, metadata inside) to OUT. "
        "For videos and image folders OUT/alignments.json lists every frame's faces."
    )
    app.command("extract")(extract_command)
