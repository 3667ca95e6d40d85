"""``inspkit explain``: Grad-CAM (classifiers) or EigenCAM (detectors) overlays."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from inspkit.cli._common import WorkspaceOpt, console, open_workspace


def explain(
    sample_ids: list[int] = typer.Argument(None, help="Sample ids to explain."),
    doubtful: int = typer.Option(None, "--doubtful", "-n", min=1, help="Explain the N samples with p(OK) closest to 0.5."),
    workspace: Path = WorkspaceOpt,
    version: str = typer.Option(None, "--version", "-v", help="Model version (default: production)."),
    out: Path = typer.Option(None, "--out", "-o", help="Folder for the PNGs (default: WS/runs/explain-VERSION)."),
    device: str = typer.Option("auto", "--device", help="auto, cpu or cuda."),
) -> None:
    """Write heatmap overlays and score whether the model looked at the part (or the defect)."""
    from inspkit.errors import InputError
    from inspkit.explain_samples import explain_samples, most_doubtful
    from inspkit.models.inferencer import Inferencer

    if bool(sample_ids) == bool(doubtful):
        raise InputError("give sample ids or --doubtful N (one of them)")
    with open_workspace(workspace) as ws:
        inf = Inferencer.load(ws.root / "models", version, device)
        samples = most_doubtful(ws, inf, doubtful) if doubtful else [_sample(ws, i) for i in sample_ids]
        results = explain_samples(ws, inf, samples, out or ws.root / "runs" / f"explain-{inf.version}")
    table = Table(title=f"{inf.version} ({inf.meta.architecture}) — CAM on target", title_justify="left")
    for col in ("sample", "label", "predicted", "p(OK)", "on target", "png"):
        table.add_column(col)
    for r in results:
        score = "—" if r.score is None else f"{r.score:.2f} ({r.target})"
        table.add_row(str(r.sample_id), r.label or "—", r.prediction, "—" if r.p_ok is None else f"{r.p_ok:.3f}", score, str(r.path))
    console.print(table)


def _sample(ws, sample_id: int):
    from inspkit.errors import InputError

    sample = ws.samples.get(sample_id)
    if sample is None:
        raise InputError(f"no sample with id {sample_id} in {ws.root}; 'inspkit status' shows what is stored")
    return sample


def register(app: typer.Typer) -> None:
    """Add the command to the app."""
    app.command("explain")(explain)
