"""``inspkit status``: counts by label, defect type, split and source; storage; integrity."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.columns import Columns
from rich.table import Table

from inspkit.cli._common import WorkspaceOpt, console, count_table, open_workspace

_LEVEL_STYLE = {"ok": "green", "warn": "yellow", "full": "bold red"}


def status(
    workspace: Path = WorkspaceOpt,
    check: bool = typer.Option(False, "--check", help="Also check database and image files agree."),
    deep: bool = typer.Option(False, "--deep", help="With --check, re-hash every image file."),
) -> None:
    """Show what the workspace holds and how much storage is left."""
    from inspkit.store.check import check_workspace
    from inspkit.store.summary import summarize

    with open_workspace(workspace) as ws:
        s = summarize(ws)
        console.print(f"workspace [bold]{ws.root}[/]  recipe [bold]{s.recipe}[/]  samples [bold]{s.samples}[/]")
        console.print(Columns([count_table(f"by {g}", c, g) for g, c in s.counts.items()]))
        st = s.storage
        console.print(
            f"storage: [{_LEVEL_STYLE[st.level]}]{st.level}[/] — {st.free_gb:.1f} of {st.total_gb:.1f} GB free "
            f"(warn below {st.warn_free_gb:g}, refuse below {st.min_free_gb:g}); images use {s.images_mb:.1f} MB"
        )
        _print_maintenance(ws)
        if check:
            _print_check(check_workspace(ws, deep=deep))


def _print_maintenance(ws) -> None:  # noqa: ANN001  (Workspace; imported lazily)
    from inspkit.maintain.summary import maintenance_summary

    m = maintenance_summary(ws)
    if not m.versions:
        console.print("models: none yet; train one with 'inspkit train'")
        return
    table = Table(title="model versions", title_justify="left")
    for col in ("version", "stage", "architecture", "parent", "update", "test accuracy"):
        table.add_column(col)
    for v in m.versions:
        acc = v.meta.metrics.get("accuracy")
        table.add_row(v.meta.version, v.stage.value, v.meta.architecture, v.meta.parent or "—",
                      str(v.meta.extra.get("update", "train")), "—" if acc is None else f"{acc:.3f}")
    console.print(table)
    over = m.fsr > m.beta
    style = "bold red" if over else "green"
    console.print(f"FSR [{style}]{m.fsr:.3f}[/] against β {m.beta:g} ({m.accumulated} failed of |D| {m.training_size})"
                  + (" — re-train due: run 'inspkit update'" if over else ""))
    slots = ", ".join(f"t{t}: {n}" for t, n in m.per_slot.items()) or "none"
    console.print(f"failed samples per {m.slot_days:g}-day slot: {slots}")
    console.print(f"reviews: {m.left} of {m.queue} unreliable sample(s) left (|p − 0.5| ≤ {m.alpha:g}); "
                  f"{m.updates} update(s) made")


def _print_check(report) -> None:
    if report.ok:
        console.print(f"integrity: [green]ok[/] ({report.samples} samples, every file referenced and present)")
        return
    console.print(
        f"integrity: [bold red]FAILED[/] database={report.database} missing={len(report.missing)} "
        f"orphans={len(report.orphans)} corrupt={len(report.corrupt)}"
    )
    raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add the command to the app."""
    app.command("status")(status)
