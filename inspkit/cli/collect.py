"""``inspkit collect``: import images from a vision PC's folder or the simulator."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import typer

from inspkit.cli._common import WorkspaceOpt, console, open_workspace, progress, skipped_table, warn
from inspkit.errors import InputError


def collect(
    source: str = typer.Option(..., "--source", "-s", help="folder:PATH (a vision PC's image folder) or sim:N (N simulated frames)."),
    workspace: Path = WorkspaceOpt,
    watch: bool = typer.Option(False, "--watch", help="With folder:, keep importing new files until Ctrl-C."),
    poll_s: float = typer.Option(1.0, "--poll-s", min=0.05, help="With --watch, seconds between looks at the folder."),
    settle_s: float = typer.Option(2.0, "--settle-s", min=0.0, help="With --watch, import a file once it has not changed for this long."),
    seed: int = typer.Option(None, help="With sim:, the seed (default: the recipe's)."),
    line: str = typer.Option(None, "--line", help="With sim:, draw from this line of the recipe's 'lines:' (its lighting, camera, colours and station); default: the main line."),
) -> None:
    """Bring images into the workspace; duplicates (same content) are skipped and counted."""
    kind, _, arg = source.partition(":")
    if line is not None and kind != "sim":
        raise InputError(f"--line works with --source sim:N only, not with '{source}'")
    with open_workspace(workspace) as ws:
        if kind == "folder" and arg:
            report = _watch(ws, Path(arg), poll_s, settle_s) if watch else _folder(ws, Path(arg))
        elif kind == "sim" and arg:
            report = _sim(ws, _count(arg), ws.recipe.seed if seed is None else seed, line)
        else:
            raise InputError(f"--source '{source}' is not folder:PATH or sim:N")
    _render(report)


def _folder(ws, folder: Path):
    from inspkit.data.collect import collect_folder, list_folder

    with progress(f"importing {folder}", len(list_folder(folder))) as step:
        return collect_folder(ws, folder, step)


def _watch(ws, folder: Path, poll_s: float, settle_s: float):
    from inspkit.data.collect import list_folder, watch_folder

    list_folder(folder)  # fail now, with one line, if the folder is unusable
    console.print(f"watching {folder} (Ctrl-C to stop)")
    stop = {"now": False}

    def on_batch(report) -> None:
        console.print(f"{time.strftime('%H:%M:%S')} added {report.added}, duplicates {report.duplicates}")

    # Ctrl-C asks the loop to stop after the batch in hand, so the summary is printed.
    previous = signal.signal(signal.SIGINT, lambda *_: stop.update(now=True))
    try:
        return watch_folder(ws, folder, lambda: stop["now"], poll_s, on_batch, settle_s)
    finally:
        signal.signal(signal.SIGINT, previous)


def _sim(ws, count: int, seed: int, line: str | None):
    from inspkit.cli._sim import sim_images
    from inspkit.data.collect import collect_images

    source = f"sim:{ws.recipe.product.generator}"
    start = ws.samples.count_by("source").get(source, 0)
    images = sim_images(ws.recipe, count, seed, start, line)
    with progress(f"simulating {ws.recipe.product.generator}", count) as step:
        return collect_images(ws, images, step)


def _count(text: str) -> int:
    if not text.isdigit() or int(text) <= 0:
        raise InputError(f"sim:{text} needs a positive whole number of frames, e.g. sim:200")
    return int(text)


def _render(report) -> None:
    warn(report.warnings)
    table = skipped_table(report.skipped)
    if table:
        console.print(table)
    skipped = sum(len(v) for v in report.skipped.values())
    console.print(f"added [bold]{report.added}[/], duplicates skipped {report.duplicates}, other files skipped {skipped}")


def register(app: typer.Typer) -> None:
    """Add the command to the app."""
    app.command("collect")(collect)
