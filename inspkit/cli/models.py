"""``inspkit models``: list, show, promote, roll back and export stored versions."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import typer
from rich.table import Table

from inspkit.cli._common import WorkspaceOpt, console

models_app = typer.Typer(help="Stored model versions: list, show, promote, rollback, export.", no_args_is_help=True)

_STAGE_STYLE = {"production": "bold green", "candidate": "yellow", "retired": "dim"}


def _store(workspace: Path):
    from inspkit.cli._common import open_workspace
    from inspkit.models.store import ModelStore

    with open_workspace(workspace) as ws:  # checks it is a workspace
        return ModelStore(ws.root / "models")


@models_app.command("list")
def list_versions(workspace: Path = WorkspaceOpt) -> None:
    """Every version with its stage, architecture and test metrics."""
    infos = _store(workspace).list()
    table = Table(title="Model versions", title_justify="left")
    for col in ("version", "stage", "architecture", "task", "accuracy", "p99 ms", "from", "created"):
        table.add_column(col)
    for info in infos:
        m = info.meta
        table.add_row(m.version, f"[{_STAGE_STYLE[info.stage.value]}]{info.stage.value}[/]", m.architecture, m.task,
                      f"{m.metrics.get('accuracy', float('nan')):.3f}", f"{m.metrics.get('p99_ms', float('nan')):.1f}",
                      _origin(m), m.created_at)
    console.print(table if infos else "no model versions yet; run 'inspkit train'")


def _origin(meta) -> str:  # noqa: ANN001  (ModelMeta)
    """Where a version came from: trained here, updated from a parent, or expanded from another line."""
    if meta.task == "generate":
        return f"GAN on {meta.extra.get('real_images', '?')} {meta.extra.get('label', '')} images"
    source = meta.extra.get("expanded_from")
    if source:
        return f"{meta.extra.get('method', 'expand')} from {Path(source['workspace']).name}:{source['version']}"
    if meta.parent:
        return f"{meta.extra.get('update', 'update')} of {meta.parent}"
    return "trained"


@models_app.command("show")
def show(version: str = typer.Argument(None, help="Version (default: production)."), workspace: Path = WorkspaceOpt) -> None:
    """A version's metadata, verified against what was stored."""
    store = _store(workspace)
    resolved = store.resolve(version)
    store.weights_path(resolved)  # verifies the weights too
    console.print_json(json.dumps(asdict(store.meta(resolved)), default=str))


@models_app.command("promote")
def promote(version: str = typer.Argument(..., help="Version to put in production."), workspace: Path = WorkspaceOpt) -> None:
    """Make a version production (atomic switch; the old one retires)."""
    old = _store(workspace).promote(version)
    console.print(f"production: {old or 'none'} → [bold]{version}[/]")


@models_app.command("rollback")
def rollback(workspace: Path = WorkspaceOpt) -> None:
    """Put the previous production version back."""
    current, target = _store(workspace).rollback()
    console.print(f"production: {current} → [bold]{target}[/] ({current} retired)")


@models_app.command("export")
def export(
    version: str = typer.Argument(None, help="Version (default: production)."),
    fmt: str = typer.Option("onnx", "--format", help="Export format (onnx)."),
    out: Path = typer.Option(None, "--out", "-o", help="Output file (default: models/VERSION/model.onnx)."),
    workspace: Path = WorkspaceOpt,
) -> None:
    """Export a classifier to ONNX and check onnxruntime agrees with torch."""
    from inspkit.errors import InputError
    from inspkit.models.inferencer import Inferencer
    from inspkit.models.onnx_export import export_onnx

    if fmt != "onnx":
        raise InputError(f"--format '{fmt}' is not supported; use onnx")
    store = _store(workspace)
    resolved = store.resolve(version)
    inf = Inferencer.load(store.root, resolved, device="cpu")
    if inf.meta.task != "classify":
        raise InputError(f"{resolved} is a detector; ONNX export is for classifiers (Ultralytics has its own exporter)")
    check = export_onnx(inf.model, inf.meta.input_size, out or store.root.parent / "runs" / f"{resolved}.onnx")
    console.print(f"wrote {check.path} (opset {check.opset}); onnxruntime vs torch max |Δlogit| "
                  f"{check.max_abs_diff:.2e} ≤ {check.tolerance:g}")


def register(app: typer.Typer) -> None:
    """Add the command group to the app."""
    app.add_typer(models_app, name="models")
