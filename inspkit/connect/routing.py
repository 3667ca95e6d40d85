"""Goal routing: which verdict counts for a part (paper 3.2.1, Fig. 7).

One function decides for both the line simulator and ``inspkit connect``.
"""

from __future__ import annotations

from dataclasses import dataclass

from inspkit.types import Goal, Verdict

__all__ = ["Decision", "Goal", "needs_model", "route"]


@dataclass(frozen=True, slots=True)
class Decision:
    """The final verdict for one part and who made it.

    Attributes:
        verdict: What the PLC acts on.
        by_model: True when the model's verdict decided, False when the vision station's did.
    """

    verdict: Verdict
    by_model: bool


# Module-level names: looking an enum member up on its class costs a descriptor
# call, and the line simulator routes tens of thousands of parts a second.
_OK, _NG = Verdict.OK, Verdict.NG
_FP, _REPLACE = Goal.FP_REDUCTION, Goal.REPLACEMENT


def needs_model(goal: Goal, vision: Verdict | None) -> bool:
    """Whether the model must inspect a part the vision station called ``vision``.

    fp-reduction re-checks only vision NG, tp-improvement only vision OK,
    replacement every part (the vision station then gives no verdict).
    """
    if goal is _REPLACE:
        return True
    if vision is None:
        raise ValueError(f"goal {goal.value} needs the vision station's verdict")
    return (vision is _NG) == (goal is _FP)


def route(goal: Goal, vision: Verdict | None, model: Verdict | None, shadow: bool = False) -> Decision:
    """The final verdict of a part under ``goal``.

    Args:
        goal: Why the model is on the line.
        vision: The legacy station's verdict (``None`` only under replacement).
        model: The model's verdict, ``None`` when it did not answer.
        shadow: Validation period: the model is recorded but the vision verdict drives the PLC.

    Raises:
        ValueError: the model's verdict is needed and missing, or the vision
            verdict is missing where the goal relies on it.
    """
    if shadow:
        if vision is None:
            raise ValueError("shadow mode needs the vision station's verdict")
        return _DECISIONS[vision, False]
    if not needs_model(goal, vision):
        return _DECISIONS[vision, False]
    if model is None:
        raise ValueError(f"goal {goal.value}: the model's verdict is needed for a vision {vision} part")
    return _DECISIONS[model, True]


# Decisions are immutable, so the four there are can be made once.
_DECISIONS = {(v, by): Decision(v, by) for v in (_OK, _NG) for by in (False, True)}
