"""Unreliable samples (paper Eq. 5): predictions too close to the decision boundary.

A sample is unreliable when ``|p − 0.5| ≤ α``, with p the model's p(OK).
α = 0.5, the paper's value, selects every sample: every part is reviewed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TypeVar

T = TypeVar("T")


def check_alpha(alpha: float) -> None:
    """Raise ValueError unless 0 ≤ α ≤ 0.5."""
    if not 0.0 <= alpha <= 0.5:
        raise ValueError(f"alpha is {alpha}; expected 0 to 0.5 (0.5, the paper's value, selects every sample)")


def is_unreliable(p_ok: float, alpha: float) -> bool:
    """Whether a prediction with p(OK) = ``p_ok`` needs a person's look (Eq. 5)."""
    return abs(p_ok - 0.5) <= alpha


def unreliable(items: Iterable[T], p_ok: Callable[[T], float | None], alpha: float) -> list[T]:
    """The items whose p(OK) lies within ``α`` of 0.5, in order; items without a p are skipped.

    Raises:
        ValueError: α outside 0..0.5.
    """
    check_alpha(alpha)
    picked = []
    for item in items:
        p = p_ok(item)
        if p is not None and is_unreliable(p, alpha):
            picked.append(item)
    return picked
