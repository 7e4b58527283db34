"""`doppel bench`: one table from the benchmarks' `run(quick)` rows, failures and gaps shown as rows."""

from __future__ import annotations

import json
import textwrap

import pytest
from typer.testing import CliRunner

from doppel.cli import app
from doppel.doctor.bench import BENCHMARKS, DEFAULT_DIR


def _write(folder, name, body):
    (folder / f"{name}.py").write_text(textwrap.dedent(body))


def test_bench_gathers_rows_computes_ratios_and_reports_gaps(tmp_path):
    _write(tmp_path, "extract", """
        import time
        def run(quick):
            start = time.perf_counter()
            sum(range(200_000 if quick else 2_000_000))
            fps = 1.0 / (time.perf_counter() - start)
            return [{"name": "loop rate", "value": fps, "unit": "loops/s", "reference": "twice that", "reference_value": 2 * fps},
                    {"name": "quick flag", "value": 1.0 if quick else 0.0, "ratio": 0.5}]
    """)
    _write(tmp_path, "train", """
        def run(quick):
            raise RuntimeError("no GPU in this test")
    """)
    _write(tmp_path, "merge", """
        import argparse
        if __name__ == "__main__":
            p = argparse.ArgumentParser()
            p.add_argument("--quick", action="store_true")
            print(f"merge 30.0 frames/s = 0.50 x decode+encode (quick={p.parse_args().quick})")
    """)  # a script without run(quick): its printed lines become rows
    out = tmp_path / "bench.json"
    result = CliRunner().invoke(app, ["bench", "--quick", "--benchmarks", str(tmp_path), "--json", str(out)])
    assert result.exit_code == 0, result.output
    for text in ("loop rate", "quick flag", "RuntimeError", "no GPU in this test", "0.50 x decode+encode (quick=True)", "cores"):
        assert text in result.output, text
    data = json.loads(out.read_text())
    rows = {r["name"]: r for r in data["rows"]}
    assert rows["loop rate"]["ratio"] == pytest.approx(0.5)
    assert rows["quick flag"]["value"] == 1.0  # quick=True reached the benchmark
    assert [r["status"] for r in data["rows"]] == ["ok", "ok", "error", "text"]
    assert data["machine"]["cpu_cores"] >= 1 and data["quick"] is True


def test_missing_benchmark_is_a_row(tmp_path):
    result = CliRunner().invoke(app, ["bench", "--quick", "--only", "train", "--benchmarks", str(tmp_path)])
    assert result.exit_code == 0 and "benchmark missing" in result.output


def test_unknown_benchmark_name_is_refused():
    result = CliRunner().invoke(app, ["bench", "--only", "nope"])
    assert result.exit_code != 0


@pytest.mark.slow
def test_real_quick_bench_prints_every_row(tmp_path):
    """The repository's own benchmarks, quick mode (about 1-2 minutes on 2 cores)."""
    out = tmp_path / "bench.json"
    result = CliRunner().invoke(app, ["bench", "--quick", "--json", str(out)])
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text())
    assert {r["benchmark"] for r in data["rows"]} == set(BENCHMARKS)
    for r in data["rows"]:
        assert r["name"][:20] in result.output
    assert all((DEFAULT_DIR / f"{b}.py").exists() for b in BENCHMARKS), "a benchmark file is missing"
    assert all(r["status"] in ("ok", "text") for r in data["rows"]), [r for r in data["rows"] if r["status"] not in ("ok", "text")]
