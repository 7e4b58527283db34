"""`doppel doctor`: the search, the estimates, and a real CPU run."""

from __future__ import annotations

import json

import pytest
import torch
from typer.testing import CliRunner

from doppel.cli import app
from doppel.doctor import estimate
from doppel.doctor.fit import largest_fitting, resolutions_for, step_cost, time_config
from doppel.doctor.hardware import describe_machine


def test_largest_fitting_is_a_binary_search():
    calls = []

    def fits(x):
        calls.append(x)
        return x <= 300

    candidates = list(range(64, 641, 32))
    assert largest_fitting(candidates, fits) == 288
    assert len(calls) <= 5  # log2(19) rounded up, not a linear scan
    assert largest_fitting(candidates, lambda x: False) is None
    assert largest_fitting(candidates, lambda x: True) == 640


def test_resolutions_follow_the_model_options():
    res = resolutions_for("saehd")
    assert res[0] == 64 and res[-1] == 640 and all(r % 32 == 0 for r in res)
    assert resolutions_for("quick96") == [96]  # a locked preset


def test_flops_grow_with_resolution_and_batch():
    small = step_cost("saehd", 2, resolution=64)
    assert step_cost("saehd", 4, resolution=64).flops == pytest.approx(2 * small.flops, rel=0.01)
    assert step_cost("saehd", 2, resolution=128).flops > 3.5 * small.flops


def test_estimates():
    assert estimate.hours_for(100_000, 0.36) == pytest.approx(10.0)
    assert estimate.cloud_cost(10.0, 2.48) == pytest.approx(24.8)
    small = estimate.workspace_disk(10_000_000, 1000, 1000, 1280, 720)
    big = estimate.workspace_disk(10_000_000, 4000, 4000, 1920, 1080)
    assert 0 < small.total_gb < big.total_gb
    assert small.model_gb == pytest.approx(10_000_000 * 12 * 4 / 1024**3, abs=0.01)


def test_machine_description_has_the_basics():
    m = describe_machine()
    assert m.cpu_cores >= 1 and m.ram_total_gb > 0 and m.disk_free_gb > 0
    assert ("no CUDA GPU" in m.describe()) == (not torch.cuda.is_available())


def test_doctor_on_cpu_recommends_a_cpu_config_with_a_time_estimate(tmp_path):
    out = tmp_path / "doctor.json"
    result = CliRunner().invoke(app, ["doctor", "--device", "cpu", "--price", "2.48", "--iterations", "1000",
                                      "--timing-iterations", "1", "--json", str(out)])
    assert result.exit_code == 0, result.output
    text = result.output
    assert "no CUDA GPU found" in text
    assert "recommended: --model-type" in text and "expected time for 1,000 iterations" in text
    assert "disk for the workspace" in text
    report = json.loads(out.read_text())
    rec = report["recommended"]
    assert rec["fits"] and rec["seconds_per_iter"] > 0 and rec["resolution"] <= 96
    probe = [t for t in report["trials"] if t["measured"]]
    assert probe and probe[0]["seconds_per_iter"] > 0  # extrapolation rests on a real timed step
    asked = report["requested"]  # saehd 128 asked for: slower than the CPU-sized recommendation
    assert asked["seconds_per_iter"] > rec["seconds_per_iter"]
    assert report["cost"] is None  # no GPU here, so no GPU-hour cost


@pytest.mark.gpu
def test_doctor_on_cuda_finds_a_fitting_config():
    if not torch.cuda.is_available():
        pytest.skip("needs CUDA")
    t = time_config("saehd", torch.device("cuda"), 4, iterations=2, resolution=128)
    assert t.fits and t.peak_memory_gb > 0
    result = CliRunner().invoke(app, ["doctor", "--device", "cuda", "--price", "2.48", "--iterations", "1000"])
    assert result.exit_code == 0, result.output
    assert "recommended: --model-type saehd" in result.output and "cloud cost at $2.48" in result.output


def test_gpu_search_suggests_what_fits(monkeypatch):
    """The CUDA search, driven by a stand-in for the trial runs: memory ~ resolution² x batch."""
    from doppel.doctor import doctor as D
    from doppel.doctor.fit import StepTiming

    budget = 192 * 192 * 8  # fits res 192 at batch 8, not res 256
    tried = []

    def fake_time_config(model_type, device, batch, iterations=3, warmup=1, **opts):
        res = opts.get("resolution", 128)
        tried.append((res, batch))
        fits = res * res * batch <= budget
        return StepTiming(model_type, res, batch, fits, 0.01 * res * res * batch / 1e4 if fits else None,
                          error=None if fits else "out of memory")

    monkeypatch.setattr(D, "time_config", fake_time_config)
    report = D.DoctorReport(describe_machine(), D.DoctorOptions(), "cuda", None, None)
    D._size_for_gpu(report, torch.device("cuda"), 256, 8, lambda text: None)
    assert report.warnings and "cannot fit res 256 at batch 8; suggested: --resolution 192 --batch-size 8 (up to" not in report.warnings[0]
    assert "cannot fit res 256 at batch 8; suggested: --resolution 192 --batch-size 8" in report.warnings[0]
    assert report.recommended.resolution == 192 and report.recommended.batch == 8 and report.recommended.fits
    assert report.requested is not None and not report.requested.fits
    assert len(set(tried)) < 15  # binary searches, not every resolution x batch

    report = D.DoctorReport(describe_machine(), D.DoctorOptions(), "cuda", None, None)
    D._size_for_gpu(report, torch.device("cuda"), 128, 4, lambda text: None)
    assert not report.warnings
    assert "largest that fits: resolution 256 at batch 4; batch 16 at resolution 128" in report.notes[0]
    assert (report.recommended.resolution, report.recommended.batch) == (128, 4)


def test_gpu_search_falls_back_to_batch_one(monkeypatch):
    from doppel.doctor import doctor as D
    from doppel.doctor.fit import StepTiming

    def fake_time_config(model_type, device, batch, iterations=3, warmup=1, **opts):
        res = opts.get("resolution", 128)
        fits = res * res * batch <= 100 * 100 * 1  # a tiny GPU: only res 96 at batch 1
        return StepTiming(model_type, res, batch, fits, 0.5 if fits else None)

    monkeypatch.setattr(D, "time_config", fake_time_config)
    report = D.DoctorReport(describe_machine(), D.DoctorOptions(), "cuda", None, None)
    D._size_for_gpu(report, torch.device("cuda"), 128, 4, lambda text: None)
    assert "suggested: --resolution 96 --batch-size 1" in report.warnings[0]
    assert (report.recommended.resolution, report.recommended.batch) == (96, 1)
