"""`doppel doctor` and `doppel bench`: parse flags, call the library, print."""

from __future__ import annotations

from pathlib import Path

import typer

from doppel.core.options import options_command
from doppel.doctor.options import DoctorOptions


def register(app: typer.Typer) -> None:
    @app.command("doctor")
    @options_command(DoctorOptions, flags={"batch": ("--batch-size", "--batch")})
    def doctor_command(
        options: DoctorOptions = DoctorOptions(),
        workspace: Path = typer.Option(Path("."), "--workspace", help="Where the workspace will live (for the free-disk check)."),
        json_out: Path | None = typer.Option(None, "--json", help="Also write the report as JSON to this file."),
    ) -> None:
        """Detect CPUs, RAM, disk and GPUs; find the largest config that trains here by trying it; estimate time, cost and disk."""
        from rich.console import Console

        from doppel.core.atomic import write_json
        from doppel.doctor.doctor import run_doctor

        report = run_doctor(options, workspace, progress=True)
        console = Console()
        for line in report.lines():
            console.print(line.replace("warning:", "[yellow]warning:[/]", 1), highlight=False, soft_wrap=True)
        if json_out:
            write_json(json_out, report.to_dict())

    @app.command("bench")
    def bench_command(
        quick: bool = typer.Option(False, "--quick", help="Short runs (about a minute or two on 2 CPU cores)."),
        only: list[str] = typer.Option([], "--only", help="Run only these benchmarks (extract, train, merge); repeatable."),
        json_out: Path | None = typer.Option(None, "--json", help="Write the results as JSON (for tracking over time)."),
        folder: Path | None = typer.Option(None, "--benchmarks", help="Folder of benchmark scripts (default: the repo's benchmarks/)."),
        reference_s_per_it: list[str] = typer.Option([], "--reference-s-per-it", help="DeepFaceLab s/iteration of a training config measured on THIS machine, as CONFIG=S (e.g. a=0.55); repeatable. Without it no DFL comparison is printed."),
        reference: Path | None = typer.Option(None, "--reference", help='JSON file of DeepFaceLab s/iteration measured on this machine: {"a": 0.55, "b": 3.4}.'),
    ) -> None:
        """Run the extraction, training and merge benchmarks; one table of figures against their limits."""
        from rich.console import Console

        from doppel.core.atomic import write_json
        from doppel.core.errors import DoppelError
        from doppel.doctor.bench import BENCHMARKS, DEFAULT_DIR, read_references, run_bench, table

        unknown = sorted(set(only) - set(BENCHMARKS))
        if unknown:
            raise DoppelError(f"unknown benchmark {', '.join(unknown)}", hint=f"Use {', '.join(BENCHMARKS)}")
        references = read_references(reference_s_per_it, reference)
        result = run_bench(quick, tuple(only) or BENCHMARKS, folder or DEFAULT_DIR, references)
        Console(width=160).print(table(result))
        if json_out:
            write_json(json_out, result)

