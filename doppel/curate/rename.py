"""Renaming many faces safely: two phases (to hidden temp names, then to final names) with a
journal, so a crash half-way never leaves two files fighting for one name and can be finished.

The journal `DIR/.doppel_rename.json` lists (old, temp, new) relative paths and the phase reached.
Every curate command calls `finish_pending_renames` first.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from doppel.core import schema
from doppel.core.atomic import write_json
from doppel.core.errors import DoppelError
from doppel.core.index_sync import rename_in_index

JOURNAL_NAME = ".doppel_rename.json"


def _journal(folder: Path) -> Path:
    return folder / JOURNAL_NAME


def _run(folder: Path, triples: list[list[str]], phase: str) -> None:
    if phase == "moving":
        for old, tmp, _new in triples:
            if (folder / old).exists() and not (folder / tmp).exists():
                os.rename(folder / old, folder / tmp)
        for _old, tmp, new in triples:
            if (folder / tmp).exists():
                if (folder / new).exists():
                    raise DoppelError(
                        f"cannot rename {tmp} to {new}: the name is taken", folder,
                        hint=f"Move {new} away, then run 'doppel sort {folder} --recover-names'",
                    )
                (folder / new).parent.mkdir(parents=True, exist_ok=True)
                os.rename(folder / tmp, folder / new)
        write_json(_journal(folder), {"phase": "index", "renames": triples})
    rename_in_index(folder, {old: new for old, _tmp, new in triples if old != new})
    _journal(folder).unlink(missing_ok=True)


def rename_all(folder: str | Path, mapping: dict[str, str]) -> None:
    """Rename files of `folder` (relative old name -> relative new name) as one recoverable step.

    New names may be old names of other files in the same batch (a permutation is fine).
    """
    folder = Path(folder)
    finish_pending_renames(folder)
    mapping = {o: n for o, n in mapping.items() if o != n}
    if not mapping:
        return
    olds = set(mapping)
    for new in mapping.values():
        if (folder / new).exists() and new not in olds:
            raise DoppelError(f"cannot rename to {new}: the name is taken", folder)
    token = secrets.token_hex(3)
    triples = [
        [old, (Path(old).parent / f".rename{i:06d}.{token}{Path(old).suffix}").as_posix(), new]
        for i, (old, new) in enumerate(mapping.items())
    ]
    write_json(_journal(folder), {"phase": "moving", "renames": triples})
    _run(folder, triples, "moving")


def finish_pending_renames(folder: str | Path) -> bool:
    """Complete a rename batch that a crash interrupted. Returns True if there was one."""
    folder = Path(folder)
    path = _journal(folder)
    if not path.is_file():
        return False
    hint = "Rename the hidden .rename* files by hand"
    data = schema.read_object(path, "rename journal", hint)
    try:
        phase = schema.field(data, "phase", schema.choice, ("moving", "index"))
        triples = [schema.items(t, f"renames[{i}]") for i, t in enumerate(schema.field(data, "renames", schema.items))]
        for i, triple in enumerate(triples):
            if len(triple) != 3:
                raise schema.SchemaError(f"renames[{i}]: expected [old, temporary, new] names")
            for name in triple:
                schema.relative_path(name, f"renames[{i}]")
    except schema.SchemaError as e:
        raise schema.damaged("rename journal", e, path, hint) from None
    _run(folder, triples, phase)
    return True
