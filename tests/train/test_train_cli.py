"""`doppel train` as users run it: flags, config file, kill -9 and Ctrl-C."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from doppel.core.errors import DoppelError
from doppel.train import checkpoint as ckpt
from doppel.train.config import read_config, split_options
from doppel.train.trainer import train

from conftest import TINY, run_options

FLAGS = ["--resolution", "64", "--ae-dims", "32", "--e-dims", "16", "--d-dims", "16", "--d-mask-dims", "16",
         "--batch-size", "2", "--threads", "1", "--workers", "0", "--no-progress", "--val-share", "0"]


def _start(src, dst, model, *extra):
    cmd = [sys.executable, "-m", "doppel.cli", "train", "--src", str(src), "--dst", str(dst), "--model", str(model), *FLAGS, *extra]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _wait_for_save(model, past: int, proc, timeout=240.0) -> int:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        assert proc.poll() is None, proc.stdout.read()
        try:
            it = json.loads((model / ckpt.STATE_JSON).read_text())["iteration"]
            if it > past:
                return it
        except (FileNotFoundError, ValueError):
            pass
        time.sleep(0.2)
    proc.kill()
    pytest.fail("no autosave in time")


def test_kill_9_loses_at_most_one_autosave(src_faces, dst_faces, tmp_path):
    model = tmp_path / "model"
    proc = _start(src_faces, dst_faces, model, "--autosave-minutes", "0.01")
    saved = _wait_for_save(model, 0, proc)
    time.sleep(0.5)
    proc.send_signal(signal.SIGKILL)
    proc.wait(30)
    loaded = ckpt.read_checkpoint(model)  # valid (or the previous one, if the kill hit a save)
    assert loaded.state.iteration >= (saved if not loaded.fell_back else 0)
    from doppel.models import load_model

    load_model(model)
    result = train(src_faces, dst_faces, model, None, {}, run_options(iterations=loaded.state.iteration + 1))
    assert result.iteration == loaded.state.iteration + 1


@pytest.mark.slow
def test_ctrl_c_saves_and_exits(src_faces, dst_faces, tmp_path):
    model = tmp_path / "model"
    proc = _start(src_faces, dst_faces, model, "--autosave-minutes", "0.01")
    _wait_for_save(model, 0, proc)
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode == 0, out
    assert "interrupted" in out
    status = json.loads((model / "status.json").read_text())
    assert status["stop_reason"] == "interrupted"
    assert ckpt.read_checkpoint(model).state.iteration == status["iteration"]


def test_bad_flag_value_is_one_line_error(src_faces, dst_faces, tmp_path):
    cmd = [sys.executable, "-m", "doppel.cli", "train", "--src", str(src_faces), "--dst", str(dst_faces),
           "--model", str(tmp_path / "m"), "--ct-mode", "nope", "--no-progress"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert "--ct-mode" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "m" / "model.json").exists()


def test_config_file_sets_options(tmp_path):
    cfg = tmp_path / "train.toml"
    cfg.write_text('model_type = "saehd"\niterations = 5\n[model]\nae-dims = 32\nct_mode = "rct"\n')
    values = read_config(cfg)
    model, run = split_options(values, {"ae_dims", "ct_mode"}, cfg)
    assert model == {"ae_dims": 32, "ct_mode": "rct"} and run == {"iterations": 5}
    (tmp_path / "bad.json").write_text('{"no_such_option": 1}')
    with pytest.raises(DoppelError, match="unknown option 'no_such_option'"):
        split_options(read_config(tmp_path / "bad.json"), {"ae_dims"}, tmp_path / "bad.json")
    (tmp_path / "broken.toml").write_text("iterations = = 5")
    with pytest.raises(DoppelError, match="not valid TOML"):
        read_config(tmp_path / "broken.toml")


def test_config_file_names_the_facesets(src_faces, dst_faces, tmp_path):
    """docs/train.md: `src` and `dst` may be given in the config file instead of as flags."""
    from typer.testing import CliRunner

    from doppel.cli import app

    cfg = tmp_path / "train.toml"
    model = "\n".join(f"{k} = {v}" for k, v in TINY.items())
    cfg.write_text(f'src = "{src_faces}"\ndst = "{dst_faces}"\n[run]\niterations = 1\nthreads = 1\nworkers = 0\n'
                   f'progress = false\nval_share = 0\n[model]\n{model}\n')
    result = CliRunner().invoke(app, ["train", "--model", str(tmp_path / "model"), "--config", str(cfg)])
    assert result.exit_code == 0, result.output
    assert ckpt.read_checkpoint(tmp_path / "model").state.iteration == 1


@pytest.mark.slow
def test_two_processes_under_torchrun(src_faces, dst_faces, tmp_path):
    """DDP with the gloo backend on CPU: the same code path as several GPUs (NCCL)."""
    model = tmp_path / "model"
    torchrun = os.path.join(os.path.dirname(sys.executable), "torchrun")
    cmd = [torchrun, "--standalone", "--nproc_per_node", "2", "-m", "doppel.cli", "train", "--src", str(src_faces),
           "--dst", str(dst_faces), "--model", str(model), *FLAGS, "--iterations", "3", "--autosave-minutes", "0"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert ckpt.read_checkpoint(model).state.iteration == 3
    rows = (model / "history.csv").read_text().strip().splitlines()
    assert len(rows) == 4  # header + 3 iterations, written by rank 0 only


def test_progress_is_plain_lines_when_stdout_is_a_pipe(src_faces, dst_faces, tmp_path):
    """Logs and `doppel swap` output piped elsewhere still show the iteration and loss (no rich bar)."""
    flags = [f for f in FLAGS if f != "--no-progress"]
    cmd = [sys.executable, "-m", "doppel.cli", "train", "--src", str(src_faces), "--dst", str(dst_faces),
           "--model", str(tmp_path / "model"), *flags, "--iterations", "2"]
    done = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stdout.splitlines() if line.startswith("iteration ")]
    assert lines[0].startswith("iteration 1/2  loss ") and lines[-1].startswith("iteration 2/2  loss ")
    assert all(" s/it  elapsed " in line for line in lines)
