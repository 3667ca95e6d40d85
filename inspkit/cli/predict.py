"""``inspkit predict``: inspect image files with a stored model."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from inspkit.cli._common import WorkspaceOpt, console, open_workspace


def predict(
    paths: list[Path] = typer.Argument(..., help="Image files (raw frames; the model's ROI is applied)."),
    workspace: Path = WorkspaceOpt,
    version: str = typer.Option(None, "--version", "-v", help="Model version (default: production)."),
    device: str = typer.Option("auto", "--device", help="auto, cpu or cuda."),
) -> None:
    """Print each image's verdict, p(OK) and boxes."""
    from inspkit.data.imageio import read_image
    from inspkit.models.inferencer import Inferencer

    with open_workspace(workspace) as ws:
        inf = Inferencer.load(ws.root / "models", version, device)
    table = Table(title=f"{inf.meta.version} ({inf.meta.architecture})", title_justify="left")
    for col in ("image", "verdict", "p(OK)", "label", "confidence", "boxes", "ms"):
        table.add_column(col, justify="left" if col in ("image", "label") else "right")
    for path in paths:
        r = inf.predict(read_image(path))
        verdict = "—" if r.verdict is None else f"[{'green' if r.verdict.value == 'OK' else 'red'}]{r.verdict.value}[/]"
        p_ok = "—" if r.p_ok is None else f"{r.p_ok:.3f}"
        table.add_row(str(path), verdict, p_ok, r.label, f"{r.confidence:.3f}", str(len(r.boxes)), f"{r.latency_ms:.1f}")
    console.print(table)


def register(app: typer.Typer) -> None:
    """Add the command to the app."""
    app.command("predict")(predict)
