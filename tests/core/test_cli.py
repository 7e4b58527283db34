import subprocess
import sys


def _doppel(*args):
    return subprocess.run([sys.executable, "-m", "doppel.cli", *args], capture_output=True, text=True, timeout=120)


def test_usage_error_exits_nonzero_with_message():
    r = _doppel("workspace", "init", "--bogus")
    assert r.returncode == 2
    assert "No such option" in r.stderr


def test_user_error_is_one_line_naming_the_file(tmp_path):
    missing = tmp_path / "missing.mp4"
    r = _doppel("extract", str(missing), str(tmp_path / "out"))
    assert r.returncode == 2
    lines = [line for line in r.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "missing.mp4" in lines[0]


def test_building_the_cli_loads_no_torch():
    # Every command, --help included, starts in well under a second; torch alone takes ~2 s to import.
    code = "import sys, doppel.cli; print(sorted(m for m in ('torch', 'mediapipe') if m in sys.modules))"
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "[]"


def test_workspace_init_makes_dfl_layout(tmp_path):
    r = _doppel("workspace", "init", str(tmp_path / "ws"))
    assert r.returncode == 0, r.stderr
    for sub in ("data_src/aligned", "data_dst/aligned", "model", "output"):
        assert (tmp_path / "ws" / sub).is_dir()


def test_ctrl_c_exits_130_and_says_how_to_resume(monkeypatch, capsys):
    """Typer returns 130 for Ctrl-C outside standalone mode; doppel must not turn it into success."""
    import pytest

    import doppel.faces.extract as extract_module
    from doppel.cli import main

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(extract_module, "extract", interrupted)
    monkeypatch.setattr(sys, "argv", ["doppel", "extract", "in.mp4", "out"])
    with pytest.raises(SystemExit) as exit_info:
        main()
    assert exit_info.value.code == 130
    assert "resume" in capsys.readouterr().err


def test_a_full_disk_in_a_write_no_stage_wrapped_is_one_line(tmp_path, monkeypatch, capsys):
    import errno

    from doppel.core.workspace import Workspace
    from tests.cli_helpers import one_error_line, run_doppel

    def no_space(self):
        raise OSError(errno.ENOSPC, "No space left on device", str(tmp_path / "ws" / "status.json"))

    monkeypatch.setattr(Workspace, "create", no_space)
    code, _, err = run_doppel(monkeypatch, capsys, "workspace", "init", tmp_path / "ws")
    line = one_error_line(err)
    assert code == 2 and f"{tmp_path / 'ws' / 'status.json'}: disk full while writing a file" in line
