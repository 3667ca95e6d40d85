"""The drift schedule: appearance, defect rate and defect types as functions of the day."""

from __future__ import annotations

import pytest

from inspkit.recipe_line import DriftEvent, DriftSpec, Ramp, RatePoint
from inspkit.types import Appearance
from simulator.drift import DriftSchedule

TYPES = ("broken_bead", "lump", "air_bubbles")
COLOURS = {"material_color": (250, 10, 128), "background": (30, 30, 30)}


def _schedule(spec: DriftSpec, base: Appearance | None = None, rate: float = 0.08) -> DriftSchedule:
    return DriftSchedule(base or Appearance(), spec, TYPES, rate, COLOURS)


def test_no_drift_keeps_the_base() -> None:
    base = Appearance(illum_gain=1.2, material_color=(1, 2, 3))
    schedule = _schedule(DriftSpec(), base)
    assert schedule.appearance(0) == base
    assert schedule.appearance(500) == base


@pytest.mark.parametrize(("day", "gain"), [
    (0, 1.0), (100, 1.0), (150, 0.9), (200, 0.8), (300, 0.8), (10_000, 0.8),
])
def test_ramp_moves_linearly_then_stays(day: float, gain: float) -> None:
    schedule = _schedule(DriftSpec(ramps=(Ramp("illum_gain", (-0.2,), 100, 200),)))
    assert schedule.appearance(day).illum_gain == pytest.approx(gain)


def test_ramp_leaves_other_values_alone() -> None:
    base = Appearance(noise_sigma=3.0, gamma=1.1)
    schedule = _schedule(DriftSpec(ramps=(Ramp("illum_gain", (-0.2,), 0, 10),)), base)
    look = schedule.appearance(5)
    assert look.noise_sigma == 3.0 and look.gamma == 1.1 and look.material_color is None


def test_ramps_on_one_parameter_add_up() -> None:
    spec = DriftSpec(ramps=(Ramp("illum_offset", (10.0,), 0, 10), Ramp("illum_offset", (-4.0,), 5, 15)))
    schedule = _schedule(spec)
    assert schedule.appearance(10).illum_offset == pytest.approx(10.0 - 2.0)
    assert schedule.appearance(20).illum_offset == pytest.approx(6.0)


def test_two_value_ramp_gives_float_tuples() -> None:
    schedule = _schedule(DriftSpec(ramps=(Ramp("position_offset_px", (4.0, -2.0), 0, 10),)))
    offset = schedule.appearance(5).position_offset_px
    assert offset == pytest.approx((2.0, -1.0))
    assert isinstance(offset, tuple) and len(offset) == 2


def test_colour_ramp_from_default_gives_clipped_int_tuples() -> None:
    spec = DriftSpec(ramps=(Ramp("material_color", (20.0, -20.0, 0.6), 0, 10),))
    schedule = _schedule(spec)  # base material_color is None: the product's default is the start
    start, middle, end = (schedule.appearance(d).material_color for d in (0, 5, 10))
    assert start == (250, 10, 128)
    assert middle == (255, 0, 128)  # 260 and -0 clipped; 128.3 rounds down
    assert end == (255, 0, 129)
    for colour in (start, middle, end):
        assert isinstance(colour, tuple) and all(type(v) is int for v in colour)
    assert schedule.appearance(5).background is None  # not drifted: stays the product default


def test_colour_ramp_from_a_set_base_uses_the_base() -> None:
    spec = DriftSpec(ramps=(Ramp("background", (-100.0, 0.0, 100.0), 0, 10),))
    schedule = _schedule(spec, Appearance(background=(50, 60, 200)))
    assert schedule.appearance(10).background == (0, 60, 255)


def test_event_set_jumps_and_ramps_continue_from_there() -> None:
    spec = DriftSpec(ramps=(Ramp("illum_gain", (-0.2,), 0, 100),),
                     events=(DriftEvent(50, "camera replaced", set={"illum_gain": (1.1,)}),))
    schedule = _schedule(spec)
    look = schedule.appearance
    assert look(40).illum_gain == pytest.approx(1.0 - 0.08)
    assert look(50).illum_gain == pytest.approx(1.1)  # the jump happens on the event day
    # value(t) = anchor + ramps(t) - ramps(anchor_day) = 1.1 + (-0.15) - (-0.1)
    assert look(75).illum_gain == pytest.approx(1.05)
    assert look(100).illum_gain == pytest.approx(1.0)
    assert look(400).illum_gain == pytest.approx(1.0)


def test_later_event_replaces_the_earlier_anchor() -> None:
    spec = DriftSpec(ramps=(Ramp("blur_sigma", (1.0,), 0, 100),),
                     events=(DriftEvent(60, "refocus", set={"blur_sigma": (0.0,)}),
                             DriftEvent(20, "knock", set={"blur_sigma": (2.0,)})))
    look = _schedule(spec).appearance
    assert look(10).blur_sigma == pytest.approx(0.1)
    assert look(40).blur_sigma == pytest.approx(2.0 + 0.4 - 0.2)
    assert look(80).blur_sigma == pytest.approx(0.0 + 0.8 - 0.6)


def test_event_set_without_ramp_is_a_step() -> None:
    spec = DriftSpec(events=(DriftEvent(30, "new lamp", set={"color_cast": (1.04, 1.0, 0.95)}),))
    look = _schedule(spec).appearance
    assert look(29.9).color_cast == (1.0, 1.0, 1.0)
    assert look(30).color_cast == pytest.approx((1.04, 1.0, 0.95))


def test_added_defect_types_appear_on_the_event_day() -> None:
    spec = DriftSpec(events=(DriftEvent(500, "new subtype", add_defects=("air_bubbles",)),))
    schedule = _schedule(spec)
    assert schedule.defect_types(0) == ("broken_bead", "lump")
    assert "air_bubbles" not in schedule.defect_types(499.9)
    assert set(schedule.defect_types(500)) == set(TYPES)
    assert set(schedule.defect_types(700)) == set(TYPES)


def test_all_types_without_events() -> None:
    assert _schedule(DriftSpec()).defect_types(0) == TYPES


def test_defect_rate_interpolates_between_points() -> None:
    spec = DriftSpec(defect_rate=(RatePoint(0, 0.06), RatePoint(100, 0.10), RatePoint(200, 0.02)))
    rate = _schedule(spec).defect_rate
    assert rate(0) == pytest.approx(0.06)
    assert rate(50) == pytest.approx(0.08)
    assert rate(100) == pytest.approx(0.10)
    assert rate(150) == pytest.approx(0.06)
    assert rate(1000) == pytest.approx(0.02)  # held after the last point


def test_defect_rate_without_points_is_the_default() -> None:
    schedule = _schedule(DriftSpec(), rate=0.13)
    assert schedule.defect_rate(0) == 0.13 and schedule.defect_rate(400) == 0.13


def test_events_in_day_order_and_per_day() -> None:
    spec = DriftSpec(events=(DriftEvent(500, "b"), DriftEvent(365.5, "a"), DriftEvent(500.2, "c")))
    schedule = _schedule(spec)
    assert schedule.events() == ((365.5, "a"), (500, "b"), (500.2, "c"))
    assert schedule.events_on(365) == ["a"]
    assert schedule.events_on(366) == []
    assert schedule.events_on(500) == ["b", "c"]
    assert schedule.events_on(499) == []


@pytest.mark.parametrize(("param", "floor"), [
    ("illum_gain", 0.05), ("gamma", 0.1), ("scale", 0.1), ("blur_sigma", 0.0), ("noise_sigma", 0.0),
])
def test_drift_stops_at_the_floors(param: str, floor: float) -> None:
    schedule = _schedule(DriftSpec(ramps=(Ramp(param, (-1000.0,), 0, 10),)))
    for day in (5, 10, 100):
        look = schedule.appearance(day)  # building the Appearance must not fail its own checks
        assert getattr(look, param) == pytest.approx(floor)


def test_illum_offset_has_no_floor() -> None:
    schedule = _schedule(DriftSpec(ramps=(Ramp("illum_offset", (-30.0,), 0, 10),)))
    assert schedule.appearance(10).illum_offset == pytest.approx(-30.0)
