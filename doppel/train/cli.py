"""`doppel train`: flags built from the model options' metadata (every registered model) and
RunOptions, plus `--config FILE` (TOML or JSON). Precedence: defaults < saved model < config < flags."""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any, Optional

import typer

from doppel.core.errors import DoppelError
from doppel.core.options import cli_parameters
from doppel.train.config import RUN_FIELDS, RunOptions, make_run_options, read_config, split_options


def _base_parameters() -> list[inspect.Parameter]:
    def kw(name: str, annotation: Any, option: Any) -> inspect.Parameter:
        return inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, annotation=annotation, default=option)

    return [
        kw("src", Optional[Path], typer.Option(None, "--src", help="Aligned source faces (the identity to put in).")),
        kw("dst", Optional[Path], typer.Option(None, "--dst", help="Aligned destination faces (optional when pretraining).")),
        kw("model", Path, typer.Option(..., "--model", help="Model folder (created, or resumed if it holds a model).")),
        kw("model_type", Optional[str], typer.Option(None, "--model-type", help="Model or preset for a new model (see 'doppel models'); default saehd.")),
        kw("config", Optional[Path], typer.Option(None, "--config", help="TOML or JSON file of options (flags win).")),
        kw("new", bool, typer.Option(False, "--new", help="Start a new model: move the work in --model into --model/_trash first.")),
    ]


def _model_parameters(taken: set[str]) -> list[inspect.Parameter]:
    """Every option of every registered model; the first model declaring a name describes it. Defaults
    are not shown: they depend on the model type, and a resumed model keeps its own."""
    from doppel.models.registry import available_models, model_options

    params: list[inspect.Parameter] = []
    for name in available_models():
        params += cli_parameters(model_options(name), all_optional=True, show_default=False, skip=taken,
                                 panel=lambda f: "Model: " + f.metadata.get("group", "training"))
        taken = taken | {p.name for p in params}
    return params


def _build_command(model_params: list[inspect.Parameter]):
    model_names = {p.name for p in model_params}

    def command(**kwargs: Any) -> None:
        _run(model_names, kwargs)

    params = _base_parameters() + cli_parameters(RunOptions, all_optional=True, panel="Run")
    command.__signature__ = inspect.Signature(params + model_params)
    command.__doc__ = (
        "Train a face-swap model on two aligned facesets, or resume the one in --model.\n\n"
        "Saves every --autosave-minutes, on Ctrl-C and at the end. Watch model/status.json and "
        "model/previews/latest.png; create model/STOP to save and stop, model/SAVE to save now."
    )
    return command


def _run(model_names: set[str], kwargs: dict[str, Any]) -> None:
    from doppel.train.trainer import train

    config = read_config(kwargs["config"]) if kwargs.get("config") else {}
    given = {k: v for k, v in kwargs.items() if k in RUN_FIELDS or k in model_names}
    given = {k: v for k, v in given.items() if v is not None}
    model_opts, run_opts = split_options(config, model_names, kwargs.get("config"))
    flag_model, flag_run = split_options(given, model_names)
    model_opts.update(flag_model)
    run_opts.update(flag_run)
    model_type = kwargs.get("model_type") or config.get("model_type")
    src = kwargs.get("src") or config.get("src")
    dst = kwargs.get("dst") or config.get("dst")
    if src is None:
        raise DoppelError("no source faceset given", hint="Pass --src DIR (a folder of aligned faces)")
    run = make_run_options(run_opts)
    if kwargs.get("new"):
        from doppel.train.checkpoint import start_afresh

        moved = start_afresh(kwargs["model"])
        if moved:
            typer.echo(f"moved {moved} files of the earlier model into {kwargs['model'] / '_trash'} "
                       f"('doppel trash restore {kwargs['model']}' brings them back)")
    result = train(src, dst, kwargs["model"], model_type, model_opts, run)
    typer.echo(
        f"saved {result.model_dir} at iteration {result.iteration} ({result.stop_reason}); "
        f"loss {result.loss:.4f}"
        + (f", validation {result.val_loss:.4f}" if result.val_loss is not None else "")
        + f"; {result.iterations_per_second:.2f} it/s, data wait {100 * result.data_wait_share:.0f}%"
    )


def register(app: typer.Typer) -> None:
    try:
        model_params = _model_parameters(set(RUN_FIELDS) | {"src", "dst", "model", "model_type", "config", "new"})
    except ImportError:  # models not installed: keep the rest of the CLI working
        model_params = []
    app.command("train", help=None)(_build_command(model_params))
