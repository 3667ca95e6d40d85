"""The recipe's ``lines:`` section: other lines of the same product, with a domain gap."""

from __future__ import annotations

import copy

import pytest

from inspkit.errors import InputError, RecipeError
from inspkit.recipe import recipe_from_dict, recipe_to_dict
from tests.conftest import small_recipe_dict

BASE = small_recipe_dict()


def _data(**lines: dict) -> dict:
    data = copy.deepcopy(BASE)
    data["lines"] = lines
    return data


def _refused(data: dict) -> str:
    with pytest.raises(RecipeError) as err:
        recipe_from_dict(data)
    return str(err.value)


def test_line_b_changes_only_what_it_names_and_keeps_the_rest_of_the_main_line() -> None:
    recipe = recipe_from_dict(_data(C={"appearance": {"illum_gain": 0.7, "tilt_deg": -4}}))
    main, other = recipe.product.appearance, recipe.for_line("C")
    assert other.product.appearance.illum_gain == 0.7 and other.product.appearance.tilt_deg == -4.0
    assert other.product.appearance.rotation_jitter_deg == main.rotation_jitter_deg == 2.0
    assert (other.line.line, other.line.station) == ("C", recipe.line.station)  # station defaults to the main one
    assert other.line.cycle_time_ms == recipe.line.cycle_time_ms


def test_the_shipped_recipe_has_a_line_b_with_a_domain_gap() -> None:
    recipe = recipe_from_dict(copy.deepcopy(BASE))
    b = recipe.for_line("B")
    assert b.line.station == "S2" and b.product.appearance.illum_gain < 1.0
    assert b.product.appearance.tilt_deg != 0.0 and b.product.appearance.material_color is not None
    assert recipe.for_line(None) is recipe and recipe.for_line("L1") is recipe


def test_lines_round_trip_through_plain_data() -> None:
    recipe = recipe_from_dict(copy.deepcopy(BASE))
    assert recipe_from_dict(recipe_to_dict(recipe)) == recipe


def test_unknown_key_in_a_line_is_named() -> None:
    message = _refused(_data(B={"camera": 2}))
    assert "lines.B.camera" in message and "station" in message


def test_unknown_appearance_key_in_a_line_is_named_with_the_valid_ones() -> None:
    message = _refused(_data(B={"appearance": {"brightness": 0.8}}))
    assert "lines.B.appearance.brightness" in message and "illum_gain" in message


def test_bad_values_in_a_line_name_the_key() -> None:
    assert "lines.B.appearance.illum_gain" in _refused(_data(B={"appearance": {"illum_gain": "dim"}}))
    assert "lines.B.appearance.color_cast" in _refused(_data(B={"appearance": {"color_cast": [1, 1]}}))
    message = _refused(_data(B={"appearance": {"tilt_deg": 80}}))
    assert "'lines.B.appearance.tilt_deg' is 80.0" in message and "-30.0 to 30.0" in message


def test_a_line_may_not_redefine_the_main_line() -> None:
    message = _refused(_data(L1={"station": "S9"}))
    assert "'lines.L1' redefines the main line" in message


def test_an_unknown_line_id_lists_the_known_lines() -> None:
    recipe = recipe_from_dict(_data(B={}, C={}))
    with pytest.raises(InputError, match=r"line 'Z' is not in the recipe; known lines: L1 \(main\), B, C"):
        recipe.for_line("Z")
