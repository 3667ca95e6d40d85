"""fig10.png: accuracy per tick of every update policy (the paper's Fig. 10), and on current parts.

matplotlib is imported inside the function and the figure is drawn on the Agg
canvas without pyplot, so no global backend state is touched.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from simulator.paper import TickRecord

FIGSIZE_IN = (10.0, 7.0)
DPI = 110


def fig10_png(rows: Sequence[TickRecord], policies: Sequence[str], initial_accuracy: float) -> bytes:
    """Two panels over the days: fixed-test accuracy (Fig. 10) and current-parts accuracy.

    Ticks where a policy re-trained carry a dot, so re-training cost can be seen
    beside the accuracy it bought.
    """
    from matplotlib.figure import Figure

    fig = Figure(figsize=FIGSIZE_IN, dpi=DPI, layout="constrained")
    test_ax, current_ax = fig.subplots(2, 1, sharex=True)
    for name in policies:
        mine = [r for r in rows if r.policy == name]
        days = [0.0] + [r.day for r in mine]
        line = _series(test_ax, days, [initial_accuracy] + [r.test_accuracy for r in mine], name)
        _retrain_dots(test_ax, mine, "test_accuracy", line.get_color())
        _series(current_ax, days[1:], [r.current_accuracy for r in mine], name, line.get_color())
        _retrain_dots(current_ax, mine, "current_accuracy", line.get_color())
    test_ax.set_title("accuracy on the fixed test set (set-up months); dots: re-trainings")
    current_ax.set_title("accuracy on the parts of each tick's day")
    current_ax.set_xlabel("day")
    for ax in (test_ax, current_ax):
        _percent_axis(ax)
    test_ax.legend(loc="lower left", ncols=4, fontsize="small")
    buf = io.BytesIO()
    # No "Software" tag, so the bytes do not change with the matplotlib version.
    fig.savefig(buf, format="png", dpi=DPI, metadata={"Software": None})
    return buf.getvalue()


def _series(ax: Any, days: list[float], values: list[float], name: str, colour: str | None = None) -> Any:
    (line,) = ax.plot(days, values, label=name, linewidth=1.4, color=colour)
    return line


def _retrain_dots(ax: Any, rows: Sequence[TickRecord], metric: str, colour: str) -> None:
    hits = [r for r in rows if r.action == "retrain"]
    ax.plot([r.day for r in hits], [getattr(r, metric) for r in hits], "o", color=colour, markersize=3)


def _percent_axis(ax: Any) -> None:
    from matplotlib.ticker import PercentFormatter

    ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    ax.grid(True, alpha=0.3)
