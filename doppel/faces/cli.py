"""`doppel extract INPUT OUT [options]`: flags are built from ExtractOptions' declarations."""

from __future__ import annotations

import inspect
import typing
from dataclasses import MISSING, fields
from pathlib import Path

import typer

from doppel.faces.options import ExtractOptions


def _option_parameters() -> list[inspect.Parameter]:
    hints = typing.get_type_hints(ExtractOptions)
    params = []
    for f in fields(ExtractOptions):
        meta = f.metadata
        kind = hints[f.name]
        base = next((a for a in typing.get_args(kind) if a is not type(None)), kind)  # X | None -> X
        help_text = meta["help"] + (f" One of: {', '.join(meta['choices'])}." if "choices" in meta else "")
        flag = "--" + f.name.replace("_", "-")
        decls = [f"{flag}/--no-{f.name.replace('_', '-')}"] if base is bool else [flag]
        if f.name == "debug_dir":
            decls = ["--debug", "--debug-dir"]
        option = typer.Option(f.default if f.default is not MISSING else None, *decls, help=help_text,
                              min=meta.get("min") if base is int else None, max=meta.get("max") if base is int else None)
        params.append(inspect.Parameter(f.name, inspect.Parameter.KEYWORD_ONLY, default=option, annotation=typing.Optional[base] if f.default is None else base))
    return params


def register(app: typer.Typer) -> None:
    def extract_command(**kwargs) -> None:
        from rich.console import Console

        from doppel.faces.extract import extract

        input_path, out = kwargs.pop("input"), kwargs.pop("out")
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
    ]
    extract_command.__signature__ = inspect.Signature(positional + _option_parameters())
    extract_command.__doc__ = (
        "Find faces in INPUT and write aligned faces (JPEG, metadata inside) to OUT. "
        "For videos and image folders OUT/alignments.json lists every frame's faces."
    )
    app.command("extract")(extract_command)
