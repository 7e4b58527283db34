"""`doppel merge`: flags for the merge settings are built from MergeSettings' declarations."""

from __future__ import annotations

import inspect
import typing
from pathlib import Path

import typer

from doppel.core.options import cli_parameters, take_options
from doppel.merge.output import OutputOptions
from doppel.merge.settings import MergeSettings


def _command_parameters() -> list[inspect.Parameter]:
    P = inspect.Parameter

    def kw(name, annotation, option):
        return P(name, P.KEYWORD_ONLY, default=option, annotation=annotation)

    return [
        kw("model_dir", Path, typer.Option(..., "--model", "-m", help="Trained model folder (model.json + model.safetensors).")),
        kw("dst", Path, typer.Option(..., "--dst", "-d", help="Destination video or frames folder.")),
        kw("out", typing.Optional[Path], typer.Option(None, "--out", "-o", help="Output video (.mp4/.mov/.mkv) or a folder for a PNG sequence.")),
        kw("aligned", typing.Optional[Path], typer.Option(None, "--aligned", help="The destination's aligned faces (with alignments.json) (default: the aligned folder beside DST).")),
        kw("config", typing.Optional[Path], typer.Option(None, "--config", help="Merge settings JSON (e.g. a previous OUT.merge.json); flags override it.")),
        kw("frame", typing.Optional[int], typer.Option(None, "--frame", help="With --preview: the frame index to render.")),
        kw("preview_png", typing.Optional[Path], typer.Option(None, "--preview", help="Render only --frame N to this PNG (fast tuning).")),
        kw("device", typing.Optional[str], typer.Option(None, "--device", help="auto, cpu, cuda, cuda:N, mps, xpu.")),
        kw("batch_size", typing.Optional[int], typer.Option(None, "--batch-size", min=1, help="Faces per batch (default: 32 at 64 px, 16 at 128 px, 8 above); on the CPU a batch is split into 4 model calls, 2 per forward worker.")),
        kw("xseg_model", typing.Optional[Path], typer.Option(None, "--xseg-model", help="XSeg model folder, for the xseg-prd mask modes.")),
    ]


def merge_command(**kwargs) -> None:
    from rich.console import Console

    from doppel.core.errors import DoppelError
    from doppel.merge.merger import merge, preview
    from doppel.merge.settings import config_path_for

    overrides = take_options(MergeSettings, kwargs)
    config = kwargs.pop("config")
    settings = (MergeSettings.load(config) if config else MergeSettings()).with_overrides(**overrides)
    out, frame, preview_png = kwargs["out"], kwargs["frame"], kwargs["preview_png"]
    console = Console()
    if preview_png is not None or frame is not None:
        if preview_png is None or frame is None:
            raise DoppelError("--frame and --preview go together", hint="e.g. --frame 120 --preview look.png")
        cfg = config_path_for(out) if out is not None else config_path_for(preview_png)
        preview(kwargs["model_dir"], kwargs["dst"], frame, preview_png, settings, kwargs["aligned"], kwargs["device"],
                kwargs["xseg_model"], save_config=cfg)
        console.print(f"frame {frame} -> {preview_png}; settings saved to {cfg}", highlight=False, soft_wrap=True)
        return
    if out is None:
        raise DoppelError("no output given", hint="Pass -o OUT.mp4 (or a folder for PNG frames)")
    options = OutputOptions(**take_options(OutputOptions, kwargs))
    result = merge(kwargs["model_dir"], kwargs["dst"], out, settings, kwargs["aligned"], options, kwargs["device"],
                   kwargs["batch_size"], kwargs["xseg_model"], progress=True)
    line = (f"{result.frames} frames ({result.frames_with_faces} with faces) merged into {result.output} "
            f"at {result.fps:.1f} frames/s; settings: {result.config}")
    if result.skipped:
        line += f"; {result.skipped} frames were already done"
    console.print(line, highlight=False, soft_wrap=True)


def register(app: typer.Typer) -> None:
    def command(**kwargs) -> None:
        merge_command(**kwargs)

    command.__signature__ = inspect.Signature(
        _command_parameters() + cli_parameters(OutputOptions, panel="Output")
        + cli_parameters(MergeSettings, all_optional=True, panel="Merge settings"))
    command.__doc__ = (
        "Merge a trained model's faces into the destination video. Frames without a face pass through; "
        "settings are saved as OUT.merge.json and load back with --config."
    )
    app.command("merge")(command)
