"""`doppel train`: flags built from the model options' metadata (every registered model) and
RunOptions, plus `--config FILE` (TOML or JSON). Precedence: defaults < saved model < config < flags."""

from __future__ import annotations

import dataclasses
import inspect
from pathlib import Path
from typing import Any, Optional

import typer

from doppel.core.errors import DoppelError
from doppel.train.config import RUN_FIELDS, make_run_options, read_config, split_options

_PY = {"bool": bool, "int": int, "float": float, "str": str}


def _type_of(f: dataclasses.Field) -> type:
    return f.type if isinstance(f.type, type) else _PY[str(f.type)]


def _help(f: dataclasses.Field) -> str:
    m = f.metadata
    text = m.get("help", "")
    if "choices" in m:
        text += f" [{'|'.join(map(str, m['choices']))}]"
    elif "min" in m or "max" in m:
        text += f" [{m.get('min', '')}..{m.get('max', '')}]"
    if m.get("fixed"):
        text += " (fixed once the model exists)"
    return text


def _model_fields() -> dict[str, dataclasses.Field]:
    """Every option of every registered model (the first model declaring a name describes it)."""
    from doppel.models.registry import available_models, model_options

    out: dict[str, dataclasses.Field] = {}
    for name in available_models():
        for f in dataclasses.fields(model_options(name)):
            out.setdefault(f.name, f)
    return out


def _option(f: dataclasses.Field, panel: str) -> tuple[type, Any]:
    t = _type_of(f)
    flag = "--" + f.name.replace("_", "-")
    decl = (f"{flag}/--no-{flag[2:]}",) if t is bool else (flag,)
    return Optional[t], typer.Option(None, *decl, help=_help(f), show_default=False, rich_help_panel=panel)


def _build_command(model_fields: dict[str, dataclasses.Field]):
    def command(**kwargs: Any) -> None:
        _run(model_fields, kwargs)

    params = [
        inspect.Parameter("src", inspect.Parameter.KEYWORD_ONLY, annotation=Optional[Path],
                          default=typer.Option(None, "--src", help="Aligned source faces (the identity to put in).")),
        inspect.Parameter("dst", inspect.Parameter.KEYWORD_ONLY, annotation=Optional[Path],
                          default=typer.Option(None, "--dst", help="Aligned destination faces (optional when pretraining).")),
        inspect.Parameter("model", inspect.Parameter.KEYWORD_ONLY, annotation=Path,
                          default=typer.Option(..., "--model", help="Model folder (created, or resumed if it holds a model).")),
        inspect.Parameter("model_type", inspect.Parameter.KEYWORD_ONLY, annotation=Optional[str],
                          default=typer.Option(None, "--model-type", help="Model or preset for a new model (see 'doppel models'); default saehd.")),
        inspect.Parameter("config", inspect.Parameter.KEYWORD_ONLY, annotation=Optional[Path],
                          default=typer.Option(None, "--config", help="TOML or JSON file of options (flags win).")),
    ]
    annotations = {p.name: p.annotation for p in params}
    for f in RUN_FIELDS.values():
        t, default = _option(f, "Run")
        params.append(inspect.Parameter(f.name, inspect.Parameter.KEYWORD_ONLY, annotation=t, default=default))
        annotations[f.name] = t
    for f in model_fields.values():
        if f.name in annotations:
            continue
        panel = "Model: " + f.metadata.get("group", "training")
        t, default = _option(f, panel)
        params.append(inspect.Parameter(f.name, inspect.Parameter.KEYWORD_ONLY, annotation=t, default=default))
        annotations[f.name] = t
    command.__signature__ = inspect.Signature(params)
    command.__annotations__ = annotations
    command.__doc__ = (
        "Train a face-swap model on two aligned facesets, or resume the one in --model.\n\n"
        "Saves every --autosave-minutes, on Ctrl-C and at the end. Watch model/status.json and "
        "model/previews/latest.png; create model/STOP to save and stop, model/SAVE to save now."
    )
    return command


def _run(model_fields: dict[str, dataclasses.Field], kwargs: dict[str, Any]) -> None:
    from doppel.train.trainer import train

    config = read_config(kwargs["config"]) if kwargs.get("config") else {}
    given = {k: v for k, v in kwargs.items() if k in RUN_FIELDS or k in model_fields}
    given = {k: v for k, v in given.items() if v is not None}
    model_opts, run_opts = split_options(config, set(model_fields), kwargs.get("config"))
    flag_model, flag_run = split_options(given, set(model_fields))
    model_opts.update(flag_model)
    run_opts.update(flag_run)
    model_type = kwargs.get("model_type") or config.get("model_type")
    src = kwargs.get("src") or config.get("src")
    dst = kwargs.get("dst") or config.get("dst")
    if src is None:
        raise DoppelError("no source faceset given", hint="Pass --src DIR (a folder of aligned faces)")
    run = make_run_options(run_opts)
    result = train(src, dst, kwargs["model"], model_type, model_opts, run)
    typer.echo(
        f"saved {result.model_dir} at iteration {result.iteration} ({result.stop_reason}); "
        f"loss {result.loss:.4f}"
        + (f", validation {result.val_loss:.4f}" if result.val_loss is not None else "")
        + f"; {result.iterations_per_second:.2f} it/s, data wait {100 * result.data_wait_share:.0f}%"
    )


def register(app: typer.Typer) -> None:
    try:
        fields = _model_fields()
    except ImportError:  # models not installed: keep the rest of the CLI working
        fields = {}
    app.command("train", help=None)(_build_command(fields))
