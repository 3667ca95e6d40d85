"""``inspkit simulate``: run the line for days with the vision station, PLC, MES and the edge model."""

from __future__ import annotations

import shlex
import sys
from datetime import datetime
from pathlib import Path

import typer
from rich.table import Table

from inspkit.cli._common import console
from inspkit.errors import InputError
from inspkit.types import Goal

DEFAULT_RECIPE = Path(__file__).resolve().parents[2] / "recipes" / "cylinder-bonding.yaml"
DEFAULT_COMPARE = "ft-only,wt-only,ft-3,ft-5,ft-10,fsr,replay"


def simulate(
    days: int = typer.Option(None, "--days", help="Simulated days (default: the recipe's simulate.days)."),
    recipe: Path = typer.Option(None, "--recipe", "-r", help="Recipe YAML (default: the workspace's, else cylinder-bonding)."),
    workspace: Path = typer.Option(None, "--workspace", "-w", help="Use this workspace's production model (trained there first if it has none)."),
    seed: int = typer.Option(None, "--seed", help="Seed of every random stream (default: the recipe's)."),
    out: Path = typer.Option(None, "--out", "-o", help="Run folder (default: simulate-runs/<recipe>-<time>)."),
    parts_per_day: int = typer.Option(None, "--parts-per-day", help="Parts made per working day."),
    goal: Goal = typer.Option(None, "--goal", help="Goal routing (default: the recipe's connect.goal)."),
    device: str = typer.Option("auto", "--device", help="auto, cpu or cuda, for training and inference."),
    protocol: str = typer.Option("line", "--protocol", help="line: the simulated line; paper: the paper's update-policy comparison (Fig. 10)."),
    compare: str = typer.Option(DEFAULT_COMPARE, "--compare", help="--protocol paper: update policies to compare, comma-separated."),
    image_size: int = typer.Option(None, "--image-size", help="--protocol paper: model input side in px (default 32)."),
    epochs: int = typer.Option(None, "--epochs", help="--protocol paper: epochs of the initial training and each re-training."),
    alpha: float = typer.Option(None, "--alpha", help="Review samples with |p - 0.5| <= alpha (default: the recipe's manage.alpha)."),
    policy: str = typer.Option(None, "--policy", help="Model maintenance on the line: none, ft-only, wt-only, "
                               "ft-K, fsr or replay (default: the recipe's manage.policy)."),
    beta: float = typer.Option(None, "--beta", help="Re-train when FSR exceeds beta (default: the recipe's manage.beta)."),
    realtime: bool = typer.Option(False, "--realtime", help="Real time: the simulated vision station, PLC (Modbus TCP) "
                                  "and MES around a running 'inspkit connect', for --minutes."),
    minutes: float = typer.Option(2.0, "--minutes", min=0.05, help="--realtime: how long the line runs."),
) -> None:
    """Simulate the line day by day (metrics.csv, mes.db, report.md, plots), or compare update policies (--protocol paper)."""
    from inspkit.cli._paper import PaperRequest, check_protocol, run_paper
    from inspkit.cli._simulate import prepare, run_with_progress

    manage = {"manage.alpha": alpha, "manage.beta": beta}
    if check_protocol(protocol) == "paper":
        if workspace is not None:
            raise InputError("--protocol paper trains its own models from the recipe; drop --workspace (give --recipe)")
        run_paper(PaperRequest(recipe or DEFAULT_RECIPE, out, compare,
                               {"seed": seed, **manage}, {"days": days, "image_size": image_size, "epochs": epochs},
                               device, _command()))
        return

    if realtime:
        _realtime(_recipe_path(recipe, workspace), workspace, out, {"seed": seed, "connect.goal": goal}, minutes, device)
        return
    plan = prepare(_recipe_path(recipe, workspace), workspace, out, {
        "simulate.days": days, "seed": seed, "simulate.parts_per_day": parts_per_day, "connect.goal": goal,
        **manage,
    }, device, _command(), policy=policy)
    outcome = run_with_progress(plan)
    _render(outcome)


def _realtime(recipe_path: Path | None, workspace: Path | None, out: Path | None, overrides: dict,
              minutes: float, device: str) -> None:
    from inspkit.cli._realtime import run_realtime_line
    from inspkit.cli._simulate import _recipe

    recipe = _recipe(recipe_path, workspace, overrides)
    run_dir = out or default_out(f"{recipe.name}-realtime")
    counts = run_realtime_line(recipe, workspace or run_dir / "workspace", run_dir, minutes, device)
    table = Table(title=f"real-time line, {minutes:g} min", title_justify="left")
    for col in ("parts sent", "replies", "PLC results", "MES records", "errors", "by model", "by vision",
                "fail-safe", "late", "round trip p50 ms", "p99 ms"):
        table.add_column(col, justify="right")
    by = counts.by
    table.add_row(*map(str, (counts.sent, counts.replies, counts.plc_results, counts.mes_records, counts.errors,
                             by.get("model", 0), by.get("vision", 0), by.get("fail-safe", 0), counts.late)),
                  f"{counts.p50_ms:.1f}", f"{counts.p99_ms:.1f}")
    console.print(table)
    if not counts.complete:
        raise InputError(f"not every part ended with exactly one MES record and one PLC result; see {run_dir}")
    console.print(f"every part ended with exactly one MES record and one PLC result · run folder: {run_dir}")


def _recipe_path(recipe: Path | None, workspace: Path | None) -> Path | None:
    if recipe is not None or workspace is not None:
        return recipe
    return DEFAULT_RECIPE


def _command() -> str:
    return "inspkit " + " ".join(shlex.quote(a) for a in sys.argv[1:])


def _render(outcome) -> None:  # noqa: ANN001  (SimOutcome)
    from simulator.report import summarise

    rows = outcome.result.rows
    table = Table(title="first vs last 30 working days", title_justify="left")
    for col in ("metric", "first 30", "last 30", "whole run"):
        table.add_column(col, justify="left" if col == "metric" else "right")
    for metric, *values in summarise(rows):
        table.add_row(metric, *(_fmt(metric, v) for v in values))
    console.print(table)
    res = outcome.result
    if res.interrupted:
        console.print(f"[bold yellow]interrupted[/] after {len(rows)} complete days; the report covers those")
    console.print(f"{res.parts} parts in {res.wall_s:.0f} s ({res.parts / max(res.wall_s, 1e-9):.0f} parts/s); "
                  f"PLC: {res.dispositions.get('next', 0)} to the next process, "
                  f"{res.dispositions.get('ng-buffer', 0)} to the NG buffer")
    console.print(f"report: [bold]{outcome.report.report}[/]  metrics: {outcome.metrics_csv}  MES: {outcome.mes_db}")
    if outcome.updates_csv is not None:
        console.print(f"model updates: {outcome.updates_csv}")
    if res.interrupted:
        raise typer.Exit(130)


def _fmt(metric: str, value: float | None) -> str:
    if value is None:
        return "—"
    if metric in ("throughput_per_h", "idle_h"):
        return f"{value:.1f}"
    return f"{100 * value:.1f} %"


def default_out(recipe_name: str) -> Path:
    """``simulate-runs/<recipe>-<local time>``."""
    return Path("simulate-runs") / f"{recipe_name}-{datetime.now():%Y%m%d-%H%M%S}"


def register(app: typer.Typer) -> None:
    """Add the command to the app."""
    app.command("simulate")(simulate)


