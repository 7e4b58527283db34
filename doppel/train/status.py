"""How other processes watch and steer a run (the studio, scripts):

- `status.json` in the model folder, rewritten atomically every few seconds: iteration, target,
  losses, validation loss, iterations/s, ETA, last preview path, state, pid.
- Control files the trainer looks for after each iteration (create an empty file to ask):
  `STOP` (save and exit), `SAVE` (save now, keep training), `BACKUP` (save and copy into backups/).
  The trainer removes the request file once it has acted on it.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from doppel.core.atomic import write_json

STATUS_JSON = "status.json"
STOP_FILE = "STOP"
SAVE_FILE = "SAVE"
BACKUP_FILE = "BACKUP"


def write_status(folder: Path, **fields) -> None:
    write_json(Path(folder) / STATUS_JSON, {"updated": time.time(), "pid": os.getpid(), **fields})


def take_request(folder: Path, name: str) -> bool:
    """True (and the request file removed) if someone asked for `name`."""
    path = Path(folder) / name
    if not path.exists():
        return False
    try:
        path.unlink()
    except FileNotFoundError:
        pass
    return True
