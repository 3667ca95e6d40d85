"""``inspkit train``: train candidates, show the selection table, store the best that fits."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from inspkit.cli._common import TRAIN_BARS, StepBars, WorkspaceOpt, console, open_workspace


def train(
    workspace: Path = WorkspaceOpt,
    task: str = typer.Option(None, "--task", help="classify or detect (default: the recipe's)."),
    candidates: str = typer.Option(None, "--candidates", "-c", help="Comma-separated registry names, e.g. timm:resnet18,timm:vgg16."),
    repeats: int = typer.Option(None, "--repeats", "-k", help="Seeds per candidate; the table shows mean ± std."),
    epochs: int = typer.Option(None, "--epochs", help="Training epochs."),
    batch_size: int = typer.Option(None, "--batch-size", help="Images per step."),
    lr: float = typer.Option(None, "--lr", help="Learning rate."),
    image_size: int = typer.Option(None, "--image-size", help="Model input side in pixels."),
    seed: int = typer.Option(None, "--seed", help="First seed."),
    device: str = typer.Option("auto", "--device", help="auto, cpu or cuda."),
    weights: Path = typer.Option(None, "--weights", help="Initialise from this local weights file (safetensors or .pt)."),
) -> None:
    """Train every candidate on the same split and seeds; keep the best whose p99 fits the cycle time."""
    from inspkit.models.device import resolve_device
    from inspkit.models.select import TrainRequest, train_and_select
    from inspkit.recipe import with_overrides

    with open_workspace(workspace) as ws:
        recipe = with_overrides(ws.recipe, {
            "task": task, "image_size": image_size, "seed": seed,
            "train.candidates": candidates.split(",") if candidates else None,
            "train.repeats": repeats, "train.epochs": epochs, "train.batch_size": batch_size, "train.lr": lr,
        })
        request = TrainRequest(recipe, resolve_device(device), weights)
        with StepBars(TRAIN_BARS) as bars:
            sel = train_and_select(ws, request, bars.update)
    _render(sel)


def _render(sel) -> None:
    from inspkit.models.table import columns, table_rows

    title = (f"Candidates ({sel.task}; latency at batch 1 on {sel.device}, {sel.threads} torch threads; "
             f"p99 must fit the {sel.budget_ms:g} ms cycle time)")
    table = Table(title=title, title_justify="left")
    for col in columns(sel.task):
        table.add_column(col, justify="left" if col == "candidate" else "right", no_wrap=col == "candidate")
    for cells in table_rows(sel.rows, sel.task, sel.budget_ms):
        table.add_row(*cells)
    console.print(table)
    console.print(f"samples per split (frames, crops, augmentations): {sel.splits.counts}; table saved in {sel.run_dir}")
    if sel.meta is None:
        console.print("[bold red]no candidate fits the cycle time[/]; nothing stored — pick faster models or a longer cycle_time_ms")
        raise typer.Exit(1)
    stage = "promoted to production" if sel.promoted else "stored as a candidate (promote it with 'inspkit models promote')"
    console.print(f"chose [bold]{sel.chosen}[/] → version [bold]{sel.meta.version}[/], {stage}")


def register(app: typer.Typer) -> None:
    """Add the command to the app."""
    app.command("train")(train)
