"""Goal routing: which verdict reaches the PLC for each goal, vision and model verdict, and shadow mode."""

from __future__ import annotations

import pytest

from inspkit.connect.routing import Decision, needs_model, route
from inspkit.types import Goal, Verdict

OK, NG = Verdict.OK, Verdict.NG
FP, TP, REPLACE = Goal.FP_REDUCTION, Goal.TP_IMPROVEMENT, Goal.REPLACEMENT

# (goal, vision, model) -> (final verdict, decided by the model)
TRUTH_TABLE = [
    # fp-reduction: vision NG parts are re-checked; vision OK parts pass without the model
    (FP, OK, OK, OK, False),
    (FP, OK, NG, OK, False),
    (FP, OK, None, OK, False),
    (FP, NG, OK, OK, True),
    (FP, NG, NG, NG, True),
    # tp-improvement: vision OK parts are re-checked; vision NG parts are rejected without the model
    (TP, OK, OK, OK, True),
    (TP, OK, NG, NG, True),
    (TP, NG, OK, NG, False),
    (TP, NG, NG, NG, False),
    (TP, NG, None, NG, False),
    # replacement: the model decides every part, with or without a vision verdict
    (REPLACE, OK, OK, OK, True),
    (REPLACE, OK, NG, NG, True),
    (REPLACE, NG, OK, OK, True),
    (REPLACE, NG, NG, NG, True),
    (REPLACE, None, OK, OK, True),
    (REPLACE, None, NG, NG, True),
]


@pytest.mark.parametrize(("goal", "vision", "model", "final", "by_model"), TRUTH_TABLE)
def test_route_truth_table(goal: Goal, vision: Verdict | None, model: Verdict | None,
                           final: Verdict, by_model: bool) -> None:
    decision = route(goal, vision, model)
    assert decision == Decision(final, by_model)
    assert decision.verdict is final
    assert decision.by_model is by_model


@pytest.mark.parametrize(("goal", "vision", "expected"), [
    (FP, NG, True), (FP, OK, False),
    (TP, OK, True), (TP, NG, False),
    (REPLACE, OK, True), (REPLACE, NG, True), (REPLACE, None, True),
])
def test_needs_model(goal: Goal, vision: Verdict | None, expected: bool) -> None:
    assert needs_model(goal, vision) is expected


@pytest.mark.parametrize(("goal", "vision", "model", "final", "by_model"), TRUTH_TABLE)
def test_needs_model_agrees_with_who_decides(goal: Goal, vision: Verdict | None, model: Verdict | None,
                                             final: Verdict, by_model: bool) -> None:
    assert needs_model(goal, vision) is by_model


@pytest.mark.parametrize("goal", list(Goal))
@pytest.mark.parametrize("vision", [OK, NG])
@pytest.mark.parametrize("model", [OK, NG, None])
def test_shadow_mode_vision_always_decides(goal: Goal, vision: Verdict, model: Verdict | None) -> None:
    decision = route(goal, vision, model, shadow=True)
    assert decision == Decision(vision, False)


@pytest.mark.parametrize("goal", list(Goal))
def test_shadow_mode_overrules_a_disagreeing_model(goal: Goal) -> None:
    assert route(goal, NG, OK, shadow=True).verdict is NG
    assert route(goal, OK, NG, shadow=True).verdict is OK


@pytest.mark.parametrize(("goal", "vision"), [(FP, NG), (TP, OK), (REPLACE, OK), (REPLACE, NG), (REPLACE, None)])
def test_missing_model_verdict_where_needed_raises(goal: Goal, vision: Verdict | None) -> None:
    with pytest.raises(ValueError, match=goal.value):
        route(goal, vision, None)


@pytest.mark.parametrize("goal", [FP, TP])
@pytest.mark.parametrize("model", [OK, NG, None])
def test_missing_vision_verdict_where_goal_relies_on_it_raises(goal: Goal, model: Verdict | None) -> None:
    with pytest.raises(ValueError, match="vision"):
        route(goal, None, model)
    with pytest.raises(ValueError, match="vision"):
        needs_model(goal, None)


@pytest.mark.parametrize("goal", list(Goal))
def test_shadow_mode_without_vision_raises(goal: Goal) -> None:
    with pytest.raises(ValueError, match="shadow"):
        route(goal, None, OK, shadow=True)


def test_decision_is_frozen() -> None:
    decision = route(REPLACE, None, OK)
    with pytest.raises(AttributeError):
        decision.verdict = NG  # type: ignore[misc]
