"""Recipe sections about the running line (connect, drift, simulate): validation and round trip."""

from __future__ import annotations

import copy

import pytest
import yaml

from inspkit.errors import RecipeError
from inspkit.recipe import dump_recipe, load_recipe, recipe_from_dict
from inspkit.recipe_line import DRIFTABLE, DriftEvent, RegisterMap
from inspkit.types import Goal
from tests.conftest import RECIPES, small_recipe_dict

BASE = small_recipe_dict()


def _data() -> dict:
    return copy.deepcopy(BASE)


def _refused(data: dict) -> str:
    with pytest.raises(RecipeError) as err:
        recipe_from_dict(data)
    return str(err.value)


def test_the_small_recipe_is_valid() -> None:
    recipe = recipe_from_dict(_data())
    assert recipe.drift.ramps and recipe.drift.events


def test_ramp_on_unknown_parameter_names_it_and_lists_valid_ones() -> None:
    data = _data()
    data["drift"]["ramps"][1]["param"] = "brightness"
    message = _refused(data)
    assert "'brightness'" in message and "drift.ramps[1]" in message
    assert all(name in message for name in DRIFTABLE)


def test_event_setting_unknown_parameter_is_refused() -> None:
    data = _data()
    data["drift"]["events"][0]["set"] = {"exposure": [2.0]}
    message = _refused(data)
    assert "'exposure'" in message and "drift.events[0].set" in message and "illum_gain" in message


@pytest.mark.parametrize(("param", "by", "takes"), [
    ("material_color", [20], 3), ("illum_gain", [0.1, 0.2], 1), ("position_offset_px", [1, 2, 3], 2),
])
def test_ramp_with_wrong_number_of_values(param: str, by: list[float], takes: int) -> None:
    data = _data()
    data["drift"]["ramps"] = [{"param": param, "by": by, "start_day": 0, "end_day": 10}]
    message = _refused(data)
    assert param in message and f"takes {takes} number" in message


@pytest.mark.parametrize("end_day", [100, 50])
def test_ramp_must_end_after_it_starts(end_day: float) -> None:
    data = _data()
    data["drift"]["ramps"] = [{"param": "illum_gain", "by": [-0.1], "start_day": 100, "end_day": end_day}]
    message = _refused(data)
    assert "drift.ramps[0]" in message and "end_day" in message


def test_event_adding_unknown_defect_type_is_refused() -> None:
    data = _data()
    data["drift"]["events"][1]["add_defects"] = ["scratches"]
    message = _refused(data)
    assert "'scratches'" in message and "drift.events[1].add_defects" in message
    assert "air_bubbles" in message and "broken_bead" in message  # lists the taxonomy


def test_defect_rate_points_must_be_in_day_order() -> None:
    data = _data()
    data["drift"]["defect_rate"] = [{"day": 100, "rate": 0.1}, {"day": 50, "rate": 0.2}]
    assert "day order" in _refused(data)


def test_defect_rate_must_be_a_share() -> None:
    data = _data()
    data["drift"]["defect_rate"] = [{"day": 0, "rate": 1.5}]
    assert "drift.defect_rate" in _refused(data)


def test_overlapping_shifts_are_refused() -> None:
    data = _data()
    data["simulate"]["shifts"] = ["06:00-14:00", "13:00-22:00"]
    message = _refused(data)
    assert "overlap" in message and "13:00-22:00" in message


def test_back_to_back_shifts_are_fine() -> None:
    data = _data()
    data["simulate"]["shifts"] = ["14:00-22:00", "06:00-14:00", "22:00-24:00"]
    assert recipe_from_dict(data).simulate.shifts == ("14:00-22:00", "06:00-14:00", "22:00-24:00")


def test_malformed_shift_is_a_recipe_error() -> None:
    data = _data()
    data["simulate"]["shifts"] = ["25:00-26:00"]
    assert "25:00-26:00" in _refused(data)


def test_parts_beyond_the_shift_hours_are_refused_with_the_hours_needed() -> None:
    data = _data()  # cycle_time_ms 2000, default shifts give 16 h
    data["simulate"]["parts_per_day"] = 30_000  # 30000 * 2 s = 16.7 h
    message = _refused(data)
    assert "simulate.parts_per_day" in message and "16.7 h" in message and "16.0 h" in message


def test_parts_exactly_filling_the_shifts_are_fine() -> None:
    data = _data()
    data["simulate"]["parts_per_day"] = 28_800  # 16 h at 2 s
    assert recipe_from_dict(data).simulate.parts_per_day == 28_800


def test_duplicate_plc_register_addresses_are_refused() -> None:
    data = _data()
    data["connect"]["plc"] = {"ack": 4}  # the default verdict address
    message = _refused(data)
    assert "connect.plc" in message and "distinct" in message


def test_plc_register_address_must_fit_16_bits() -> None:
    data = _data()
    data["connect"]["plc"] = {"sequence": 70_000}
    assert "0..65535" in _refused(data)


def test_simulate_days_zero_is_out_of_range() -> None:
    data = _data()
    data["simulate"]["days"] = 0
    message = _refused(data)
    assert "'simulate.days' is 0" in message and "expected 1" in message


def test_unknown_key_in_simulate_names_it_and_valid_keys() -> None:
    data = _data()
    data["simulate"]["speed"] = 2
    message = _refused(data)
    assert "unknown key 'simulate.speed'" in message and "parts_per_day" in message


def test_line_sections_round_trip_through_yaml() -> None:
    data = _data()
    data["connect"] = {"goal": "fp-reduction",
                       "plc": {"trigger": 10, "ready": 11, "result_ready": 12, "ack": 13,
                               "verdict": 14, "error": 15, "sequence": 16}}
    data["drift"]["events"].append({"day": 600, "name": "new glue", "set": {"material_color": [200, 180, 90]},
                                    "add_defects": ["lump"]})
    data["simulate"].update(shifts=["22:00-24:00", "06:00-14:00"], work_days_per_week=6, parts_per_day=500,
                            defect_rate=0.05, vision_ms=350.5)
    recipe = recipe_from_dict(data)
    assert recipe.connect.goal is Goal.FP_REDUCTION
    assert recipe.connect.plc == RegisterMap(10, 11, 12, 13, 14, 15, 16)
    assert recipe.drift.events[2] == DriftEvent(600.0, "new glue", {"material_color": (200.0, 180.0, 90.0)},
                                                ("lump",))
    again = recipe_from_dict(yaml.safe_load(dump_recipe(recipe)))
    assert again == recipe
    assert again.drift == recipe.drift and again.simulate == recipe.simulate and again.connect == recipe.connect


def test_cylinder_bonding_recipe_has_drift() -> None:
    recipe = load_recipe(RECIPES / "cylinder-bonding.yaml")
    events = {e.day: e for e in recipe.drift.events}
    assert events, "the shipped recipe should show abrupt drift"
    assert any(e.set for e in events.values())
    assert any(e.add_defects for e in events.values())
    added = {d for e in events.values() for d in e.add_defects}
    assert added <= set(recipe.taxonomy)
    assert {r.param for r in recipe.drift.ramps} <= set(DRIFTABLE)
    assert recipe.simulate.days >= max(events)
