"""`doppel xseg train | apply | remove | label`: learned masks without the studio."""

from __future__ import annotations

import inspect
from pathlib import Path

import typer

from doppel.core.options import cli_parameters, take_options


def register(app: typer.Typer) -> None:
    from doppel.masks.xseg_options import XSegConfig, XSegTrainOptions

    xseg_app = typer.Typer(help="XSeg: train a face segmenter on labelled faces, apply its masks.", no_args_is_help=True)

    def train(**kwargs) -> None:
        """Train or resume an XSeg model on every face that has XSeg polygons."""
        from doppel.masks.xseg import train_xseg

        faces, model = kwargs.pop("faces"), kwargs.pop("model")
        opts = XSegTrainOptions(**take_options(XSegTrainOptions, kwargs))
        r = train_xseg(faces, model, opts, XSegConfig(**take_options(XSegConfig, kwargs)))
        state = "stopped on request" if r.stopped else "done"
        typer.echo(f"xseg {state}: {r.iteration} iterations on {r.labelled_faces} labelled faces, loss {r.loss:.4f} -> {model}")

    P = inspect.Parameter
    train.__signature__ = inspect.Signature([
        P("faces", P.POSITIONAL_OR_KEYWORD, annotation=list[Path],
          default=typer.Argument(..., help="Aligned face folders with labelled faces (source and destination).")),
        P("model", P.KEYWORD_ONLY, annotation=Path,
          default=typer.Option(..., "--model", "-m", help="XSeg model folder (created, or resumed).")),
        *cli_parameters(XSegTrainOptions),
        *cli_parameters(XSegConfig),
    ])
    xseg_app.command("train")(train)

    @xseg_app.command("apply")
    def apply(
        faces: Path = typer.Argument(..., help="Aligned face folder."),
        model: Path = typer.Option(..., "--model", "-m", help="Trained XSeg model folder."),
        device: str = typer.Option("auto", help="auto, cpu, cuda, cuda:N, xpu or mps"),
        force: bool = typer.Option(False, help="Redo faces that already carry this model's mask."),
    ) -> None:
        """Store the model's mask in every face's metadata (training and xseg-* merge modes use it)."""
        from doppel.masks.xseg import apply_xseg

        r = apply_xseg(model, faces, device=device, force=force)
        typer.echo(f"xseg masks applied to {r.applied} faces ({r.skipped} skipped) in {faces}")

    @xseg_app.command("remove")
    def remove(
        faces: Path = typer.Argument(..., help="Aligned face folder."),
        labels: bool = typer.Option(False, "--labels", help="Also remove the hand-drawn polygons (backed up in _trash/)."),
    ) -> None:
        """Remove learned XSeg masks from every face (faces fall back to labels or the landmark hull)."""
        from doppel.masks.xseg import remove_xseg

        n = remove_xseg(faces, labels=labels)
        typer.echo(f"xseg {'masks and labels' if labels else 'masks'} removed from {n} faces in {faces}")

    @xseg_app.command("label")
    def label(
        faces: Path = typer.Argument(..., help="Aligned face folder."),
        forehead: float = typer.Option(0.3, help="Lift the middle of the brow line toward the hairline by this share of the chin-to-nose-bridge height."),
        overwrite: bool = typer.Option(False, help="Replace existing labels (otherwise labelled faces are kept)."),
        every: int = typer.Option(1, min=1, help="Label every Nth face only."),
    ) -> None:
        """Starter labels from the landmark hull, to correct in the studio rather than draw from scratch."""
        from doppel.masks.xseg import hull_labels

        n = hull_labels(faces, forehead=forehead, overwrite=overwrite, every=every)
        typer.echo(f"labelled {n} faces in {faces} from their landmark hull")

    app.add_typer(xseg_app, name="xseg")
