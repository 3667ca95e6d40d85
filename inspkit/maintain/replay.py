"""A reservoir of earlier samples for fine-tuning with replay.

Reservoir sampling (Vitter's algorithm R) keeps a uniform sample of every item
offered so far in fixed memory, so old drift states stay represented however
long the line runs.
"""

from __future__ import annotations

from typing import Generic, TypeVar

import numpy as np

T = TypeVar("T")


class Reservoir(Generic[T]):
    """A uniform sample of at most ``size`` of the items offered.

    Args:
        size: Capacity (0 keeps nothing).
        seed: Seeds which items are kept.
    """

    def __init__(self, size: int, seed: int = 0) -> None:
        if size < 0:
            raise ValueError(f"reservoir size is {size}; expected 0 or more")
        self.size = size
        self.items: list[T] = []
        self.seen = 0
        self._rng = np.random.default_rng(seed)

    def offer(self, items: list[T]) -> None:
        """Offer items; each of the ``seen`` so far is kept with chance size / seen."""
        for item in items:
            self.seen += 1
            if len(self.items) < self.size:
                self.items.append(item)
                continue
            j = int(self._rng.integers(self.seen))
            if j < self.size:
                self.items[j] = item

    def __len__(self) -> int:
        return len(self.items)
