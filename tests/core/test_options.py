"""doppel.core.options: one declaration gives validation, CLI flags and studio forms."""

from __future__ import annotations

import inspect
from dataclasses import dataclass

import pytest
import typer
from typer.testing import CliRunner

from doppel.core.errors import DoppelError
from doppel.core.options import check_options, cli_parameters, describe_options, field_option, option


@dataclass(frozen=True)
class Demo:
    mode: str = option("fast", "How to run.", choices=("fast", "slow"))
    level: int = option(2, "Effort.", min=1, max=4, group="tuning")
    ratio: float = option(0.5, "Share kept.", min=0.0, max=1.0, step=0.05)
    size: int = option(64, "Side in pixels.", min=32, multiple_of=32, fixed=True)
    verbose: bool = option(False, "Say more.")
    debug_dir: str | None = option(None, "Write debug images here.")
    tags: tuple = option(default_factory=tuple, help="Free tags.")

    def __post_init__(self):
        check_options(self)


def test_errors_name_the_flag():
    with pytest.raises(DoppelError, match="--mode must be one of fast, slow, not 'medium'"):
        Demo(mode="medium")
    with pytest.raises(DoppelError, match=r"--level 5 is out of range \(1..4\)"):
        Demo(level=5)
    with pytest.raises(DoppelError, match=r"--size 16 is out of range \(32..\)"):
        Demo(size=16)
    with pytest.raises(DoppelError, match="--size 80 must be a multiple of 32"):
        Demo(size=80)
    with pytest.raises(DoppelError, match="--level must be int, got 'lots'"):
        Demo(level="lots")


def test_values_from_text_and_json_are_converted():
    d = Demo(level="3", ratio=1, size=96.0, verbose="yes", debug_dir=None)
    assert (d.level, d.ratio, d.size, d.verbose) == (3, 1.0, 96, True)
    assert isinstance(d.ratio, float) and isinstance(d.size, int)


def _help(params, *args):
    def command(**kwargs):
        typer.echo(repr(sorted(kwargs.items())))

    command.__signature__ = inspect.Signature(params)
    app = typer.Typer()
    app.command()(command)
    app.command("other")(lambda: None)  # two commands: the first is invoked by name
    return CliRunner().invoke(app, ["command", *args], env={"COLUMNS": "200", "NO_COLOR": "1"})


def test_cli_parameters_flags_and_defaults():
    params = cli_parameters(Demo, flags={"debug_dir": ("--debug", "--debug-dir")}, skip=("tags",))
    assert [p.name for p in params] == ["mode", "level", "ratio", "size", "verbose", "debug_dir"]
    assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in params)
    out = _help(params, "--help").output
    for text in ("--mode", "One of: fast, slow.", "--level", "1<=x<=4", "--verbose", "--no-verbose",
                 "--debug", "--debug-dir", "(fixed once the model exists)", "[default: 2]"):
        assert text in out, text
    ran = _help(params, "--level", "3", "--no-verbose", "--debug", "d").output
    assert "('level', 3)" in ran and "('debug_dir', 'd')" in ran and "('mode', 'fast')" in ran
    assert _help(params, "--level", "9").exit_code == 2  # typer enforces the declared range


def test_all_optional_flags_mean_not_given():
    params = cli_parameters(Demo, all_optional=True, panel=lambda f: "Panel " + f.metadata.get("group", "main"),
                            skip=("tags",))
    out = _help(params, "--help").output
    assert "Panel tuning" in out and "Panel main" in out
    assert "[1..4] (default: 2)" in out  # the range in the help; typer does not check it
    ran = _help(params, "--level", "9").output
    assert "('level', 9)" in ran and "('mode', None)" in ran and "('verbose', None)" in ran


def test_field_option_for_plain_commands():
    app = typer.Typer()

    @app.command()
    def run(level: int = field_option(Demo, "level", "--effort", "-e")) -> None:
        typer.echo(f"level={level}")

    assert CliRunner().invoke(app, ["-e", "4"]).output.strip() == "level=4"
    assert CliRunner().invoke(app, []).output.strip() == "level=2"
    assert CliRunner().invoke(app, ["-e", "0"]).exit_code == 2


def test_describe_options_is_the_studio_form():
    form = describe_options(Demo, {"level": 3})
    assert [f["name"] for f in form] == ["mode", "level", "ratio", "size", "verbose", "debug_dir", "tags"]
    assert form[0] == {"name": "mode", "kind": "str", "default": "fast", "help": "How to run.",
                       "choices": ["fast", "slow"], "value": "fast"}
    assert form[1] == {"name": "level", "kind": "int", "default": 2, "help": "Effort.", "min": 1, "max": 4,
                       "group": "tuning", "value": 3}
    assert form[2]["step"] == 0.05 and form[2]["kind"] == "float"
    assert form[3]["fixed"] is True and form[4]["kind"] == "bool"
    assert form[5]["kind"] == "str" and form[5]["default"] is None
    assert form[6]["default"] == () and "value" not in describe_options(Demo)[0]
    assert describe_options(Demo, Demo(level=4))[1]["value"] == 4


@pytest.mark.parametrize("where, name, bad", [
    ("doppel.doctor.options", "DoctorOptions", {"batch": -1}),
    ("doppel.evaluate.pair_check", "PairCheckOptions", {"pose_tolerance": 0}),
    ("doppel.evaluate.evaluate", "EvaluateOptions", {"every_n": 0}),
    ("doppel.pipeline.swap", "SwapOptions", {"crf": 99}),
    ("doppel.merge.output", "OutputOptions", {"crf": "high"}),
    ("doppel.merge.settings", "MergeSettings", {"erode": 999}),
    ("doppel.media.denoise", "DenoiseOptions", {"strength": 50}),
    ("doppel.faces.options", "ExtractOptions", {"size": 1}),
    ("doppel.train.config", "RunOptions", {"val_share": 0.9}),
])
def test_every_options_class_checks_itself_when_made(where, name, bad):
    """Library and studio callers get the CLI's one-line errors, not a failure deep inside a run."""
    import importlib

    cls = getattr(importlib.import_module(where), name)
    cls()  # the defaults are valid
    with pytest.raises(DoppelError, match=next(iter(bad)).replace("_", "-")):
        cls(**bad)
