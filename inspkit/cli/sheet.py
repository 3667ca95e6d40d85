"""``inspkit sheet``: a contact sheet PNG of samples and their labels."""

from __future__ import annotations

from pathlib import Path

import typer

from inspkit.cli._common import WorkspaceOpt, console, open_workspace


def sheet(
    out: Path = typer.Option(Path("sheet.png"), "--out", "-o", help="PNG file to write."),
    workspace: Path = WorkspaceOpt,
    source: str = typer.Option(None, "--source", help="Only samples from this source: crop, augment, sim:<product>, folder:<name>."),
    limit: int = typer.Option(48, "--limit", "-n", min=1, help="At most this many samples."),
    tile_px: int = typer.Option(96, "--tile-px", min=16, help="Tile size in pixels."),
) -> None:
    """Write a contact sheet: each sample framed green (OK) or red (NG), boxes in yellow."""
    from inspkit.data.sheet import write_sheet

    with open_workspace(workspace) as ws:
        shown = write_sheet(ws, out, source, limit, tile_px)
    console.print(f"wrote {out} ({shown} samples)")


def register(app: typer.Typer) -> None:
    """Add the command to the app."""
    app.command("sheet")(sheet)
