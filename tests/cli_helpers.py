"""Running the real `doppel` entry point in-process (its error handling included), for CLI tests."""

from __future__ import annotations

import sys


def run_doppel(monkeypatch, capsys, *args) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of `doppel ARGS`."""
    from doppel.cli import main

    monkeypatch.setattr(sys, "argv", ["doppel", *map(str, args)])
    code = 0
    try:
        main()
    except SystemExit as e:
        code = int(e.code or 0)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def one_error_line(err: str) -> str:
    """The single `error:` line a failing command printed (and nothing else, no traceback)."""
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:") and "Traceback" not in err, err
    return lines[0]
