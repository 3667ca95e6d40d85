"""``inspkit label``: OK/NG and defect types from folders, CSV, YOLO files or ground truth."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from inspkit.cli._common import WorkspaceOpt, console, open_workspace, skipped_table, warn
from inspkit.errors import InputError


def label(
    workspace: Path = WorkspaceOpt,
    from_folders: Path = typer.Option(None, "--from-folders", help="ok/ + ng/<type>/ or good/ + <type>/ folders (<class>/ for multiclass)."),
    from_csv: Path = typer.Option(None, "--from-csv", help="CSV with columns image (path or hash), label, defect_type."),
    yolo: Path = typer.Option(None, "--yolo", help="Folder of images with YOLO box files (class cx cy w h)."),
    from_truth: bool = typer.Option(False, "--from-truth", help="Label simulated frames with their ground truth."),
) -> None:
    """Label samples by the recipe's defect policy; unknown defect types are refused."""
    chosen = [x for x in (from_folders, from_csv, yolo) if x is not None] + ([True] if from_truth else [])
    if len(chosen) != 1:
        raise InputError("give exactly one of --from-folders, --from-csv, --yolo, --from-truth")
    with open_workspace(workspace) as ws:
        report = _run(ws, from_folders, from_csv, yolo)
        console.print(_table(ws))
    if report.collect:
        warn(report.collect.warnings)
    table = skipped_table(report.skipped)
    if table:
        console.print(table)
    console.print(f"labelled [bold]{report.labelled}[/] samples ({report.imported} newly collected)")


def _run(ws, from_folders: Path | None, from_csv: Path | None, yolo: Path | None):
    from inspkit.data import label as lib

    if from_folders is not None:
        return lib.label_from_folders(ws, from_folders)
    if from_csv is not None:
        return lib.label_from_csv(ws, from_csv)
    if yolo is not None:
        from inspkit.data.label_yolo import label_from_yolo

        return label_from_yolo(ws, yolo)
    return lib.label_from_truth(ws)


def _table(ws) -> Table:
    from inspkit.data.label import label_table

    table = Table(title="Labels of raw frames", title_justify="left")
    for col in ("label", "defect type", "policy", "frames"):
        table.add_column(col, justify="right" if col == "frames" else "left")
    for (lab, dtype), n in label_table(ws).items():
        policy = ws.recipe.taxonomy.get(dtype or "", "") if dtype else ""
        table.add_row(lab or "unlabelled", dtype or "—", policy, str(n))
    return table


def register(app: typer.Typer) -> None:
    """Add the command to the app."""
    app.command("label")(label)
