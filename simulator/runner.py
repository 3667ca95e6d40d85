"""A simulation run as a user starts it: set-up period, the line, checkpoints, the report.

The edge model is injected (``inspkit simulate`` passes the Inferencer), so
this module runs without torch. Everything a run writes goes into its run
folder: ``metrics.csv``, ``mes.db``, ``recipe.yaml``, ``report.md`` and plots,
and ``updates.csv`` when the model is maintained (the maintainer is injected
too, with its training, so the line still runs without torch).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from inspkit.connect.mes import SqliteMes
from inspkit.recipe import Recipe, dump_recipe
from inspkit.store.atomic import atomic_write_text
from inspkit.types import Goal
from simulator.camera import Camera, drift_for, product_for, setup_frames
from simulator.line import LineResult, LineSetup, run_line
from simulator.metrics import DayRow, UpdateEvent, csv_text, updates_csv_text
from simulator.parts import LineMaintainer, ModelInspector, Part
from simulator.report import ReportFiles, RunInfo, write_report
from simulator.vision import LegacyVision, tune_vision

#: Days between two checkpoints of metrics.csv during a run.
CHECKPOINT_DAYS = 30
#: The update events of a maintained run.
UPDATES_NAME = "updates.csv"


@dataclass(frozen=True)
class SimRequest:
    """One run.

    Attributes:
        recipe: The resolved recipe.
        seed: Seed of every random stream.
        days: Days to simulate.
        goal: Goal routing.
        run_dir: Where the run's files go.
        command: The command line that reproduces the run (for the report).
        images: Render frames and run real inspectors (False: a line without images,
            for which the vision station and model must be stubs).
        policy: The update policy the maintainer follows (``none``: no maintainer), for the report.
    """

    recipe: Recipe
    seed: int
    days: int
    goal: Goal
    run_dir: Path
    command: str = ""
    images: bool = True
    policy: str = "none"


@dataclass(frozen=True)
class SimOutcome:
    """What a run left behind."""

    result: LineResult
    metrics_csv: Path
    mes_db: Path
    report: ReportFiles
    updates_csv: Path | None = None


class StationVision:
    """The tuned legacy station as the line's vision inspector."""

    def __init__(self, station: LegacyVision) -> None:
        self.station = station

    def __call__(self, parts: list[Part], images: list | None):  # noqa: ANN204
        if images is None:
            raise ValueError("the legacy vision station needs images; run the line with images")
        return self.station.inspect_batch(images)


def tuned_station(recipe: Recipe, seed: int) -> StationVision:
    """The legacy station, tuned on the set-up period's parts (labelled by their truth)."""
    product = product_for(recipe)
    frames = setup_frames(product, drift_for(recipe, product), seed + 1, recipe.simulate.setup_days,
                          recipe.simulate.vision_tuning_parts)
    rules = tune_vision([f.frame.image for f in frames], [f.frame.label for f in frames], recipe.roi.to_roi())
    return StationVision(LegacyVision(rules))


def run_simulation(req: SimRequest, vision: Callable, model: ModelInspector | None,  # type: ignore[type-arg]
                   on_day: Callable[[DayRow], None] | None = None,
                   maintainer: LineMaintainer | None = None) -> SimOutcome:
    """Run the line for ``req.days`` days and write metrics, MES and report.

    The metrics CSV is checkpointed every :data:`CHECKPOINT_DAYS` days; Ctrl-C
    ends the run after the last complete day and still writes the report.
    ``maintainer`` (``simulator.maintainer.Maintainer``) reviews and updates the
    model; its update events go to ``updates.csv``.
    """
    req.run_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_text(req.run_dir / "recipe.yaml", dump_recipe(req.recipe))
    metrics_csv, mes_db = req.run_dir / "metrics.csv", req.run_dir / "mes.db"
    for name in ("mes.db", "mes.db-wal", "mes.db-shm", "report.md", "run.json", UPDATES_NAME):
        (req.run_dir / name).unlink(missing_ok=True)  # an earlier run's, in this folder
    atomic_write_text(metrics_csv, csv_text([]))  # until the first checkpoint: a header, not an old run
    product = product_for(req.recipe)
    drift = drift_for(req.recipe, product)
    mes = SqliteMes(mes_db)
    rows: list[DayRow] = []

    def day_done(row: DayRow) -> None:
        rows.append(row)
        if len(rows) % CHECKPOINT_DAYS == 0:
            atomic_write_text(metrics_csv, csv_text(rows))
        if on_day is not None:
            on_day(row)

    render = Camera(product, drift, req.seed) if req.images else None
    if maintainer is not None and render is not None:  # only maintained runs need it (and its imports)
        from simulator.maintainer import FrameKeeper

        render = FrameKeeper(render)
    setup = LineSetup(req.recipe, drift, vision, model, render, mes, req.seed, req.days, req.goal, maintainer)
    try:
        result = run_line(setup, day_done)
    finally:
        mes.close()
    atomic_write_text(metrics_csv, csv_text(result.rows))
    updates: tuple[UpdateEvent, ...] = tuple(getattr(maintainer, "events", ())) if maintainer else ()
    updates_csv = None
    if maintainer is not None:
        updates_csv = req.run_dir / UPDATES_NAME
        atomic_write_text(updates_csv, updates_csv_text(list(updates)))
    info = _info(req, result, model, drift.events(), updates)
    atomic_write_text(req.run_dir / "run.json", json.dumps(_speed(info, result), indent=2) + "\n")
    report = write_report(req.run_dir, result.rows, info)
    return SimOutcome(result, metrics_csv, mes_db, report, updates_csv)


def _info(req: SimRequest, result: LineResult, model: ModelInspector | None,
          events: tuple[tuple[float, str], ...], updates: tuple[UpdateEvent, ...]) -> RunInfo:
    spent = sum(result.timings.values())
    shares = {k: v / result.wall_s for k, v in result.timings.items()} if result.wall_s else {}
    if result.wall_s:
        shares["simulation"] = max(0.0, 1 - spent / result.wall_s)
    return RunInfo(
        recipe=req.recipe.name, seed=req.seed, days_planned=req.days, goal=req.goal.value,
        parts_per_day=req.recipe.simulate.parts_per_day,
        model=getattr(model, "description", None) or (model.version if model else "none"),
        events=events, command=req.command, interrupted=result.interrupted, wall_s=result.wall_s,
        parts_per_s=result.parts / result.wall_s if result.wall_s else 0.0, time_shares=shares,
        policy=req.policy, updates=updates, manage=req.recipe.manage,
    )


def _speed(info: RunInfo, result: LineResult) -> dict[str, object]:
    """The run's speed, machine-readable (benchmarks read it)."""
    speed: dict[str, object] = {
        "days": len(result.rows), "parts": result.parts, "wall_s": round(info.wall_s, 3),
        "parts_per_s": round(info.parts_per_s, 1), "interrupted": result.interrupted,
        "time_shares": {k: round(v, 4) for k, v in info.time_shares.items()}}
    if info.policy != "none":
        speed["policy"] = info.policy
        speed["updates"] = {kind: sum(e.kind == kind for e in info.updates) for kind in ("finetune", "retrain")}
        speed["promoted"] = sum(e.promoted for e in info.updates)
        speed["training_wall_s"] = round(sum(e.wall_s for e in info.updates), 3)
    return speed
