"""Failed samples per time slot and the failed-sample ratio (paper Eq. 6–12).

D̄(t) = D_f ∪ D_g is the set of samples that failed review in slot t (wrong
prediction, or right for the wrong reason). Fine-tuning uses D̄(t); when
FSR = |∪ D̄(t)| / |D| exceeds β the model is re-trained on D ∪ ∪ D̄(t) and the
accumulation starts again.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field


def check_beta(beta: float) -> None:
    """Raise ValueError unless 0 < β ≤ 1."""
    if not 0.0 < beta <= 1.0:
        raise ValueError(f"beta is {beta}; expected above 0 and at most 1 (the paper: 0.2)")


@dataclass
class FailedSamples:
    """The failed samples D̄(t) collected since the last re-training.

    Attributes:
        slot_days: Length of a time slot in days (the paper's example: 2).
        slots: Slot index t (1-based) → keys of the samples that failed in it.
    """

    slot_days: float
    slots: dict[int, set[str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.slot_days > 0:
            raise ValueError(f"slot_days is {self.slot_days}; expected more than 0")

    def slot_of(self, day: float) -> int:
        """The slot t that ``day`` (from the start, 0-based) falls in; slot 1 holds days [0, slot_days)."""
        return math.floor(day / self.slot_days) + 1

    def add(self, day: float, keys: set[str] | list[str]) -> None:
        """Record samples that failed review on ``day``."""
        self.slots.setdefault(self.slot_of(day), set()).update(keys)

    def slot(self, t: int) -> set[str]:
        """D̄(t) (empty when nothing failed in slot t)."""
        return set(self.slots.get(t, set()))

    def union(self) -> set[str]:
        """∪ D̄(t) over every slot so far."""
        return set().union(*self.slots.values()) if self.slots else set()

    def fsr(self, training_size: int) -> float:
        """FSR = |∪ D̄(t)| / |D| (Eq. 10), with |D| the size of the training set.

        Raises:
            ValueError: ``training_size`` is not positive.
        """
        if training_size <= 0:
            raise ValueError(f"the training set size must be positive, got {training_size}")
        return len(self.union()) / training_size

    def needs_retraining(self, training_size: int, beta: float) -> bool:
        """Whether FSR exceeds β, so the model should be re-trained on D ∪ ∪ D̄(t) (Eq. 11)."""
        check_beta(beta)
        return self.fsr(training_size) > beta

    def reset(self) -> None:
        """Start a new accumulation (after a re-training)."""
        self.slots.clear()
