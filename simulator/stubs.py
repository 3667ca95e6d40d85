"""Inspectors that answer from the ground truth with set error rates.

They let the line run without images or a model: for tests, for the line's
own speed benchmark, and to study routing without training anything.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from inspkit.models.types import InspectionResult
from inspkit.types import Verdict
from simulator.parts import Part

_FLIP = {"OK": Verdict.NG, "NG": Verdict.OK}
_SAME = {"OK": Verdict.OK, "NG": Verdict.NG}


class TruthVision:
    """A vision station that is wrong on a share of parts (``false_call`` on good, ``escape`` on bad)."""

    def __init__(self, false_call: float, escape: float, seed: int) -> None:
        self.false_call, self.escape = false_call, escape
        self.rng = np.random.default_rng(seed)

    def __call__(self, parts: Sequence[Part], images: Sequence[np.ndarray] | None) -> list[Verdict]:
        draws = self.rng.random(len(parts)).tolist()
        return [_FLIP[p.truth] if u < (self.escape if p.truth == "NG" else self.false_call)
                else _SAME[p.truth] for p, u in zip(parts, draws)]


class TruthModel:
    """A model that is wrong on a share ``error`` of parts, with p(OK) to match.

    p(OK) lies 0.05–0.5 away from 0.5 on the side of its verdict, in steps of 0.01.
    """

    def __init__(self, error: float, seed: int, version: str = "stub") -> None:
        self.error, self.version = error, version
        self.rng = np.random.default_rng(seed)
        # Results are immutable: one per (verdict, margin step) serves every part.
        self._results = {(v, m): _result(v, m) for v in (Verdict.OK, Verdict.NG) for m in range(5, 51)}

    def __call__(self, parts: Sequence[Part], images: Sequence[np.ndarray] | None) -> list[InspectionResult]:
        wrong = (self.rng.random(len(parts)) < self.error).tolist()
        margins = self.rng.integers(5, 51, len(parts)).tolist()
        results = self._results
        return [results[_FLIP[p.truth] if flip else _SAME[p.truth], m]
                for p, flip, m in zip(parts, wrong, margins)]


def _result(verdict: Verdict, margin_pct: int) -> InspectionResult:
    p_ok = 0.5 + margin_pct / 100 if verdict is Verdict.OK else 0.5 - margin_pct / 100
    return InspectionResult(p_ok, verdict, verdict.value, max(p_ok, 1 - p_ok))
