"""The report of a simulated line run: ``report.md`` and PNG plots in the run folder.

The summary compares the first and the last working days of the run, so drift
and model maintenance show as a change between two columns. Every file is
written atomically; the plots first, then ``report.md``, so a report never
links a plot that is not there yet.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from inspkit.recipe_line import ManageSpec
from inspkit.store.atomic import atomic_write_bytes, atomic_write_text
from simulator.maint_report import maintenance_section
from simulator.metrics import DayRow, UpdateEvent
from simulator.plots import PLOTS, maintenance_png, weighted_mean, working_days

REPORT_NAME = "report.md"
FIRST_DAYS = 30

# (DayRow field, label, kind) in the order of the summary table; kind picks the format.
SUMMARY_METRICS: tuple[tuple[str, str, str], ...] = (
    ("fty", "first-time yield", "rate"),
    ("false_call_rate", "false-call rate (of good parts)", "rate"),
    ("escape_rate", "escape rate (of defective parts)", "rate"),
    ("model_accuracy", "model accuracy", "rate"),
    ("vision_accuracy", "vision accuracy", "rate"),
    ("final_accuracy", "final accuracy", "rate"),
    ("throughput_per_h", "throughput (parts per production hour)", "per_h"),
    ("idle_h", "idle hours per working day", "hours"),
)

PLOT_CAPTIONS = {
    "accuracy.png": "Model, vision and final accuracy",
    "quality.png": "First-time yield, false-call and escape rates",
    "line.png": "Throughput and idle hours",
    "maintenance.png": "Review load, failed samples and FSR per day, with the model updates",
}


@dataclass(frozen=True)
class RunInfo:
    """What was run, for the report's text and plot titles.

    Attributes:
        recipe: Recipe name.
        seed: Root random seed of the run.
        days_planned: Days the run was asked to simulate.
        goal: ``fp-reduction``, ``tp-improvement`` or ``replacement``.
        parts_per_day: Parts per working day the recipe plans.
        model: The model that answered, e.g. ``"v0001 (timm:resnet18)"`` or ``"stub"``.
        events: Drift events ``(day, name)`` from the recipe, drawn on the plots.
        command: The command line that reproduces the run.
        interrupted: True when the run stopped (Ctrl-C) before ``days_planned``.
        wall_s: Wall-clock seconds the run took.
        parts_per_s: Parts simulated per wall-clock second.
        time_shares: Share of wall time per activity, e.g. ``{"model inference": 0.35}``.
        policy: The update policy (``none``: the model was not maintained).
        updates: Model updates (fine-tunes, re-trains), marked on the plots.
        manage: The managing stage's settings, for the maintenance section.
    """

    recipe: str
    seed: int
    days_planned: int
    goal: str
    parts_per_day: int
    model: str
    events: tuple[tuple[float, str], ...]
    command: str
    interrupted: bool = False
    wall_s: float = 0.0
    parts_per_s: float = 0.0
    time_shares: dict[str, float] = field(default_factory=dict)
    policy: str = "none"
    updates: tuple[UpdateEvent, ...] = ()
    manage: ManageSpec | None = None


@dataclass(frozen=True)
class ReportFiles:
    """The files :func:`write_report` wrote.

    Attributes:
        report: Path of ``report.md``.
        plots: Paths of the PNG plots; empty when no day was complete.
    """

    report: Path
    plots: tuple[Path, ...]


Summary = list[tuple[str, float | None, float | None, float | None]]


def summarise(rows: Sequence[DayRow], first_days: int = FIRST_DAYS) -> Summary:
    """Pooled means of the summary metrics over the first, the last and all working days.

    Working days are days with parts. Each rate is weighted by its own
    denominator (accuracies and FTY by parts, false-call rate by good parts,
    escape rate by defective parts), so a window's value is the rate over the
    window's pooled parts; throughput is weighted by production hours (total
    parts / total production hours); idle hours are a plain mean per working day.

    Args:
        rows: The simulated days, in order.
        first_days: Working days in the first and in the last window (they overlap
            when the run has fewer than twice as many).

    Returns:
        ``(metric, first, last, whole)`` per metric of :data:`SUMMARY_METRICS`, the
        metric named by its :class:`DayRow` field; None where no day has a value.

    Raises:
        ValueError: ``first_days`` is below 1.
    """
    if first_days < 1:
        raise ValueError(f"first_days must be at least 1, got {first_days}")
    work = working_days(rows)
    first, last = work[:first_days], work[-first_days:]
    return [(metric, weighted_mean(first, metric), weighted_mean(last, metric),
             weighted_mean(work, metric)) for metric, _, _ in SUMMARY_METRICS]


def write_report(run_dir: Path, rows: Sequence[DayRow], info: RunInfo) -> ReportFiles:
    """Write ``report.md`` and the PNG plots into ``run_dir``, each file atomically.

    Args:
        run_dir: The run folder; created if missing.
        rows: The complete simulated days, in order; may be empty (no plots then).
        info: What was run.

    Returns:
        The paths written.
    """
    plots: list[Path] = []
    if rows:
        title = f"{info.recipe}, goal {info.goal}, seed {info.seed}"
        drawings = {name: draw(rows, info.events, title, info.updates) for name, draw in PLOTS.items()}
        if any(r.reviewed is not None for r in rows):
            beta = info.manage.beta if info.manage is not None else None
            drawings["maintenance.png"] = maintenance_png(rows, info.events, title, info.updates, beta)
        for name, png in drawings.items():
            atomic_write_bytes(run_dir / name, png)
            plots.append(run_dir / name)
    report = run_dir / REPORT_NAME
    atomic_write_text(report, report_text(rows, info, tuple(p.name for p in plots)))
    return ReportFiles(report=report, plots=tuple(plots))


def report_text(rows: Sequence[DayRow], info: RunInfo, plot_names: Sequence[str] = ()) -> str:
    """The Markdown of the report; ``plot_names`` are the PNG files to embed."""
    sections = [
        [f"# Line simulation: {info.recipe}"],
        _what_ran(rows, info),
        _summary_section(rows),
        _events_section(rows, info),
        maintenance_section(rows, info.policy, info.updates, info.manage) if info.policy != "none" else [],
        _speed_section(info),
        _plots_section(plot_names),
        ["## Rerun", "", "```bash", info.command, "```"],
    ]
    return "\n\n".join("\n".join(s) for s in sections if s) + "\n"


def _what_ran(rows: Sequence[DayRow], info: RunInfo) -> list[str]:
    done = _days_done(rows)
    work = working_days(rows)
    text = (f"Recipe **{info.recipe}**, goal **{info.goal}**, seed {info.seed}: "
            f"{done} of {info.days_planned} planned days simulated "
            f"({len(work)} working days, {sum(r.parts for r in rows):,} parts; "
            f"{info.parts_per_day:,} parts per working day planned). Model: {info.model}.")
    lines = [text]
    if info.interrupted:
        lines += ["", (f"**Interrupted after day {done} of {info.days_planned} — "
                       "this report covers the complete days only.**")]
    return lines


def _days_done(rows: Sequence[DayRow]) -> int:
    """Days covered, counted from day 0 (the last row's day + 1)."""
    return rows[-1].day + 1 if rows else 0


def _summary_section(rows: Sequence[DayRow]) -> list[str]:
    lines = ["## Summary", ""]
    n_work = len(working_days(rows))
    if n_work == 0:
        reason = "no complete day was simulated" if not rows else "no day had parts"
        return lines + [f"Nothing to summarise: {reason}."]
    n = min(FIRST_DAYS, n_work)
    lines += [f"| metric | first {n} working days | last {n} working days | whole run |",
              "|---|---:|---:|---:|"]
    kinds = {metric: (label, kind) for metric, label, kind in SUMMARY_METRICS}
    for metric, first, last, whole in summarise(rows):
        label, kind = kinds[metric]
        cells = " | ".join(_fmt(v, kind) for v in (first, last, whole))
        lines.append(f"| {label} | {cells} |")
    lines += ["", ("Means are pooled over the window's parts (each rate weighted by its "
                   "denominator), so busy days count more than light ones.")]
    return lines


def _fmt(value: float | None, kind: str) -> str:
    """A summary cell: rates as percentages, None as a dash."""
    if value is None:
        return "—"
    if kind == "rate":
        return f"{value * 100:.2f} %"
    if kind == "per_h":
        return f"{value:.1f}/h"
    return f"{value:.2f} h"


def _events_section(rows: Sequence[DayRow], info: RunInfo) -> list[str]:
    lines = ["## Drift events", ""]
    if not info.events:
        return lines + ["The recipe has no drift events."]
    done = _days_done(rows)
    for day, name in sorted(info.events):
        note = "" if day < done else " (after the simulated days)"
        lines.append(f"- day {day:g}: {name}{note}")
    return lines


def _speed_section(info: RunInfo) -> list[str]:
    speed = (f"{info.wall_s:.1f} s wall time ({_clock(info.wall_s)}), "
             f"{info.parts_per_s:,.1f} parts/s.")
    lines = ["## Run speed", "", speed]
    if info.time_shares:
        lines += ["", "| activity | share of wall time |", "|---|---:|"]
        ordered = sorted(info.time_shares.items(), key=lambda kv: -kv[1])
        lines += [f"| {name} | {share * 100:.1f} % |" for name, share in ordered]
    return lines


def _clock(seconds: float) -> str:
    """``h:mm:ss`` of a duration."""
    whole = round(seconds)
    return f"{whole // 3600}:{whole % 3600 // 60:02d}:{whole % 60:02d}"


def _plots_section(plot_names: Sequence[str]) -> list[str]:
    if not plot_names:
        return []
    lines = ["## Plots"]
    for name in plot_names:
        lines += ["", f"![{PLOT_CAPTIONS.get(name, name)}]({name})"]
    return lines
