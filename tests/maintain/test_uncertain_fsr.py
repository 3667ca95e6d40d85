"""Eq. 5 (unreliable samples) and Eq. 10 (failed-sample ratio) as a system manager relies on them."""

from __future__ import annotations

import pytest

from inspkit.errors import RecipeError
from inspkit.maintain.fsr import FailedSamples
from inspkit.maintain.uncertain import is_unreliable, unreliable
from inspkit.recipe import recipe_from_dict
from tests.conftest import small_recipe_dict


def test_unreliable_samples_lie_within_alpha_of_the_boundary() -> None:
    ps = {"a": 0.97, "b": 0.62, "c": 0.5, "d": 0.41, "e": 0.02, "f": None}
    assert unreliable(ps, ps.get, 0.1) == ["c", "d"]
    assert unreliable(ps, ps.get, 0.12) == ["b", "c", "d"]  # |0.62 - 0.5| = 0.12 is on the edge: included
    assert is_unreliable(0.4, 0.1) and not is_unreliable(0.39, 0.1)


def test_alpha_half_the_papers_value_selects_every_sample_with_a_p() -> None:
    ps = {"a": 1.0, "b": 0.0, "c": 0.73, "d": None}
    assert unreliable(ps, ps.get, 0.5) == ["a", "b", "c"]


@pytest.mark.parametrize("alpha", [-0.01, 0.51])
def test_alpha_out_of_range_is_refused(alpha: float) -> None:
    with pytest.raises(ValueError, match="0 to 0.5"):
        unreliable([], lambda x: x, alpha)


def test_failed_samples_fall_into_time_slots_and_fsr_counts_each_once() -> None:
    failed = FailedSamples(slot_days=2)
    failed.add(0.5, ["s1", "s2"])   # slot 1: days 0-1
    failed.add(1.9, ["s2", "s3"])
    failed.add(2.0, ["s4"])          # slot 2: days 2-3
    failed.add(5.0, ["s1"])          # slot 3: a sample failing again counts once in the union
    assert failed.slot(1) == {"s1", "s2", "s3"} and failed.slot(2) == {"s4"} and failed.slot(3) == {"s1"}
    assert failed.fsr(training_size=20) == pytest.approx(4 / 20)
    assert not failed.needs_retraining(20, beta=0.2)   # FSR must exceed beta
    failed.add(6.0, ["s5"])
    assert failed.needs_retraining(20, beta=0.2)
    failed.reset()
    assert failed.fsr(20) == 0.0 and failed.union() == set()


def test_fsr_needs_a_training_set_and_a_sensible_beta() -> None:
    failed = FailedSamples(slot_days=1)
    with pytest.raises(ValueError, match="positive"):
        failed.fsr(0)
    with pytest.raises(ValueError, match="beta"):
        failed.needs_retraining(10, beta=0.0)
    with pytest.raises(ValueError, match="slot_days"):
        FailedSamples(slot_days=0)


@pytest.mark.parametrize(("key", "value"), [("alpha", 0.6), ("beta", 0.0), ("slot_days", 0)])
def test_recipe_refuses_manage_values_out_of_range(key: str, value: float) -> None:
    data = small_recipe_dict()
    data["manage"] = {key: value}
    with pytest.raises(RecipeError, match=f"manage.{key}"):
        recipe_from_dict(data)
