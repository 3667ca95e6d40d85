"""The shift plan: working days, parts per shift, and shift parsing."""

from __future__ import annotations

import pytest

from inspkit.errors import RecipeError

from inspkit.recipe import recipe_from_dict
from inspkit.recipe_line import SimulateSpec, shift_seconds
from simulator.schedule import ShiftPlan
from tests.conftest import small_recipe_dict

H = 3600.0


def _ends(spec: SimulateSpec) -> dict[float, float]:
    return dict(shift_seconds(s) for s in spec.shifts)


def test_five_day_week_starts_on_monday() -> None:
    plan = ShiftPlan(SimulateSpec(work_days_per_week=5), cycle_s=2.0)
    assert [plan.is_working(d) for d in range(14)] == [True] * 5 + [False] * 2 + [True] * 5 + [False] * 2
    assert plan.runs(5) == () and plan.runs(6) == ()
    assert plan.production_s(5) == 0.0 and plan.production_s(13) == 0.0
    assert plan.runs(7) == plan.runs(0) != ()


@pytest.mark.parametrize(("days", "off"), [(7, set()), (6, {6}), (1, {1, 2, 3, 4, 5, 6})])
def test_other_week_lengths(days: int, off: set[int]) -> None:
    plan = ShiftPlan(SimulateSpec(work_days_per_week=days), cycle_s=2.0)
    assert {d for d in range(7) if not plan.is_working(d)} == off
    assert {d for d in range(7, 14) if not plan.is_working(d)} == {d + 7 for d in off}


def test_parts_split_by_shift_length() -> None:
    spec = SimulateSpec(parts_per_day=100, shifts=("14:00-18:00", "06:00-14:00"))
    runs = ShiftPlan(spec, cycle_s=2.0).runs(0)
    assert [(r.start_s, r.parts) for r in runs] == [(6 * H, 67), (14 * H, 33)]  # 8 h : 4 h, in time order


def test_equal_shifts_get_equal_shares() -> None:
    runs = ShiftPlan(SimulateSpec(parts_per_day=240), cycle_s=2.0).runs(0)
    assert [(r.start_s, r.parts) for r in runs] == [(6 * H, 120), (14 * H, 120)]


CASES = [
    (SimulateSpec(parts_per_day=240), 2.0),
    (SimulateSpec(parts_per_day=100, shifts=("06:00-14:00", "14:00-18:00")), 2.0),
    (SimulateSpec(parts_per_day=7, shifts=("06:00-14:00", "14:00-22:00", "22:00-24:00")), 30.0),
    (SimulateSpec(parts_per_day=28_800, shifts=("06:00-14:00", "14:00-22:00")), 2.0),  # the line full
    (SimulateSpec(parts_per_day=1, shifts=("06:00-14:00", "14:00-22:00")), 2.0),
    # 10 min + 50 min at 7 s: the proportional share (86) is over the short shift's 85 cycles
    (SimulateSpec(parts_per_day=513, shifts=("00:00-00:10", "10:00-10:50")), 7.0),
    (SimulateSpec(parts_per_day=1000, shifts=("06:00-06:30", "07:00-07:10", "12:00-20:00")), 25.0),
]


@pytest.mark.parametrize(("spec", "cycle_s"), CASES)
def test_runs_sum_to_parts_per_day_and_fit_their_shift(spec: SimulateSpec, cycle_s: float) -> None:
    plan = ShiftPlan(spec, cycle_s)
    runs = plan.runs(0)
    ends = _ends(spec)
    assert sum(r.parts for r in runs) == spec.parts_per_day
    for run in runs:
        assert run.start_s in ends  # a run starts at its shift's start
        assert run.parts > 0
        assert run.start_s + run.parts * cycle_s <= ends[run.start_s]
    assert [r.start_s for r in runs] == sorted(r.start_s for r in runs)
    assert plan.production_s(0) == pytest.approx(spec.parts_per_day * cycle_s)


def test_production_seconds_on_a_working_day() -> None:
    plan = ShiftPlan(SimulateSpec(parts_per_day=240), cycle_s=2.5)
    assert plan.production_s(0) == pytest.approx(600.0)
    assert plan.production_s(4) == pytest.approx(600.0)


def test_a_recipe_never_asks_for_more_parts_than_whole_cycles_fit() -> None:
    # 3031 x 19 s fits the 16 h in total, but each shift holds only 1515 whole cycles.
    data = small_recipe_dict()
    data["line"]["cycle_time_ms"] = 19_000
    data["simulate"]["parts_per_day"] = 3031
    with pytest.raises(RecipeError, match="3030 parts"):
        recipe_from_dict(data)
    data["simulate"]["parts_per_day"] = 3030
    recipe = recipe_from_dict(data)
    plan = ShiftPlan(recipe.simulate, recipe.line.cycle_time_ms / 1000)
    assert sum(r.parts for r in plan.runs(0)) == 3030


@pytest.mark.parametrize(("text", "seconds"), [
    ("06:00-14:00", (21600.0, 50400.0)),
    ("00:00-24:00", (0.0, 86400.0)),
    (" 22:30 - 23:45 ", (81000.0, 85500.0)),
    ("6:05-7:00", (21900.0, 25200.0)),
])
def test_shift_seconds(text: str, seconds: tuple[float, float]) -> None:
    assert shift_seconds(text) == seconds


@pytest.mark.parametrize(("text", "message"), [
    ("25:00-26:00", "within one day"),
    ("23:00-25:00", "within one day"),
    ("14:00-06:00", "start before it ends"),
    ("06:00-06:00", "start before it ends"),
    ("06:00", "HH:MM-HH:MM"),
    ("06:00-14:00-22:00", "HH:MM-HH:MM"),
    ("06:60-07:00", "HH:MM-HH:MM"),
    ("six-seven", "HH:MM-HH:MM"),
    ("-1:00-02:00", "HH:MM-HH:MM"),
])
def test_shift_seconds_rejects(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message) as err:
        shift_seconds(text)
    assert repr(text) in str(err.value)


def test_a_share_over_a_shifts_capacity_moves_to_another_shift() -> None:
    spec = SimulateSpec(parts_per_day=513, shifts=("00:00-00:10", "10:00-10:50"))
    runs = ShiftPlan(spec, cycle_s=7.0).runs(0)
    assert [(r.start_s, r.parts) for r in runs] == [(0.0, 85), (36000.0, 428)]
