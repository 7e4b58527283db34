"""The GPU check's plumbing: every step under its own limit, a failing or hanging step recorded while the
next one runs, and (slow) the whole CPU rehearsal end to end."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from argparse import Namespace
from pathlib import Path

import pytest

from benchmarks import gpu_check as G

ROOT = Path(__file__).resolve().parents[2]


def args(tmp_path, **kw) -> Namespace:
    base = dict(bundle=str(tmp_path / "bundle"), out=str(tmp_path / "out"), work=str(tmp_path / "work"), device="cpu",
                tiny=True, budget_s=60.0, only="", quality_minutes=0.0)
    base.update(kw)
    (tmp_path / "work").mkdir(exist_ok=True)
    return Namespace(**base)


def test_plan_keeps_the_order_and_refuses_unknown_steps(tmp_path):
    steps = [s.name for s, _ in G.plan(args(tmp_path, only="quality,env"))]
    assert steps == ["env", "quality"]
    with pytest.raises(SystemExit, match="unknown steps nope"):
        G.plan(args(tmp_path, only="env,nope"))
    gpu = sum(limit for s, limit in G.plan(args(tmp_path, tiny=False)) if s.name != "quality")
    assert gpu + 5 * 60 <= 540 + 60  # the fixed steps leave the quality run most of its five minutes


def test_a_hanging_step_is_stopped_and_a_failing_one_recorded(tmp_path):
    a = args(tmp_path)
    env = next(s for s in G.STEPS if s.name == "env")
    with open(tmp_path / "log", "a") as log:
        hung = G.run_child(env, 0.05, a, log, [])  # cannot even start python and torch in 50 ms
        failed = G.run_child(next(s for s in G.STEPS if s.name == "speed_c"), 120, a, log, [])  # no bundle there
    assert not hung["ok"] and "ran past its 0 s limit" in hung["error"]
    assert not failed["ok"] and failed["error"] and failed["seconds"] > 0
    report = {"time": "t", "device": "cpu", "tiny": True, "budget_s": 60, "total_s": 1,
              "steps": {"env": hung, "speed_c": failed}, "goals": G.goals({"speed_c": failed}, True)}
    md = G.markdown(report)
    assert "| env | NO |" in md and "| speed_c | NO |" in md


def test_goals_compare_measurements_with_the_issue_targets():
    rows = {g["goal"]: g for g in G.goals({"speed_c": {"mfu": 0.4, "gpu_busy": 0.8, "data_wait": 0.01, "ms_per_it": 30.0},
                                            "merge_speed": {"merge_fps": 120.0},
                                            "doctor": {"predicted_s_per_it": 0.036}}, False)}
    assert rows["training (c) MFU >= 35 %"]["met"] and not rows["training (c) GPU busy >= 90 %"]["met"]
    assert rows["training (c) data wait <= 5 %"]["met"] and rows["merge 720p >= 100 frames/s"]["met"]
    assert any(g["measured"] == 1.2 for g in rows.values())  # doctor predicted 36 ms against 30 measured


@pytest.mark.slow
def test_cpu_rehearsal_runs_every_step(tmp_path):
    """scripts/gpu-check --device cpu --tiny in .venv-np2 (numpy 2, no mediapipe), on the bundle that
    scripts/gpu-bundle made (about 4.5 minutes on the shared 2-core machine)."""
    python = ROOT / ".venv-np2" / "bin" / "python"
    if not (ROOT / "gpu-bundle" / "manifest.json").exists() or not python.exists():
        pytest.skip("needs scripts/gpu-bundle and scripts/setup-np2 first")
    out = tmp_path / "out"
    proc = subprocess.run(["scripts/gpu-check", "--device", "cpu", "--tiny", "--budget-s", "900"], cwd=ROOT,
                          env={**os.environ, "OUT": str(out), "PYTHON": str(python)}, capture_output=True, text=True)
    report = json.loads((out / "report.json").read_text())
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert all(r["ok"] for r in report["steps"].values()) and not report["steps"]["env"]["mediapipe_imported"]
    assert {p.name for p in out.iterdir()} <= set(G.OUT_FILES) and (out / "quality.mp4").stat().st_size > 0


def test_training_and_merge_never_import_mediapipe():
    """The GPU image has no mediapipe (it needs numpy < 2): training, merge and the check must not load it."""
    code = ("import sys, doppel.train.trainer, doppel.merge.merger, doppel.cli, benchmarks.gpu_check, benchmarks.merge, "
            "benchmarks.train; print(sorted(m for m in sys.modules if m.split('.')[0] in ('mediapipe', 'dlib')))")
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip() == "[]"
