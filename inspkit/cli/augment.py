"""``inspkit augment``: perspective, colour and noise augmentation."""

from __future__ import annotations

from pathlib import Path

import typer

from inspkit.cli._common import WorkspaceOpt, console, open_workspace, progress, warn
from inspkit.errors import InputError


def augment(
    workspace: Path = WorkspaceOpt,
    factor: int = typer.Option(None, "--factor", "-n", help="Augmented children per sample (default: the recipe's augment.factor)."),
    ops: str = typer.Option("perspective,color,noise", "--ops", help="Comma-separated ops, applied in order."),
    seed: int = typer.Option(None, help="Seed (default: the recipe's); the same seed repeats a run exactly."),
) -> None:
    """Add augmented children to labelled samples (train split or not yet split; never val or test)."""
    from inspkit.data.augment import augment_samples
    from inspkit.data.augment_ops import parse_ops
    from inspkit.recipe import with_overrides

    try:
        op_names = parse_ops(ops)
    except ValueError as exc:
        raise InputError(f"--ops: {exc}") from None
    with open_workspace(workspace) as ws:
        recipe = with_overrides(ws.recipe, {"augment.factor": factor, "seed": seed})
        with progress("augmenting", None) as step:  # children stored; the total is not known up front
            report = augment_samples(ws, recipe.augment.factor, op_names, recipe.augment, recipe.seed, step)
    warn(report.warnings)
    console.print(
        f"augmented [bold]{report.sources}[/] samples x{recipe.augment.factor} ({', '.join(op_names)}): "
        f"created {report.created}, {report.duplicates} already there, {report.skipped_held_out} val/test samples left alone"
    )


def register(app: typer.Typer) -> None:
    """Add the command to the app."""
    app.command("augment")(augment)
