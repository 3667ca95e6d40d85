"""When the edge computer may train: the idle windows between shifts.

A fine-tune must not slow the line, so it runs only outside the shifts of
working days (nights, days off). The clock works on simulated seconds from the
run's start; shifts come from the recipe, working days from the shift plan.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

from simulator.schedule import DAY_S

#: Days searched for the next shift; a plan without one in a fortnight has none.
_HORIZON_DAYS = 15


def merge_spans(spans: Sequence[tuple[float, float]]) -> tuple[tuple[float, float], ...]:
    """Shift spans (seconds after midnight) sorted, with touching or overlapping ones joined."""
    merged: list[list[float]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return tuple((a, b) for a, b in merged)


class IdleClock:
    """Idle and shift time on the line.

    Args:
        spans: Shift spans of a working day, seconds after midnight.
        is_working: Whether a day (0-based) is a working day.
    """

    def __init__(self, spans: Sequence[tuple[float, float]], is_working: Callable[[int], bool]) -> None:
        self.spans = merge_spans(spans)
        self.is_working = is_working

    def shift_at(self, t: float) -> tuple[float, float] | None:
        """The shift (absolute start, end seconds) running at ``t``, or None when idle."""
        day = math.floor(t / DAY_S)
        if not self.is_working(day):
            return None
        base = day * DAY_S
        for start, end in self.spans:
            if base + start <= t < base + end:
                return base + start, base + end
        return None

    def next_idle(self, t: float) -> float:
        """The first idle moment at or after ``t`` (inf when shifts never stop)."""
        for _ in range(_HORIZON_DAYS * (len(self.spans) + 1)):  # shifts can run back to back over midnight
            shift = self.shift_at(t)
            if shift is None:
                return t
            t = shift[1]
        return math.inf

    def next_shift_start(self, t: float) -> float:
        """The start of the first shift starting after ``t`` (inf when there is none)."""
        first = math.floor(t / DAY_S)
        for day in range(first, first + _HORIZON_DAYS):
            if not self.is_working(day):
                continue
            for start, _ in self.spans:
                if day * DAY_S + start > t:
                    return day * DAY_S + start
        return math.inf

    def finish(self, t: float, need_s: float) -> float:
        """When ``need_s`` seconds of idle time, taken from ``t`` on, are used up.

        Work stops at each shift's start and resumes at its end, so it never
        runs while the line is making parts.
        """
        left = max(0.0, need_s)
        t = self.next_idle(t)
        while True:
            end = self.next_shift_start(t)
            if t + left <= end:
                return t + left
            left -= end - t
            t = self.next_idle(end)
