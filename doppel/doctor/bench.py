"""`bench`: run the extraction, training and merge benchmarks from `benchmarks/` and gather one table.

Each benchmark file exposes `run(quick: bool) -> list[dict]`, one dict per row. Rows are read
tolerantly; the keys used are `name`, `value`, `unit`, `reference` (what the value is measured
against: decode-only speed, peak FLOP/s, a reference config...), `reference_value` and `ratio`
(value / reference_value, computed here when missing). A benchmark that is missing or fails
becomes a row that says so, never a made-up number. A file with no `run` but a command line is run
as a script (with --quick in quick mode, when it takes it) and its printed lines become rows.
"""

from __future__ import annotations

import importlib.util
import time
import traceback
from dataclasses import asdict, dataclass
from pathlib import Path

BENCHMARKS = ("extract", "train", "merge")
SCRIPT_TIMEOUT = 600.0  # seconds for a script-style benchmark
DEFAULT_DIR = Path(__file__).resolve().parents[2] / "benchmarks"


@dataclass(frozen=True)
class BenchRow:
    benchmark: str
    name: str
    value: float | None = None
    unit: str = ""
    reference: str = ""
    reference_value: float | None = None
    ratio: float | None = None
    status: str = "ok"  # ok, text (a script's printed line), missing, error

    def to_dict(self) -> dict:
        return asdict(self)


def _number(v) -> float | None:
    try:
        return None if v is None else float(v)
    except (TypeError, ValueError):
        return None


def normalise_row(benchmark: str, row: dict) -> BenchRow:
    value = _number(row.get("value"))
    ref_value = _number(row.get("reference_value", row.get("limit_value", row.get("limit"))))
    ratio = _number(row.get("ratio"))
    if ratio is None and value is not None and ref_value:
        ratio = value / ref_value
    reference = row.get("reference", row.get("limit", ""))
    return BenchRow(
        benchmark=benchmark,
        name=str(row.get("name", row.get("metric", "?"))),
        value=value,
        unit=str(row.get("unit", "")),
        reference="" if reference is None else str(reference),
        reference_value=ref_value,
        ratio=ratio,
        status=str(row.get("status", "ok")),
    )


def _load(path: Path):
    import sys

    root = str(path.parent.parent)  # benchmarks may import helpers as `benchmarks.<name>`
    if root not in sys.path:
        sys.path.insert(0, root)
    spec = importlib.util.spec_from_file_location(f"doppel_bench_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_benchmark(name: str, quick: bool, folder: Path = DEFAULT_DIR, **kwargs) -> tuple[list[BenchRow], float]:
    """Rows of one benchmark and the seconds it took. `kwargs` go to its `run` (e.g. the training
    benchmark's `references`: DeepFaceLab seconds per iteration measured on this machine)."""
    path = folder / f"{name}.py"
    start = time.perf_counter()
    if not path.exists():
        return [BenchRow(name, "(benchmark missing)", status="missing", reference=str(path))], 0.0
    try:
        module = _load(path)
        if not hasattr(module, "run"):
            return _run_script(name, path, quick), time.perf_counter() - start
        rows = [normalise_row(name, r) for r in module.run(quick=quick, **kwargs)]
    except Exception as e:  # one failing benchmark must not hide the others
        last = traceback.extract_tb(e.__traceback__)[-1]
        return [BenchRow(name, f"(failed: {type(e).__name__}: {e} at {Path(last.filename).name}:{last.lineno})", status="error")], time.perf_counter() - start
    if not rows:
        rows = [BenchRow(name, "(no rows returned)", status="error")]
    return rows, time.perf_counter() - start


def _run_script(name: str, path: Path, quick: bool, timeout: float = SCRIPT_TIMEOUT) -> list[BenchRow]:
    """A benchmark without `run(quick)`: run it as a script and keep its printed lines as rows
    (status "text": its own figures and ratios, not parsed). In quick mode only scripts that take
    --quick run, so the whole bench stays short."""
    import subprocess
    import sys

    takes_quick = '"--quick"' in path.read_text()
    if quick and not takes_quick:
        return [BenchRow(name, "(no run(quick) and no --quick flag: skipped in quick mode)", status="missing", reference=str(path))]
    cmd = [sys.executable, str(path)] + (["--quick"] if quick else [])
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=path.parent.parent)
    except subprocess.TimeoutExpired:
        return [BenchRow(name, f"(script ran past {timeout:.0f} s and was stopped)", status="error")]
    lines = [line.strip() for line in proc.stdout.splitlines() if line.strip()]
    rows = [BenchRow(name, line, status="text") for line in lines]
    if proc.returncode != 0:
        err = (proc.stderr.strip().splitlines() or ["?"])[-1]
        rows.append(BenchRow(name, f"(script failed, exit {proc.returncode}: {err})", status="error"))
    return rows or [BenchRow(name, "(script printed nothing)", status="error")]


def run_bench(quick: bool = True, only: tuple[str, ...] = BENCHMARKS, folder: Path = DEFAULT_DIR,
              references: dict[str, float] | None = None) -> dict:
    """Run the benchmarks and return {"machine", "quick", "rows", "seconds"} (JSON-ready).
    `references`: DeepFaceLab seconds per iteration measured on this machine, by training config; with
    none, no comparison with DeepFaceLab is printed."""
    from doppel.doctor.hardware import describe_machine

    machine = describe_machine()
    rows: list[BenchRow] = []
    seconds = {}
    for name in only:
        extra = {"references": references} if name == "train" and references else {}
        got, took = run_benchmark(name, quick, Path(folder), **extra)
        rows += got
        seconds[name] = round(took, 2)
    return {
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "quick": quick,
        "machine": machine.to_dict(),
        "machine_description": machine.describe(),
        "seconds": seconds,
        "rows": [r.to_dict() for r in rows],
    }


def table(result: dict):
    """A rich Table of the rows, each figure beside its reference and the ratio."""
    from rich.table import Table

    t = Table(title=f"doppel bench{' --quick' if result['quick'] else ''}", caption=result["machine_description"])
    for col in ("benchmark", "measure", "value", "reference", "ratio"):
        t.add_column(col, justify="right" if col in ("value", "ratio") else "left")
    for r in result["rows"]:
        value = "" if r["value"] is None else f"{r['value']:.4g} {r['unit']}".strip()
        ref = r["reference"]
        if r["reference_value"] is not None:
            ref = f"{ref} ({r['reference_value']:.4g})" if ref else f"{r['reference_value']:.4g}"
        ratio = "" if r["ratio"] is None else f"{r['ratio']:.3g}"
        name = r["name"] if r["status"] in ("ok", "text") else f"[red]{r['name']}[/]"
        t.add_row(r["benchmark"], name, value, ref, ratio)
    return t


def read_references(pairs: list[str], path: Path | str | None = None) -> dict[str, float]:
    """CONFIG=S pairs and a JSON file of DeepFaceLab seconds per iteration, checked: one line per mistake."""
    import json

    from doppel.core.errors import DoppelError

    refs: dict[str, float] = {}
    if path is not None:
        try:
            data = json.loads(Path(path).read_text())
            refs.update({str(k): float(v) for k, v in data.items()})
        except (OSError, ValueError, TypeError, AttributeError) as e:
            raise DoppelError(f"cannot read DeepFaceLab references ({e})", path, hint='Write JSON like {"a": 0.55, "b": 3.4}') from e
    for pair in pairs:
        key, _, value = pair.partition("=")
        try:
            refs[key.strip()] = float(value)
        except ValueError:
            raise DoppelError(f"--reference-s-per-it {pair}: not CONFIG=SECONDS", hint="e.g. --reference-s-per-it a=0.55") from None
    bad = [k for k, v in refs.items() if v <= 0]
    if bad:
        raise DoppelError(f"DeepFaceLab seconds per iteration must be positive ({', '.join(bad)})")
    return refs
