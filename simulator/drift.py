"""The drift schedule: the station's look, the defect rate and the defect types on a day.

A value on day ``t`` is its base (or the level the latest event set) plus
the ramps' progress since then::

    value(t) = anchor + ramps(t) − ramps(anchor_day)

so a camera replaced on day X resets the light, and slow drift goes on from
the new level.
"""

from __future__ import annotations

import functools
from dataclasses import replace

import numpy as np

from inspkit.recipe_line import DRIFTABLE, DriftEvent, DriftSpec, Ramp
from inspkit.types import Appearance

#: Values outside these bounds would break the renderer; drift stops at them.
_FLOORS = {"illum_gain": 0.05, "gamma": 0.1, "scale": 0.1, "blur_sigma": 0.0,
           "noise_sigma": 0.0, "position_jitter_px": 0.0, "rotation_jitter_deg": 0.0}
_COLOURS = ("material_color", "background")


class DriftSchedule:
    """Appearance, defect rate and active defect types as functions of the day.

    Args:
        base: The station's look at go-live.
        spec: The recipe's drift section.
        defect_types: All defect types of the product (ok-ng); those an event
            adds are absent before its day.
        default_rate: Defect rate when ``spec.defect_rate`` is empty.
        colour_defaults: RGB the product uses when ``material_color`` /
            ``background`` are None (drift needs a number to move).
    """

    def __init__(self, base: Appearance, spec: DriftSpec, defect_types: tuple[str, ...],
                 default_rate: float, colour_defaults: dict[str, tuple[int, int, int]]) -> None:
        self.base = base
        self.spec = spec
        self.default_rate = default_rate
        self._colour_defaults = colour_defaults
        late = {d for e in spec.events for d in e.add_defects}
        self._initial_types = tuple(d for d in defect_types if d not in late)
        self._events = sorted(spec.events, key=lambda e: e.day)

    def events(self) -> tuple[tuple[float, str], ...]:
        """(day, name) of every event, in day order."""
        return tuple((e.day, e.name) for e in self._events)

    def events_on(self, day: int) -> list[str]:
        """Names of the events that happen during ``day``."""
        return [e.name for e in self._events if day <= e.day < day + 1]

    @functools.lru_cache(maxsize=4096)
    def appearance(self, day: float) -> Appearance:
        """The station's look on ``day``."""
        changes = {p: self._value(p, day) for p in self._moved_params()}
        return replace(self.base, **changes) if changes else self.base

    def defect_rate(self, day: float) -> float:
        """Share of defective parts on ``day`` (linear between the recipe's points)."""
        points = self.spec.defect_rate
        if not points:
            return self.default_rate
        return float(np.interp(day, [p.day for p in points], [p.rate for p in points]))

    def defect_types(self, day: float) -> tuple[str, ...]:
        """Defect types that occur on ``day``."""
        added = tuple(d for e in self._events if e.day <= day for d in e.add_defects)
        return self._initial_types + added

    @functools.cache
    def _moved_params(self) -> tuple[str, ...]:
        named = {r.param for r in self.spec.ramps} | {p for e in self._events for p in e.set}
        return tuple(p for p in DRIFTABLE if p in named)

    def _value(self, param: str, day: float) -> object:
        anchor, anchor_day = self._anchor(param, day)
        ramps = [r for r in self.spec.ramps if r.param == param]
        value = anchor + _progress(ramps, day) - _progress(ramps, anchor_day)
        return _finish(param, value)

    def _anchor(self, param: str, day: float) -> tuple[np.ndarray, float]:
        latest: DriftEvent | None = None
        for event in self._events:
            if event.day <= day and param in event.set:
                latest = event
        if latest is not None:
            return np.asarray(latest.set[param], float), latest.day
        return self._base_value(param), -np.inf

    def _base_value(self, param: str) -> np.ndarray:
        value = getattr(self.base, param)
        if value is None:
            value = self._colour_defaults[param]
        return np.atleast_1d(np.asarray(value, float))


def _progress(ramps: list[Ramp], day: float) -> np.ndarray:
    """How far the ramps have moved their parameter by ``day``."""
    total = np.zeros(1)
    for ramp in ramps:
        share = np.clip((day - ramp.start_day) / (ramp.end_day - ramp.start_day), 0.0, 1.0)
        total = total + share * np.asarray(ramp.by, float)
    return total


def _finish(param: str, value: np.ndarray) -> object:
    """The drifted value as the Appearance field wants it."""
    if param in _COLOURS:
        return tuple(int(v) for v in np.clip(np.rint(value), 0, 255))
    if DRIFTABLE[param] > 1:
        return tuple(float(v) for v in value)
    return max(float(value[0]), _FLOORS.get(param, -np.inf))
