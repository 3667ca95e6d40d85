"""Pieces every command shares: the workspace option, output, progress bars."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import (
    BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn,
)
from rich.table import Table

# Long paths stay on one line (copyable); when output goes to a file or pipe,
# tables get room for their columns instead of the 80-column default.
_PIPE_WIDTH = 160
console = Console(soft_wrap=True, width=None if sys.stdout.isatty() else _PIPE_WIDTH)
err_console = Console(stderr=True, soft_wrap=True)

WorkspaceOpt = typer.Option(
    Path("."), "-w", "--workspace", help="Workspace folder (made by 'inspkit init').",
    show_default=True,
)


def open_workspace(path: Path):  # -> Workspace; typed loosely to keep the import lazy
    """Open a workspace (imports the store only when a command runs)."""
    from inspkit.store.workspace import Workspace

    return Workspace.open(path)


@contextlib.contextmanager
def progress(description: str, total: int | None) -> Iterator[Callable[[int], None]]:
    """A Rich progress bar on stderr; yields the ``on_progress`` callback."""
    columns = (
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
        TimeElapsedColumn(), TimeRemainingColumn(),
    )
    with Progress(*columns, console=err_console, transient=True) as bar:
        task = bar.add_task(description, total=total)
        yield lambda n: bar.advance(task, n)


def warn(messages: list[str]) -> None:
    """Print warnings on stderr."""
    for message in messages:
        err_console.print(f"[yellow]warning:[/] {message}")


def skipped_table(skipped: dict[str, list[str]]) -> Table | None:
    """A table of skipped files by reason, or ``None`` when nothing was skipped."""
    if not skipped:
        return None
    table = Table(title="Skipped", title_justify="left")
    table.add_column("reason")
    table.add_column("count", justify="right")
    table.add_column("examples")
    for reason, names in skipped.items():
        table.add_row(reason, str(len(names)), ", ".join(names[:3]) + (" …" if len(names) > 3 else ""))
    return table


def count_table(title: str, counts: dict[object, int], key: str) -> Table:
    """A two-column table of counts."""
    table = Table(title=title, title_justify="left")
    table.add_column(key)
    table.add_column("samples", justify="right")
    for name, n in sorted(counts.items(), key=lambda kv: str(kv[0])):
        table.add_row("—" if name is None else str(name), str(n))
    return table


# The bars of a training run (inspkit train, the simulator's first model).
TRAIN_BARS = {"load": "images", "candidate": "candidates", "epoch": "epochs"}


class StepBars:
    """One Rich bar per kind of step, made when its first report arrives.

    Args:
        labels: Bar label per kind, e.g. ``{"load": "images", "epoch": "epochs"}``.
    """

    def __init__(self, labels: dict[str, str]) -> None:
        self.labels = labels
        self.progress = Progress(TextColumn("[bold]{task.description:<10}"), BarColumn(), MofNCompleteColumn(),
                                 TimeElapsedColumn(), console=err_console, transient=True)
        self.tasks: dict[str, int] = {}

    def __enter__(self) -> StepBars:
        self.progress.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.__exit__(*exc)

    def update(self, kind: str, done: int, total: int) -> None:
        """The ``on_progress`` callback: ``done`` of ``total`` steps of ``kind``."""
        if kind not in self.tasks:
            self.tasks[kind] = self.progress.add_task(self.labels.get(kind, kind), total=total)
        self.progress.update(self.tasks[kind], completed=done, total=total)
