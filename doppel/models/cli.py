"""`doppel models` (list models and presets, or one model's options) and `doppel export`."""

from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    @app.command("models")
    def models(name: str = typer.Argument(None, help="Show the options of this model or preset.")) -> None:
        """List the model types and presets, or the options of one."""
        from rich.console import Console
        from rich.table import Table

        from doppel.core.options import describe_options
        from doppel.models.registry import available_models, get_entry

        console = Console()
        if name is None:
            table = Table("model", "based on", "what it is")
            for n in available_models():
                e = get_entry(n)
                table.add_row(n, e.base or "", e.help)
            console.print(table)
            return
        entry = get_entry(name)
        table = Table("option", "default", "range / choices", "fixed", "help", title=f"{entry.name} options")
        for row in describe_options(entry.options_type):
            rng = ", ".join(map(str, row["choices"])) if "choices" in row else (
                f"{row.get('min', '')}..{row.get('max', '')}" if "min" in row or "max" in row else "")
            fixed = "locked" if row["name"] in entry.locked else ("yes" if row.get("fixed") else "")
            table.add_row(row["name"], str(row["default"]), rng, fixed, row["help"])
        console.print(table)

    @app.command("export")
    def export(
        model_dir: Path = typer.Argument(..., help="A trained model folder (model.json + model.safetensors)."),
        onnx: Path = typer.Option(..., "--onnx", help="Write the swap path (dst face in, src face and mask out) here."),
        morph: float = typer.Option(None, "--morph", help="amp models: the morph factor to bake in (0..1)."),
    ) -> None:
        """Export a model's swap path to ONNX."""
        from doppel.models.export import export_onnx
        from doppel.models.io import load_model

        model = load_model(model_dir)
        out = export_onnx(model, onnx, morph=morph)
        typer.echo(f"wrote {out} ({model.name}, {model.resolution} px, {model.face_type.value})")
