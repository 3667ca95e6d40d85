"""When the line makes parts: working days, shifts and production runs.

Day 0 is a Monday. A working day's parts are split over its shifts in
proportion to their length; each shift starts making its share at the cycle
time from the shift's start and is idle afterwards (the line makes other
products, changes over, or waits). Nights and weekends are idle.
"""

from __future__ import annotations

from dataclasses import dataclass

from inspkit.recipe_line import SimulateSpec, shift_seconds

DAY_S = 86400.0


@dataclass(frozen=True)
class Run:
    """A stretch of production: ``parts`` parts from ``start_s`` (seconds after midnight)."""

    start_s: float
    parts: int


class ShiftPlan:
    """The production runs of each day."""

    def __init__(self, spec: SimulateSpec, cycle_s: float) -> None:
        self.cycle_s = cycle_s
        self.work_days = spec.work_days_per_week
        spans = sorted(shift_seconds(s) for s in spec.shifts)
        self._runs = tuple(_split(spec.parts_per_day, spans, cycle_s))

    def is_working(self, day: int) -> bool:
        """Whether ``day`` is a working day."""
        return day % 7 < self.work_days

    def runs(self, day: int) -> tuple[Run, ...]:
        """The production runs of ``day`` (none on days off)."""
        return self._runs if self.is_working(day) else ()

    def production_s(self, day: int) -> float:
        """Seconds of production on ``day``."""
        return sum(r.parts for r in self.runs(day)) * self.cycle_s


def _split(parts: int, spans: list[tuple[float, float]], cycle_s: float) -> list[Run]:
    """Share ``parts`` over the shifts by length (largest remainder), never over a shift's capacity."""
    total_s = sum(end - start for start, end in spans)
    exact = [parts * (end - start) / total_s for start, end in spans]
    shares = [int(x) for x in exact]
    by_remainder = sorted(range(len(spans)), key=lambda i: exact[i] - shares[i], reverse=True)
    for i in by_remainder[: parts - sum(shares)]:
        shares[i] += 1
    capacity = [int((end - start) // cycle_s) for start, end in spans]
    for i in range(len(spans)):  # move any part that does not fit to a later (or earlier) shift
        extra = max(0, shares[i] - capacity[i])
        shares[i] -= extra
        for j in sorted(range(len(spans)), key=lambda j: abs(j - i)):
            room = min(extra, max(0, capacity[j] - shares[j]))
            shares[j], extra = shares[j] + room, extra - room
    return [Run(start, n) for (start, _), n in zip(spans, shares) if n > 0]
