"""Each station on its own, in a bare SimPy environment."""

from __future__ import annotations

import numpy as np
import pytest
import simpy

from inspkit.recipe import recipe_from_dict
from inspkit.recipe_line import RegisterMap
from inspkit.types import Goal, Verdict
from simulator.camera import drift_for, product_for
from simulator.parts import Chunk, Part, Timings
from simulator.pipe import Pipe
from simulator.schedule import ShiftPlan
from simulator.stations import EdgeStation, LineStats, SimulatedPlc, Source, VisionStation
from simulator.stubs import TruthModel, TruthVision
from tests.conftest import small_recipe_dict


def _recipe(parts_per_day: int = 10):
    data = small_recipe_dict()
    data["simulate"] = {**data["simulate"], "parts_per_day": parts_per_day, "batch": 4}
    return recipe_from_dict(data)


def _drain(env: simpy.Environment, pipe: Pipe, got: list) -> None:
    def take():  # noqa: ANN202
        while True:
            got.append(((yield pipe.get()), env.now))
    env.process(take())


def test_source_makes_the_days_parts_at_the_cycle_time_from_each_shift_start() -> None:
    recipe = _recipe(parts_per_day=10)
    env, out, got, entered = simpy.Environment(), None, [], []
    out = Pipe(env)
    plan = ShiftPlan(recipe.simulate, 2.0)
    Source(env, plan, drift_for(recipe, product_for(recipe)), np.random.default_rng(0), out,
           entered.append, None, Timings(), recipe.simulate.batch, 1)
    _drain(env, out, got)
    env.run(until=86400)
    times = [t for _, t in got]
    assert times == [6 * 3600 + 2.0 * i for i in range(5)] + [14 * 3600 + 2.0 * i for i in range(5)]
    assert [p.serial for p, _ in got] == list(range(10)) and entered == [p for p, _ in got]
    assert all(p.shot_s == t and p.day == 0 for p, t in got)


def test_vision_station_judges_each_part_and_takes_about_its_processing_time() -> None:
    env = simpy.Environment()
    inp, out, got = Pipe(env), Pipe(env), []
    VisionStation(env, TruthVision(0.0, 0.0, 1), 0.5, np.random.default_rng(0), inp, out)
    _drain(env, out, got)
    chunk = Chunk(None, Timings())
    chunk.parts = [Part(i, 0, "NG" if i % 2 else "OK", "lump" if i % 2 else None, chunk, i) for i in range(4)]
    for part in chunk.parts:
        inp.put(part)
    env.run()
    assert [p.vision for p, _ in got] == [Verdict.OK, Verdict.NG, Verdict.OK, Verdict.NG]
    gaps = np.diff([0.0] + [t for _, t in got])
    assert np.all((gaps >= 0.25) & (gaps <= 0.75))  # queued parts one after the other, 0.5 s +- jitter


def test_edge_writes_each_result_to_the_plc_which_disposes_the_part() -> None:
    env, stats = simpy.Environment(), LineStats()
    plc, inp, booked = SimulatedPlc(env, RegisterMap(), stats), Pipe(env), []
    EdgeStation(env, TruthModel(0.0, 1), Goal.FP_REDUCTION, 0.05, inp, plc,
                lambda part, verdict, record: booked.append((part.serial, verdict, record)), ("L1", "S1"))
    chunk = Chunk(None, Timings())
    chunk.parts = [Part(i, 0, "OK", None, chunk, i) for i in range(3)]
    for part, vision in zip(chunk.parts, (Verdict.OK, Verdict.NG, Verdict.NG)):
        part.vision = vision
        stats.enter(env.now)
        plc.trigger(part)
        inp.put(part)
    env.run()
    # fp-reduction: the vision-NG parts are re-checked by the (perfect) model and pass.
    assert [v for _, v, _ in booked] == [Verdict.OK] * 3
    assert [r.decided_by for _, _, r in booked] == ["vision", "model", "model"]
    assert plc.counts == {"next": 3, "ng-buffer": 0} and not plc.tracked
    assert plc.link.read("ack") == 2 and stats.left == 3
    assert env.now == pytest.approx(0.1)  # two model answers of 0.05 s
