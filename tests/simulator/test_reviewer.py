"""The simulated two-stage reviewer and the model's view of a frame."""

from __future__ import annotations

import math

import numpy as np
import pytest

from inspkit.types import Roi
from simulator.products import create_product, generate
from simulator.reviewer import Reviewer, ReviewItem, model_view


def _items(n: int, right: bool, cam: float | None = 0.9) -> list[ReviewItem]:
    predicted = "OK" if right else "NG"
    return [ReviewItem(f"s{i}", "OK", predicted, 0.6, cam) for i in range(n)]


def test_a_perfect_reviewer_fails_wrong_predictions_with_the_true_label() -> None:
    reviewer = Reviewer(0.0, 0.3, seed=0)
    (ok,) = reviewer.review(_items(1, right=True))
    (bad,) = reviewer.review(_items(1, right=False))
    assert ok.said_correct and not ok.failed and ok.label == "OK"
    assert not bad.said_correct and bad.failed and bad.label == "OK" and not bad.attention_fail


def test_stage_two_fails_right_predictions_that_look_elsewhere() -> None:
    reviewer = Reviewer(0.0, 0.3, seed=0)
    low, unknown, nan = reviewer.review(
        [ReviewItem("a", "NG", "NG", 0.1, 0.1), ReviewItem("b", "NG", "NG", 0.1, None),
         ReviewItem("c", "NG", "NG", 0.1, math.nan)])
    assert low.attention_fail and low.failed and low.label == "NG"
    assert not unknown.failed and not nan.failed
    (wrong,) = reviewer.review([ReviewItem("d", "OK", "NG", 0.4, 0.0)])
    assert not wrong.attention_fail  # stage 2 only looks at samples called right


def test_an_always_wrong_reviewer_flips_answers_and_labels() -> None:
    reviewer = Reviewer(1.0, 0.3, seed=0)
    (was_right,) = reviewer.review(_items(1, right=True))
    (was_wrong,) = reviewer.review(_items(1, right=False))
    assert not was_right.said_correct and was_right.label == "NG" and was_right.failed
    assert was_wrong.said_correct and was_wrong.label == "NG" and not was_wrong.failed


def test_error_rate_is_about_right_and_seeded() -> None:
    items = _items(2000, right=True)
    outcomes = Reviewer(0.1, 0.3, seed=4).review(items)
    share = sum(not o.said_correct for o in outcomes) / len(items)
    assert 0.07 < share < 0.13
    assert outcomes == Reviewer(0.1, 0.3, seed=4).review(items)
    with pytest.raises(ValueError):
        Reviewer(1.5, 0.3, seed=0)


def test_model_view_targets_the_defect_for_ng_and_the_part_for_ok() -> None:
    product = create_product("cylinder_bonding", (128, 128))
    roi = Roi(64, 64, 100, 100)
    ng = generate(product, 0, 1, defect="lump")
    ok = generate(product, 0, 2, defect_rate=0.0)
    image, target = model_view(ng, 32, roi)
    assert image.shape == (32, 32, 3) and image.dtype == np.uint8
    assert target.shape == (32, 32) and target.dtype == bool
    assert 0 < target.sum() < 0.5 * target.size  # a lump is a small part of the view
    assert ok.label == "OK"
    _, ok_target = model_view(ok, 32, roi)
    assert ok_target.sum() > 0.5 * ok_target.size  # the part fills most of its ROI crop
