"""The `doppel` command. Thin: each stage declares its commands in `doppel/<stage>/cli.py`
as `register(app)`, and every command only parses options and calls library functions."""

from __future__ import annotations

import errno
import importlib
import sys

import typer
from rich.console import Console

try:  # typer >= 0.29 vendors click; older typer uses the click package
    from typer._click.exceptions import ClickException
except ImportError:  # pragma: no cover
    from click.exceptions import ClickException

from doppel import __version__
from doppel.core.errors import DoppelError
from doppel.core.native_log import filter_native_logs, stderr_is_terminal

app = typer.Typer(
    name="doppel",
    help="Face replacement for video: extract, curate, train, merge. For consenting subjects, VFX and research.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

# In pipeline order; each module defines register(app).
STAGE_CLIS = (
    "doppel.core.cli",
    "doppel.media.cli",
    "doppel.inspection.cli",
    "doppel.faces.cli",
    "doppel.curate.cli",
    "doppel.interop.cli",
    "doppel.masks.cli",
    "doppel.models.cli",
    "doppel.train.cli",
    "doppel.merge.cli",
    "doppel.pipeline.cli",
    "doppel.evaluate.cli",
    "doppel.doctor.cli",
    "doppel.studio.cli",
)


# Errors of the machine, not of doppel: no space, no quota, no permission, a read-only file system.
WRITE_ERRNOS = (errno.ENOSPC, errno.EDQUOT, errno.EACCES, errno.EPERM, errno.EROFS)


def _version(value: bool) -> None:
    if value:
        print(f"doppel {__version__}")
        raise typer.Exit()


@app.callback()
def _root(version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version.")) -> None:
    pass


for _name in STAGE_CLIS:
    try:
        _module = importlib.import_module(_name)
    except ModuleNotFoundError as _e:
        if not _name.startswith(str(_e.name)):  # a stage that exists but fails to import is a bug
            raise
        continue
    _module.register(app)


def main() -> None:
    filter_native_logs()
    err = Console(stderr=True, force_terminal=stderr_is_terminal() or None)
    try:
        # Typer turns Ctrl-C into exit code 130 and, outside standalone mode, returns exit codes.
        code = app(standalone_mode=False)
        if code == 130:
            err.print("interrupted: run the same command again to resume")
        if isinstance(code, int) and code:
            sys.exit(code)
    except DoppelError as e:
        err.print(f"[bold red]error:[/] {e.one_line()}", highlight=False, soft_wrap=True)
        sys.exit(2)
    except OSError as e:
        if e.errno not in WRITE_ERRNOS:
            raise
        # A full disk or a read-only folder in a write no stage wrapped (logs, status files): still one line.
        from doppel.core.atomic import write_error

        line = write_error(e, e.filename or "(unnamed file)", "a file").one_line()
        err.print(f"[bold red]error:[/] {line}", highlight=False, soft_wrap=True)
        sys.exit(2)
    except KeyboardInterrupt:
        err.print("interrupted")
        sys.exit(130)
    except typer.Exit as e:
        sys.exit(e.exit_code)
    except typer.Abort:
        err.print("aborted")
        sys.exit(1)
    except ClickException as e:  # usage errors come through here in standalone_mode=False
        e.show()
        sys.exit(e.exit_code)


if __name__ == "__main__":
    main()
