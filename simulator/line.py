"""One simulated line run: build the stations, run the days, count per day.

The runner that repeats runs or compares policies lives elsewhere; this module
runs one line, with its inspectors injected, and returns what it measured.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import simpy

from inspkit.connect.mes import MesRecord, MesSink
from inspkit.recipe import Recipe
from inspkit.recipe_line import shift_seconds
from inspkit.types import Goal, Verdict
from simulator.drift import DriftSchedule
from simulator.maint_windows import IdleClock
from simulator.metrics import DayRow, ratio
from simulator.parts import DayReview, LineMaintainer, ModelInspector, Part, Renderer, Timings, VisionInspector
from simulator.pipe import Pipe
from simulator.schedule import DAY_S, ShiftPlan
from simulator.stations import EdgeStation, LineStats, SimulatedPlc, Source, VisionStation

_NG = Verdict.NG

#: Random streams, each with its own generator from SeedSequence(seed).spawn.
STREAMS = ("truth", "vision timing")


@dataclass(frozen=True)
class LineSetup:
    """What one run needs.

    Attributes:
        recipe: The resolved recipe (line, simulate, drift, connect sections).
        drift: The recipe's drift schedule for this product.
        vision: The legacy station's inspector.
        model: The edge model (None: the line runs on the vision station alone).
        render: Draws frames for parts (None: the line runs without images).
        mes: Where part records go (None: not kept).
        seed: Seed of every random stream.
        days: Days to simulate.
        goal: Goal routing.
        maintainer: The managing stage (None: the model is never reviewed or updated).
    """

    recipe: Recipe
    drift: DriftSchedule
    vision: VisionInspector
    model: ModelInspector | None
    render: Renderer | None
    mes: MesSink | None
    seed: int
    days: int
    goal: Goal
    maintainer: LineMaintainer | None = None


@dataclass
class LineResult:
    """What a run measured.

    Attributes:
        rows: One per complete day.
        stats: Work in process and flow times (Little's law).
        dispositions: Parts the PLC sent on ("next") and to the NG buffer.
        timings: Wall seconds outside the event loop (images, vision, model).
        wall_s: Wall seconds of the whole run.
        interrupted: The run was stopped (Ctrl-C) before its last day.
    """

    rows: list[DayRow] = field(default_factory=list)
    stats: LineStats = field(default_factory=LineStats)
    dispositions: dict[str, int] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    wall_s: float = 0.0
    interrupted: bool = False

    @property
    def parts(self) -> int:
        """Parts in the complete days."""
        return sum(r.parts for r in self.rows)


class DayBook:
    """Counts each part's outcome under its day, and the MES records still to write."""

    # Counter slots: parts, defective, good_out, false_calls, escapes, model_n,
    # model_right, vision_right, final_right.
    def __init__(self, plan: ShiftPlan) -> None:
        self.plan = plan
        self.days: dict[int, list[int]] = {}
        # Run start → when its latest part was decided: the run's span, for throughput.
        self.run_end: dict[float, float] = {}
        self.pending: list[MesRecord] = []
        self.versions: dict[int, str] = {}  # day → the model version that answered its last part

    def book(self, part: Part, final: Verdict, record: MesRecord) -> None:
        """Count a part whose final verdict is decided."""
        day = part.day
        c = self.days.get(day)
        if c is None:
            c = self.days[day] = [0] * 9
        truth = part.truth
        ng, said_ng = truth == "NG", final is _NG
        c[0] += 1
        c[2] += not said_ng
        if ng:
            c[1] += 1
            c[4] += not said_ng
        else:
            c[3] += said_ng
        if record.model_verdict is not None:
            c[5] += 1
            c[6] += record.model_verdict == truth
        c[7] += part.vision == truth
        c[8] += said_ng == ng
        if record.model_version:
            self.versions[day] = record.model_version
        self.run_end[part.run_start_s] = record.decided_s  # parts leave in order: the last one ends the run
        self.pending.append(record)

    def row(self, day: int, version: str, events: list[str], review: DayReview | None = None) -> DayRow:
        """The day's metrics (its parts must all have left).

        A run takes its parts' cycles, or longer when a station cannot keep up:
        from its start to its last part decided. So a station slower than the
        cycle shows as lower throughput. ``version`` stands for days without
        parts; a day with parts shows the version that answered them.
        """
        c = self.days.pop(day, [0] * 9)
        parts, defective = c[0], c[1]
        prod_s = 0.0
        for run in self.plan.runs(day):
            start = day * DAY_S + run.start_s
            prod_s += max(run.parts * self.plan.cycle_s, self.run_end.pop(start, start) - start)
        prod_h = prod_s / 3600
        return DayRow(
            day, parts, defective, c[2], ratio(c[2], parts), ratio(c[3], parts - defective),
            ratio(c[4], defective), ratio(c[6], c[5]), ratio(c[7], parts), ratio(c[8], parts),
            parts / prod_h if prod_h else None, prod_h, 24.0 - prod_h, self.versions.pop(day, version),
            "; ".join(events), *((review.reviewed, review.failed, review.fsr) if review else ()),
        )


def run_line(setup: LineSetup, on_day: Callable[[DayRow], None] | None = None) -> LineResult:
    """Simulate ``setup.days`` days; Ctrl-C ends the run after the last complete day.

    ``on_day`` is called with each complete day's row (after its MES records are written).
    """
    started = time.perf_counter()
    env = simpy.Environment()
    result, timings = LineResult(), Timings()
    plan, book, plc = _build(env, setup, result, timings)
    recorder = env.process(_record_days(env, setup, plan, book, plc, result, on_day))
    try:
        env.run(until=recorder)
    except KeyboardInterrupt:
        result.interrupted = True
    result.stats.close(env.now)
    result.timings = dict(timings.seconds)
    if setup.maintainer is not None:  # its review and training happen outside the event loop too
        result.timings.update(getattr(setup.maintainer, "seconds", {}))
    result.wall_s = time.perf_counter() - started
    return result


def _build(env: simpy.Environment, setup: LineSetup, result: LineResult,
           timings: Timings) -> tuple[ShiftPlan, DayBook, SimulatedPlc]:
    recipe, sim = setup.recipe, setup.recipe.simulate
    truth_rng, timing_rng = (np.random.default_rng(s) for s in np.random.SeedSequence(setup.seed).spawn(len(STREAMS)))
    plan = ShiftPlan(sim, recipe.line.cycle_time_ms / 1000)
    book = DayBook(plan)
    plc = SimulatedPlc(env, recipe.connect.plc, result.stats)
    result.dispositions = plc.counts
    to_vision, to_edge = Pipe(env), Pipe(env)

    stats_enter, trigger = result.stats.enter, plc.trigger

    def enter(part: Part) -> None:
        stats_enter(env.now)
        trigger(part)

    Source(env, plan, setup.drift, truth_rng, to_vision, enter, setup.render, timings, sim.batch, setup.days)
    VisionStation(env, setup.vision, sim.vision_ms / 1000, timing_rng, to_vision, to_edge)
    maintainer = setup.maintainer
    if maintainer is not None:
        maintainer.attach(env, IdleClock([shift_seconds(s) for s in sim.shifts], plan.is_working), setup.render)
    EdgeStation(env, setup.model, setup.goal, sim.edge_ms / 1000, to_edge, plc, book.book,
                (recipe.line.line, recipe.line.station), maintainer.observe if maintainer else None)
    return plan, book, plc


def _record_days(env: simpy.Environment, setup: LineSetup, plan: ShiftPlan, book: DayBook, plc: SimulatedPlc,
                 result: LineResult, on_day: Callable[[DayRow], None] | None):  # noqa: ANN202 (SimPy process)
    """At each midnight (or once the day's last part has left), close the day."""
    settle_s = max(plan.cycle_s, 1.0)
    for day in range(setup.days):
        yield env.timeout(max(0.0, (day + 1) * DAY_S - env.now))
        while any(p.day == day for p in plc.tracked.values()):  # parts of the day still on the line
            yield env.timeout(settle_s)
        if setup.mes is not None:
            setup.mes.record_many(book.pending)
        book.pending.clear()
        review = setup.maintainer.close_day(day) if setup.maintainer is not None else None
        version = setup.model.version if setup.model is not None else ""
        row = book.row(day, version, setup.drift.events_on(day), review)
        result.rows.append(row)
        if on_day is not None:
            on_day(row)
