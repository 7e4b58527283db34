"""One rich progress bar style for every long job (media, extract, training, merge, masks, evaluate);
silent when progress=False (tests, libraries)."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn


class ProgressBar:
    """`advance(n)` counts work done; `update(completed, note)` sets the count and the text after it."""

    def __init__(self, progress: Progress | None = None, task=None):
        self._progress, self._task = progress, task

    def advance(self, n: int = 1) -> None:
        if self._progress is not None:
            self._progress.advance(self._task, n)

    def update(self, completed: int, note: str = "") -> None:
        if self._progress is not None:
            self._progress.update(self._task, completed=completed, note=note)


@contextmanager
def progress_bar(label: str, total: int | None, enabled: bool = True, *, completed: int = 0,
                 transient: bool = False, elapsed: bool = False) -> Iterator[ProgressBar]:
    """A bar for `total` steps (None: unknown) labelled `label`; `elapsed` adds the time spent."""
    if not enabled:
        yield ProgressBar()
        return
    columns = [TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[note]}")]
    if elapsed:
        columns.append(TimeElapsedColumn())
    columns.append(TimeRemainingColumn())
    with Progress(*columns, transient=transient) as progress:
        yield ProgressBar(progress, progress.add_task(label, total=total, completed=completed, note=""))
