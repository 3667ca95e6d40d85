"""The line's stations: each owns its SimPy process and hands parts on through a Pipe.

Source (parts at the cycle time, by the shift plan) → PLC trigger → vision
station (shoot and judge) → edge computer (model, goal routing) → PLC result
(disposition) and MES record.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np
import simpy

from inspkit.connect.mes import MesRecord
from inspkit.connect.plc import MemoryLink, sequence_of
from inspkit.connect.routing import needs_model, route
from inspkit.models.types import InspectionResult
from inspkit.recipe_line import RegisterMap
from inspkit.types import Goal, Verdict
from simulator.drift import DriftSchedule
from simulator.parts import Chunk, ModelInspector, Part, Renderer, Timings, VisionInspector
from simulator.pipe import Pipe
from simulator.schedule import DAY_S, ShiftPlan

_OK, _NG = Verdict.OK, Verdict.NG
_TEXT = {Verdict.OK: "OK", Verdict.NG: "NG", None: None}


class LineStats:
    """Work in process over time, for Little's law (L = λ W)."""

    def __init__(self) -> None:
        self.entered = 0
        self.left = 0
        self.flow_s = 0.0
        self.wip_area = 0.0
        self._last_s = 0.0

    def enter(self, now: float) -> None:
        """A part entered the line."""
        self.wip_area += (self.entered - self.left) * (now - self._last_s)
        self._last_s = now
        self.entered += 1

    def leave(self, now: float, shot_s: float) -> None:
        """A part left the line (its disposition is decided)."""
        self.wip_area += (self.entered - self.left) * (now - self._last_s)
        self._last_s = now
        self.left += 1
        self.flow_s += now - shot_s

    def close(self, now: float) -> None:
        """Account for the time up to ``now``."""
        self.wip_area += (self.entered - self.left) * (now - self._last_s)
        self._last_s = now


class Source:
    """Makes parts by the shift plan; each is announced (PLC trigger) and sent to the camera.

    Truth (NG or not, which defect) is drawn per chunk from the source's own
    generator, at the drift schedule's rate and defect types for the day.
    """

    def __init__(self, env: simpy.Environment, plan: ShiftPlan, drift: DriftSchedule,
                 rng: np.random.Generator, out: Pipe, on_enter: Callable[[Part], None],
                 render: Renderer | None, timings: Timings, batch: int, days: int) -> None:
        self.env, self.plan, self.drift, self.rng = env, plan, drift, rng
        self.out, self.on_enter, self.render, self.timings = out, on_enter, render, timings
        self.batch, self.days = batch, days
        self.serial = 0
        env.process(self._run())

    def _run(self) -> Iterator[simpy.Event]:
        env, cycle_s, put, enter = self.env, self.plan.cycle_s, self.out.put, self.on_enter
        for day in range(self.days):
            for run in self.plan.runs(day):
                start_s = day * DAY_S + run.start_s  # also the key the day's book looks the run up by
                yield env.timeout(start_s - env.now)
                for chunk in self._chunks(day, run.parts, start_s):
                    for part in chunk.parts:
                        part.shot_s = env.now
                        enter(part)
                        put(part)
                        yield env.timeout(cycle_s)
            yield env.timeout(max(0.0, (day + 1) * DAY_S - env.now))

    def _chunks(self, day: int, parts: int, run_start_s: float) -> Iterator[Chunk]:
        for first in range(0, parts, self.batch):
            yield self._chunk(day, min(self.batch, parts - first), run_start_s)

    def _chunk(self, day: int, size: int, run_start_s: float) -> Chunk:
        types = self.drift.defect_types(day)
        ng = (self.rng.random(size) < self.drift.defect_rate(day)).tolist() if types else [False] * size
        picks = self.rng.integers(0, max(1, len(types)), size).tolist()
        chunk = Chunk(self.render, self.timings)
        first = self.serial
        chunk.parts = [Part(first + i, day, "NG" if bad else "OK", types[k] if bad else None, chunk, i, run_start_s)
                       for i, (bad, k) in enumerate(zip(ng, picks))]
        self.serial += size
        return chunk


class VisionStation:
    """The legacy station: shoots the part, judges it, sends image and verdict on."""

    def __init__(self, env: simpy.Environment, inspector: VisionInspector, vision_s: float,
                 rng: np.random.Generator, inp: Pipe, out: Pipe) -> None:
        self.env, self.inspector, self.inp, self.out = env, inspector, inp, out
        self.vision_s, self.rng = vision_s, rng
        env.process(self._run())

    def _run(self) -> Iterator[simpy.Event]:
        env, get, put, inspector = self.env, self.inp.get, self.out.put, self.inspector
        jitter: list[float] = []
        while True:
            part: Part = yield get()
            part.vision = part.chunk.vision(inspector, part.index)
            if not jitter:  # processing time varies a little part to part
                jitter = (self.vision_s * np.clip(1 + 0.1 * self.rng.standard_normal(256), 0.5, 1.5)).tolist()
            yield env.timeout(jitter.pop())
            put(part)


class EdgeStation:
    """The edge computer: the model's answer, goal routing, the PLC write, the MES record."""

    def __init__(self, env: simpy.Environment, model: ModelInspector | None, goal: Goal, edge_s: float,
                 inp: Pipe, plc: SimulatedPlc, book: Callable[[Part, Verdict, MesRecord], None],
                 ids: tuple[str, str], observe: Callable[[Part, InspectionResult], None] | None = None) -> None:
        self.env, self.model, self.goal, self.edge_s = env, model, goal, edge_s
        self.inp, self.plc, self.book, self.ids = inp, plc, book, ids
        self.observe = observe  # the managing stage sees every answer (None: no maintenance)
        env.process(self._run())

    def _run(self) -> Iterator[simpy.Event]:
        # One pass per part; names are bound locally because this loop is the line's hot path.
        env, get, goal, model, edge_s = self.env, self.inp.get, self.goal, self.model, self.edge_s
        write, book, (line_id, station_id) = self.plc.link.write_result, self.book, self.ids
        observe = self.observe
        version = None
        while True:
            part: Part = yield get()
            if model is None:
                answer, decision = None, route(goal, part.vision, None, shadow=True)
            else:
                answer, version = part.chunk.model(model, part.index), model.version
                if observe is not None:
                    observe(part, answer)
                if needs_model(goal, part.vision):
                    yield env.timeout(edge_s)
                decision = route(goal, part.vision, answer.verdict)
            final = decision.verdict
            write(sequence_of(part.serial), final)
            # Plain text in the record: SQLite binds str faster than a str Enum.
            book(part, final, MesRecord(
                line_id, station_id, part.serial, part.shot_s, env.now, _TEXT[part.vision],
                _TEXT[answer.verdict] if answer else None, answer.p_ok if answer else None, _TEXT[final],
                "model" if decision.by_model else "vision", "next" if final is _OK else "ng-buffer",
                version, part.truth, part.defect_type))
            if part.index == len(part.chunk.parts) - 1:
                part.chunk.release()


class SimulatedPlc:
    """The PLC: tracks parts from the shooting trigger, routes each by its result.

    Results arrive through a :class:`MemoryLink` over the recipe's register map,
    as ``inspkit connect`` writes them to a real PLC.
    """

    def __init__(self, env: simpy.Environment, regmap: RegisterMap, stats: LineStats) -> None:
        self.env, self.stats = env, stats
        self.link = MemoryLink(regmap, self._on_result)
        self.tracked: dict[int, Part] = {}
        self.counts = {"next": 0, "ng-buffer": 0}

    def trigger(self, part: Part) -> None:
        """The part reached the camera: track it under its sequence number."""
        self.tracked[sequence_of(part.serial)] = part

    def _on_result(self, sequence: int, verdict: Verdict, error: int) -> None:
        part = self.tracked.pop(sequence)
        self.counts["next" if verdict is _OK else "ng-buffer"] += 1
        self.stats.leave(self.env.now, part.shot_s)
