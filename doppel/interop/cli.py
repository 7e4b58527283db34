"""`doppel import-dfl DIR OUT` and `doppel export-dfl DIR OUT` (top level: curate owns `faceset`)."""

from __future__ import annotations

from pathlib import Path

import typer

from doppel.core.errors import DoppelError


def _report(result, out: Path, src: Path, verb: str) -> None:
    """One line per skipped file (stderr), a summary, and exit code 2 naming the first skipped file."""
    for name, reason in result.refused:
        typer.echo(f"skipped {src / name}: {reason}", err=True)
    skipped = f", skipped {len(result.refused)}" if result.refused else ""
    typer.echo(f"{verb} {result.converted} faces into {out}" + (f" ({result.kept} already there)" if result.kept else "") + skipped)
    if result.refused:
        name, reason = result.refused[0]
        raise DoppelError(f"{len(result.refused)} file(s) skipped, first: {reason}", src / name,
                          hint="The other faces were converted; the skipped files were left untouched")


def register(app: typer.Typer) -> None:
    @app.command("import-dfl")
    def import_dfl_cmd(
        src: Path = typer.Argument(..., help="Folder of DeepFaceLab aligned faces (JPEG or PNG)."),
        out: Path = typer.Argument(..., help="Folder for the doppel faces (created)."),
    ) -> None:
        """Convert a DeepFaceLab faceset to doppel faces (pickled metadata read safely, images kept as they are)."""
        from doppel.interop.faceset import import_dfl

        _report(import_dfl(src, out), out, src, "imported")

    @app.command("export-dfl")
    def export_dfl_cmd(
        src: Path = typer.Argument(..., help="Folder of doppel faces."),
        out: Path = typer.Argument(..., help="Folder for DeepFaceLab faces (created)."),
    ) -> None:
        """Write doppel faces with DeepFaceLab's metadata added, for use in DFL."""
        from doppel.interop.faceset import export_dfl

        _report(export_dfl(src, out), out, src, "exported")

    @app.command("export-dfm")
    def export_dfm_cmd(
        model_dir: Path = typer.Argument(..., help="Trained model folder (model.json + model.safetensors)."),
        out: Path = typer.Argument(..., help="Output file ending in .dfm."),
        morph: float = typer.Option(None, "--morph", min=0.0, max=1.0, help="AMP morph factor, fixed in the file."),
    ) -> None:
        """Export a trained model for DeepFaceLive (.dfm: ONNX with DeepFaceLab's input and output names)."""
        from doppel.interop.dfm import export_dfm_folder

        typer.echo(f"wrote {export_dfm_folder(model_dir, out, morph=morph)}")

    @app.command("import-faceswap")
    def import_faceswap_cmd(
        src: Path = typer.Argument(..., help="Folder of Faceswap PNG faces."),
        out: Path = typer.Argument(..., help="Folder for the doppel faces (created)."),
        frames: Path = typer.Option(..., "--frames", help="The source video, or the folder of its frames."),
        face_type: str = typer.Option("whole-face", "--face-type", help="Face type of the new crops."),
        size: int = typer.Option(512, "--size", min=32, max=4096, help="Side of the new crops, pixels."),
    ) -> None:
        """Convert Faceswap PNG faces (header read without pickle), re-cut from the original frames."""
        from doppel.interop.faceswap import import_faceswap

        _report(import_faceswap(src, out, frames, face_type=face_type, size=size), out, src, "imported")
