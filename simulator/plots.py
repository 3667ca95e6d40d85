"""Windowed means and PNG plots of a simulated line run.

The means weight each day by the denominator of its rate, so a window's mean
is the rate over the window's pooled parts (a day with 1 part counts 1/100 of
a day with 100). matplotlib is imported inside the drawing functions, so
importing this module stays cheap; figures are drawn on the Agg canvas without
pyplot, so no global backend state is touched.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from simulator.metrics import DayRow, UpdateEvent

if TYPE_CHECKING:
    from matplotlib.axes import Axes

ROLLING_DAYS = 7
FIGSIZE_IN = (10.0, 4.0)
DPI = 110

# The denominator each rate was computed over; a rate's pooled mean weights by it.
WEIGHTS: dict[str, Callable[[DayRow], float]] = {
    "fty": lambda r: r.parts,
    "false_call_rate": lambda r: r.parts - r.defective,  # good parts
    "escape_rate": lambda r: r.defective,
    "model_accuracy": lambda r: r.parts,
    "vision_accuracy": lambda r: r.parts,
    "final_accuracy": lambda r: r.parts,
    "throughput_per_h": lambda r: r.production_h,  # pooled: parts / production hours
    "idle_h": lambda r: 1.0,  # hours per day: a plain mean over days
}


def working_days(rows: Sequence[DayRow]) -> list[DayRow]:
    """The days on which the line made parts (weekends and shutdowns dropped)."""
    return [r for r in rows if r.parts > 0]


def weighted_mean(rows: Sequence[DayRow], metric: str) -> float | None:
    """Pooled mean of ``metric`` over ``rows``, each day weighted by its denominator.

    Args:
        rows: Days to pool; days whose value is None or whose weight is 0 are skipped.
        metric: A key of :data:`WEIGHTS` (a :class:`DayRow` field).

    Returns:
        ``sum(value * weight) / sum(weight)``, or None when nothing has weight.
    """
    weight_of = WEIGHTS[metric]
    num = den = 0.0
    for row in rows:
        value, weight = getattr(row, metric), weight_of(row)
        if value is None or weight <= 0:
            continue
        num += value * weight
        den += weight
    return num / den if den > 0 else None


def rolling(
    work: Sequence[DayRow], metric: str, window: int = ROLLING_DAYS,
) -> tuple[list[int], list[float]]:
    """Trailing ``window``-working-day pooled means of ``metric``: (days, means), Nones dropped."""
    days: list[int] = []
    means: list[float] = []
    for i, row in enumerate(work):
        mean = weighted_mean(work[max(0, i - window + 1): i + 1], metric)
        if mean is not None:
            days.append(row.day)
            means.append(mean)
    return days, means


def daily(rows: Sequence[DayRow], metric: str) -> tuple[list[int], list[float]]:
    """Per-day values of ``metric``: (days, values), Nones dropped."""
    pairs = [(r.day, getattr(r, metric)) for r in rows if getattr(r, metric) is not None]
    return [d for d, _ in pairs], [float(v) for _, v in pairs]


def model_updates(rows: Sequence[DayRow]) -> list[tuple[float, str]]:
    """(day, "model vX") where the answering model changes; the go-live version is no update.

    Days without a version (weekends, no model) are skipped, so a gap does not
    read as an update.
    """
    marks: list[tuple[float, str]] = []
    current = ""
    for row in rows:
        version = row.model_version
        if not version or version == current:
            continue
        if current:
            label = version if version.startswith("v") else f"v{version}"
            marks.append((float(row.day), f"model {label}"))
        current = version
    return marks


def _new_figure() -> tuple[Any, Axes]:
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    fig = Figure(figsize=FIGSIZE_IN, dpi=DPI, layout="constrained")
    ax = fig.add_subplot()
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # days are whole; no "day 0.25"
    return fig, ax


def _png_bytes(fig: Any) -> bytes:
    buf = io.BytesIO()
    # No "Software" tag, so the bytes do not change with the matplotlib version.
    fig.savefig(buf, format="png", dpi=DPI, metadata={"Software": None})
    return buf.getvalue()


def _mark_lines(ax: Axes, marks: Sequence[tuple[float, str]], last_day: int, colour: str) -> None:
    """Dashed vertical lines with rotated labels; marks after the run's end are left out."""
    for day, label in marks:
        if day > last_day + 1:
            continue  # would stretch the x axis past the simulated days
        ax.axvline(day, color=colour, linestyle="--", linewidth=0.9, alpha=0.8)
        ax.text(day, 0.98, label, transform=ax.get_xaxis_transform(), rotation=90,
                va="top", ha="right", fontsize=7, color=colour,
                bbox={"facecolor": "white", "alpha": 0.7, "edgecolor": "none", "pad": 1})


# Update marks: (colour, line style, width) by kind; rejected candidates are drawn faint.
UPDATE_STYLES = {"finetune": ("tab:cyan", ":", 0.9), "retrain": ("tab:purple", "-", 1.4)}
UPDATE_NAMES = {"finetune": "fine-tune", "retrain": "re-train"}
REJECTED_ALPHA = 0.15
#: Promoted re-trains get their version written on the plot when there are at most this many.
MAX_LABELLED = 25


def _update_lines(ax: Axes, updates: Sequence[UpdateEvent], last_day: int) -> None:
    """Vertical lines at model updates: style by kind, faint when rejected; the legend names each style once."""
    labelled_retrains = sum(u.kind == "retrain" and u.promoted for u in updates) <= MAX_LABELLED
    named: set[tuple[str, bool]] = set()
    for u in updates:
        day = u.ready_s / 86400.0
        if day > last_day + 1 or u.kind not in UPDATE_STYLES:
            continue
        colour, style, width = UPDATE_STYLES[u.kind]
        key = (u.kind, u.promoted)
        label = None if key in named else f"{UPDATE_NAMES[u.kind]} ({'promoted' if u.promoted else 'rejected'})"
        named.add(key)
        ax.axvline(day, color=colour, linestyle=style, linewidth=width,
                   alpha=0.8 if u.promoted else REJECTED_ALPHA, label=label)
        if u.kind == "retrain" and u.promoted and labelled_retrains:
            ax.text(day, 0.02, u.version, transform=ax.get_xaxis_transform(), rotation=90,
                    va="bottom", ha="right", fontsize=6, color=colour)


def _all_marks(ax: Axes, rows: Sequence[DayRow], events: Sequence[tuple[float, str]],
               updates: Sequence[UpdateEvent] = ()) -> None:
    last_day = rows[-1].day if rows else 0
    _mark_lines(ax, events, last_day, "tab:red")
    if updates:
        _update_lines(ax, updates, last_day)
    else:
        _mark_lines(ax, model_updates(rows), last_day, "tab:purple")


def _legend(fig: Any, *axes: Axes) -> None:
    """One legend below the plot for all axes, so it never covers a line."""
    handles = [h for ax in axes for h in ax.get_legend_handles_labels()[0]]
    fig.legend(handles=handles, loc="outside lower center", ncols=min(len(handles), 4), fontsize=8,
               frameon=False)


def _percent_axis(ax: Axes) -> None:
    from matplotlib.ticker import PercentFormatter

    ax.yaxis.set_major_formatter(PercentFormatter(1.0))


def accuracy_png(rows: Sequence[DayRow], events: Sequence[tuple[float, str]], title: str,
                 updates: Sequence[UpdateEvent] = ()) -> bytes:
    """Model, vision and final accuracy: daily dots and rolling pooled means; PNG bytes."""
    fig, ax = _new_figure()
    work = working_days(rows)
    # The final line is drawn thin and dashed on top: under replacement it equals the model's.
    series = (("model_accuracy", "model", "tab:blue", 2.4, "-"), ("vision_accuracy", "vision", "tab:orange", 1.6, "-"),
              ("final_accuracy", "final", "tab:green", 1.2, "--"))
    for metric, label, colour, width, style in series:
        ax.plot(*daily(work, metric), linestyle="none", marker=".", markersize=3, alpha=0.25,
                color=colour)
        ax.plot(*rolling(work, metric), color=colour, linewidth=width, linestyle=style,
                label=f"{label} ({ROLLING_DAYS}-working-day mean)")
    _all_marks(ax, rows, events, updates)
    _percent_axis(ax)
    ax.set(xlabel="simulated day", ylabel="accuracy (% of parts)", title=f"Accuracy — {title}")
    _legend(fig, ax)
    return _png_bytes(fig)


def quality_png(rows: Sequence[DayRow], events: Sequence[tuple[float, str]], title: str,
                updates: Sequence[UpdateEvent] = ()) -> bytes:
    """FTY (left axis) and false-call / escape rates (right axis), rolling means; PNG bytes."""
    fig, ax = _new_figure()
    work = working_days(rows)
    ax.plot(*rolling(work, "fty"), color="tab:green", linewidth=1.6, label="first-time yield")
    rates = ax.twinx()  # rates sit near 0 % while FTY sits near 100 %: one axis would flatten both
    rates.plot(*rolling(work, "false_call_rate"), color="tab:orange", linewidth=1.4,
               label="false-call rate (of good parts)")
    rates.plot(*rolling(work, "escape_rate"), color="tab:red", linewidth=1.4,
               label="escape rate (of defective parts)")
    _all_marks(ax, rows, events, updates)
    _percent_axis(ax)
    _percent_axis(rates)
    ax.set(xlabel="simulated day", ylabel="first-time yield (% of parts)",
           title=f"Quality, {ROLLING_DAYS}-working-day pooled means — {title}")
    rates.set_ylabel("false-call / escape rate")
    _legend(fig, ax, rates)
    return _png_bytes(fig)


def line_png(rows: Sequence[DayRow], events: Sequence[tuple[float, str]], title: str,
             updates: Sequence[UpdateEvent] = ()) -> bytes:
    """Throughput per production hour (working days) and idle hours (every day); PNG bytes."""
    fig, ax = _new_figure()
    idle = ax.twinx()
    idle.bar([r.day for r in rows], [r.idle_h for r in rows], width=1.0, color="tab:gray",
             alpha=0.2, label="idle hours per day")
    idle.set_ylim(0, 24)
    ax.set_zorder(idle.get_zorder() + 1)  # throughput drawn over the idle bars
    ax.patch.set_visible(False)
    work = working_days(rows)
    ax.plot(*daily(work, "throughput_per_h"), linestyle="none", marker=".", markersize=3,
            alpha=0.3, color="tab:blue")
    ax.plot(*rolling(work, "throughput_per_h"), color="tab:blue", linewidth=1.6,
            label=f"throughput, parts per production hour ({ROLLING_DAYS}-working-day mean)")
    _all_marks(ax, rows, events, updates)
    ax.set(xlabel="simulated day", ylabel="throughput (parts/h)", title=f"Line — {title}")
    idle.set_ylabel("idle time (h/day)")
    _legend(fig, ax, idle)
    return _png_bytes(fig)


def maintenance_png(rows: Sequence[DayRow], events: Sequence[tuple[float, str]], title: str,
                    updates: Sequence[UpdateEvent] = (), beta: float | None = None) -> bytes:
    """Review load and failed samples per working day (bars), FSR (right axis), update marks; PNG bytes."""
    fig, ax = _new_figure()
    work = [r for r in working_days(rows) if r.reviewed is not None]
    days = [r.day for r in work]
    ax.bar(days, [r.reviewed for r in work], width=1.0, color="tab:blue", alpha=0.35, label="reviewed parts")
    ax.bar(days, [r.failed or 0 for r in work], width=1.0, color="tab:red", alpha=0.6, label="failed review")
    fsr = ax.twinx()
    fsr.plot(*daily(rows, "fsr"), color="black", linewidth=1.0, label="FSR")
    if beta is not None:
        fsr.axhline(beta, color="black", linestyle="--", linewidth=0.8, alpha=0.6, label=f"β = {beta:g}")
    _all_marks(ax, rows, events, updates)
    _percent_axis(fsr)
    ax.set(xlabel="simulated day", ylabel="parts per day", title=f"Review and updates — {title}")
    fsr.set_ylabel("failed-sample ratio")
    _legend(fig, ax, fsr)
    return _png_bytes(fig)


PLOTS: dict[str, Callable[..., bytes]] = {
    "accuracy.png": accuracy_png,
    "quality.png": quality_png,
    "line.png": line_png,
}
