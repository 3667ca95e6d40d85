"""Recipes: shipped files load, unknown keys and bad ranges are refused, flags override."""

from __future__ import annotations

import dataclasses
import typing

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from inspkit.errors import RecipeError
from inspkit.recipe import (
    LabelKind, Recipe, Task, dump_recipe, load_recipe, recipe_from_dict, recipe_to_dict, with_overrides,
)
from tests.conftest import RECIPES, small_recipe_dict

SHIPPED = sorted(RECIPES.glob("*.yaml"))


def test_the_four_recipes_are_shipped() -> None:
    names = {p.stem for p in SHIPPED}
    assert {"cylinder-bonding", "soldered-pin", "pcb-mcu", "nav-icons"} <= names


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_shipped_recipe_loads_and_round_trips(path) -> None:
    recipe = load_recipe(path)
    assert recipe.taxonomy and all(policy.strip() for policy in recipe.taxonomy.values())
    assert recipe_from_dict(yaml.safe_load(dump_recipe(recipe))) == recipe


def test_recipe_kinds_match_the_paper() -> None:
    by_name = {p.stem: load_recipe(p) for p in SHIPPED}
    assert by_name["pcb-mcu"].task is Task.DETECT
    assert by_name["cylinder-bonding"].task is Task.CLASSIFY
    icons = by_name["nav-icons"]
    assert icons.labels is LabelKind.MULTICLASS and len(icons.taxonomy) == 20
    assert icons.image_size == 64


def test_unknown_top_level_key_names_key_and_valid_keys() -> None:
    with pytest.raises(RecipeError) as err:
        recipe_from_dict(small_recipe_dict(colour="red"))
    assert "unknown key 'colour'" in str(err.value) and "taxonomy" in str(err.value)


def test_unknown_nested_key_names_its_path() -> None:
    data = small_recipe_dict()
    data["augment"]["noise"]["speckle"] = 0.1
    with pytest.raises(RecipeError, match=r"augment\.noise\.speckle.*gaussian_sigma"):
        recipe_from_dict(data)


SECTIONS = ["", "product", "product.appearance", "roi", "line", "augment", "augment.color", "storage"]


@settings(max_examples=40, deadline=None)
@given(section=st.sampled_from(SECTIONS), key=st.from_regex(r"[a-z][a-z_]{0,12}", fullmatch=True))
def test_any_unknown_key_is_rejected(section: str, key: str) -> None:
    data = small_recipe_dict()
    node = data
    for part in filter(None, section.split(".")):
        node = node.setdefault(part, {})
    known = {f.name for f in _fields_at(section)}
    if key in known:
        return
    node[key] = 1
    with pytest.raises(RecipeError, match="unknown key"):
        recipe_from_dict(data)


def _fields_at(section: str) -> tuple[dataclasses.Field, ...]:
    cls = Recipe
    for part in filter(None, section.split(".")):
        cls = typing.get_type_hints(cls)[part]
    return dataclasses.fields(cls)


def test_out_of_range_value_is_refused_with_the_range() -> None:
    data = small_recipe_dict()
    data["product"]["defect_rate"] = 1.5
    with pytest.raises(RecipeError, match=r"product\.defect_rate.*0\.0 to 1\.0"):
        recipe_from_dict(data)


def test_wrong_type_and_missing_key_are_refused() -> None:
    data = small_recipe_dict()
    data["image_size"] = "big"
    with pytest.raises(RecipeError, match="image_size"):
        recipe_from_dict(data)
    data = small_recipe_dict()
    del data["roi"]
    with pytest.raises(RecipeError, match="missing key 'roi'"):
        recipe_from_dict(data)


def test_bad_enum_lists_choices() -> None:
    with pytest.raises(RecipeError, match="classify, detect"):
        recipe_from_dict(small_recipe_dict(task="segment"))


def test_overrides_win_and_are_validated() -> None:
    recipe = recipe_from_dict(small_recipe_dict())
    changed = with_overrides(recipe, {"roi.margin": 0.25, "seed": None})
    assert changed.roi.margin == 0.25 and changed.seed == recipe.seed
    with pytest.raises(RecipeError, match="roi.margin"):
        with_overrides(recipe, {"roi.margin": -1.0})


def test_missing_and_malformed_files(tmp_path) -> None:
    with pytest.raises(RecipeError, match="not found"):
        load_recipe(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: [unclosed")
    with pytest.raises(RecipeError, match="cannot be read as YAML"):
        load_recipe(bad)


def test_appearance_is_the_simulators_and_its_checks_are_recipe_errors() -> None:
    from simulator.products import Appearance

    recipe = recipe_from_dict(small_recipe_dict())
    assert isinstance(recipe.product.appearance, Appearance)
    assert recipe_to_dict(recipe)["product"]["appearance"]["color_cast"] == [1.0, 1.0, 1.0]
    data = small_recipe_dict()
    data["product"]["appearance"]["blur_sigma"] = -1.0
    with pytest.raises(RecipeError, match="blur_sigma"):
        recipe_from_dict(data)
