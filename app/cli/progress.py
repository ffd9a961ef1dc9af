"""Rich progress bars for long CLI steps (drawn on standard error, so --json stays clean)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

from app.cli.output import stderr


class StepProgress:
    """One bar per named step; steps appear the first time they report."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.tasks: dict[str, TaskID] = {}

    def task(self, step: str, total: int | None) -> TaskID:
        if step not in self.tasks:
            self.tasks[step] = self.progress.add_task(step, total=total)
        return self.tasks[step]

    def generated(self, step: str, count: int) -> None:
        self.progress.advance(self.task(f"generate {step}", None), count)

    def loaded(self, table: str, rows: int, *, total: int) -> None:
        self.progress.advance(self.task(f"load {table}", total), rows)


@contextmanager
def step_progress() -> Iterator[StepProgress]:
    columns = (
        SpinnerColumn(),
        TextColumn("{task.description:<24}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=stderr, transient=False) as progress:
        yield StepProgress(progress)
