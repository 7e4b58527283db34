"""Training monitor: reads what `doppel train` writes (status.json, history.csv, previews/latest.png)
and steers it through its request files (STOP, SAVE, BACKUP), so it works the same for a run the
studio started and for one started in a terminal. Can start `doppel train` as its own process."""

from __future__ import annotations

import dataclasses
import math
import os
from pathlib import Path

from doppel.core.errors import DoppelError
from doppel.core.options import describe_options, flag
from doppel.studio.http import HttpError, Request, Response
from doppel.studio.jobs import read_status
from doppel.studio.paths import inside, relative, without_absolute_paths
from doppel.train.status import BACKUP_FILE, SAVE_FILE, STATUS_JSON, STOP_FILE

JOB = "train"
REQUESTS = {"stop": STOP_FILE, "save": SAVE_FILE, "backup": BACKUP_FILE}
MAX_POINTS = 400


def _model_dir(studio, rel: str | None) -> Path:
    return inside(studio.root, rel or "model")


def _alive(pid) -> bool:
    if not isinstance(pid, int) or isinstance(pid, bool) or not 0 < pid < 1 << 31:
        return False  # os.kill(0 or -N) would ask about process groups
    try:
        os.kill(pid, 0)
        return True
    except OSError:
        return False


def _history(folder: Path) -> dict:
    """Iteration, loss and validation loss, thinned to at most MAX_POINTS (averaged, not dropped)."""
    from doppel.train.history import HISTORY_CSV, History

    if not (folder / HISTORY_CSV).is_file():
        return {"iteration": [], "loss": [], "val_loss": []}
    h = History(folder)
    out = {}
    for name in ("loss", "val_loss"):
        x, y = h.column(name)
        step = max(1, math.ceil(len(y) / MAX_POINTS))
        out[name] = [[x[i + step - 1 if i + step - 1 < len(x) else -1], sum(y[i : i + step]) / len(y[i : i + step])] for i in range(0, len(y), step)]
    return out


def _options(folder: Path, root: Path) -> dict | None:
    """The model's options with their metadata; the studio lets the user change the non-fixed ones."""
    path = folder / "model.json"
    if not path.is_file():
        return None
    from doppel.models.io import read_model_info
    from doppel.models.registry import model_options

    try:
        info = read_model_info(folder)
        return {"model_type": info["name"], "fields": describe_options(model_options(info["name"]), info["options"])}
    except DoppelError as e:  # a damaged model.json, or a model type this doppel does not know: show it, not a crash
        return {"model_type": None, "error": without_absolute_paths(e.one_line(), root), "fields": []}


def status(studio, req: Request) -> dict:
    folder = _model_dir(studio, req.query.get("model"))
    st_path = folder / STATUS_JSON
    st = read_status(st_path)
    if st is not None:
        st["alive"] = st.get("state") == "training" and _alive(st.get("pid"))
    job = studio.jobs.get(JOB)
    return {
        "model": folder.relative_to(studio.root).as_posix(),
        "status": st,
        "history": _history(folder),
        "options": _options(folder, studio.root),
        "preview": (folder / "previews" / "latest.png").is_file(),
        "job": job.describe() if job else None,
        "pending": [k for k, f in REQUESTS.items() if (folder / f).exists()],
    }


def preview(studio, req: Request) -> Response:
    path = _model_dir(studio, req.query.get("model")) / "previews" / "latest.png"
    if not path.is_file():
        raise HttpError(404, "no preview yet")
    return Response(path.read_bytes(), "image/png", headers={"Cache-Control": "no-cache"})


def request(studio, req: Request) -> dict:
    """Ask the running trainer to stop, save or back up (it removes the file once done)."""
    body = req.json()
    what = body.get("what")
    if what not in REQUESTS:
        raise HttpError(400, "what must be stop, save or backup")
    folder = _model_dir(studio, body.get("model"))
    if not folder.is_dir():
        raise HttpError(404, "model folder not found")
    (folder / REQUESTS[what]).touch()
    return {"requested": what}


# Options that name a folder: given as a name inside the workspace, like src, dst and model.
PATH_OPTIONS = ("pretrained",)


def _option_names() -> set[str]:
    """What `options` may set: run options and model options. Never --src, --dst, --model or --config,
    whose paths come from the request's own (checked) fields."""
    from doppel.models.registry import available_models, model_options
    from doppel.train.config import RUN_FIELDS

    names = set(RUN_FIELDS)
    for model in available_models():
        names |= {f.name for f in dataclasses.fields(model_options(model))}
    return names


def _name_in_workspace(studio, value, what: str) -> str:
    """A folder of the workspace, relative to it (the training process runs there)."""
    if not isinstance(value, str):
        raise HttpError(400, f"{what} must be a folder name inside the workspace")
    return relative(studio.root, inside(studio.root, value))


def _option_args(studio, options) -> list[str]:
    if not isinstance(options, dict):
        raise HttpError(400, "options must be an object")
    known, args = _option_names(), []
    for name, value in options.items():
        if not isinstance(name, str) or name not in known:
            raise HttpError(400, f"unknown option {str(name)[:40]!r}")
        if name in PATH_OPTIONS:
            value = _name_in_workspace(studio, value, name) if value else ""
        if isinstance(value, bool):
            args.append(flag(name) if value else "--no-" + flag(name)[2:])
        elif isinstance(value, (int, float, str)):
            args.append(f"{flag(name)}={value}")  # one token: a value that looks like a flag stays a value
        else:
            raise HttpError(400, f"bad value for {name}")
    return args


def start(studio, req: Request) -> dict:
    """Start `doppel train` on the workspace's facesets with the given options (flags). Folders are
    names inside the workspace, never paths; the process runs in the workspace."""
    body = req.json()
    ws = studio.workspace
    folder = _model_dir(studio, body.get("model"))
    src = _name_in_workspace(studio, body.get("src") or relative(studio.root, ws.src_aligned), "src")
    dst = _name_in_workspace(studio, body.get("dst") or relative(studio.root, ws.dst_aligned), "dst")
    args = ["train", "--src", src, "--dst", dst, "--model", relative(studio.root, folder)]
    if body.get("model_type"):
        args.append(f"--model-type={body['model_type']}")
    args += _option_args(studio, body.get("options") or {})
    st = status(studio, req)["status"]
    if st and st.get("alive"):
        raise HttpError(409, "this model is already training: stop it first")
    folder.mkdir(parents=True, exist_ok=True)
    job = studio.jobs.start_process(JOB, args, folder / "studio-train.log", studio.root)
    return {"started": True, "pid": job.process.pid, "args": args}


def fields(studio, req: Request) -> dict:
    """Option forms: the run options, and the model options of a model type (for a new model)."""
    from doppel.models.registry import available_models, model_options
    from doppel.train.config import RunOptions

    model_type = req.arg("type", "saehd")
    return {
        "models": available_models(),
        "model_type": model_type,
        "model_fields": describe_options(model_options(model_type)),
        "run_fields": describe_options(RunOptions),
    }


ROUTES = {
    ("GET", "/api/train/fields"): fields,
    ("GET", "/api/train/status"): status,
    ("GET", "/api/train/preview"): preview,
    ("POST", "/api/train/request"): request,
    ("POST", "/api/train/start"): start,
}
