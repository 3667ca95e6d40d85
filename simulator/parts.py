"""Parts on the line, made in chunks whose frames and verdicts are computed together.

A part's frame and its inspections are pure functions of the part (serial,
day, truth) and the inspector, so they can be computed for a whole chunk the
first time any of its parts needs them: the SimPy processes still see one
part at a time, but images are rendered and the model runs in batches.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from inspkit.models.types import InspectionResult
from inspkit.types import Verdict


class Part:
    """One part: who it is, what it truly is, what happened to it."""

    __slots__ = ("serial", "day", "truth", "defect_type", "chunk", "index", "shot_s", "vision", "run_start_s")

    def __init__(self, serial: int, day: int, truth: str, defect_type: str | None,
                 chunk: Chunk, index: int, run_start_s: float = 0.0) -> None:
        self.serial = serial
        self.day = day
        self.truth = truth
        self.defect_type = defect_type
        self.chunk = chunk
        self.index = index
        self.run_start_s = run_start_s  # when its production run started, seconds from the run's start
        self.shot_s = 0.0
        self.vision: Verdict | None = None


class ModelInspector(Protocol):
    """The edge model as the line sees it (``inspkit simulate`` injects the Inferencer)."""

    version: str

    def __call__(self, parts: Sequence[Part], images: Sequence[np.ndarray] | None) -> list[InspectionResult]:
        """Inspect parts; ``images`` is None when the line runs without images."""


class VisionInspector(Protocol):
    """The legacy vision station's judgement."""

    def __call__(self, parts: Sequence[Part], images: Sequence[np.ndarray] | None) -> list[Verdict]:
        """Judge parts; ``images`` is None when the line runs without images."""


Renderer = Callable[[Sequence[Part]], list[np.ndarray]]


@dataclass(frozen=True)
class DayReview:
    """The managing stage's day: what was reviewed, what failed, where FSR stands.

    Attributes:
        reviewed: Parts a person reviewed (the unreliable ones, Eq. 5).
        failed: Of those, the ones that failed review (D_f ∪ D_g, Eq. 6–7).
        fsr: The failed-sample ratio at the day's end (Eq. 10).
    """

    reviewed: int
    failed: int
    fsr: float


class LineMaintainer(Protocol):
    """The managing stage on the line (``simulator.maintainer``); injected like the model.

    The line calls :meth:`attach` once, :meth:`observe` for every part the
    model answered, and :meth:`close_day` once the day's parts have all left.
    """

    def attach(self, env: Any, clock: Any, frames: Any) -> None:
        """Start on ``env`` (simpy), with the line's idle clock and its camera."""

    def observe(self, part: Part, answer: InspectionResult) -> None:
        """A part the model answered (keep it when it is unreliable)."""

    def close_day(self, day: int) -> DayReview:
        """Review the day's kept parts; close the time slot and decide an update when it ends."""


@dataclass
class Timings:
    """Wall seconds spent outside the event loop, by kind."""

    seconds: dict[str, float] = field(default_factory=lambda: {"image generation": 0.0,
                                                               "vision station": 0.0,
                                                               "model inference": 0.0})

    def add(self, kind: str, started: float) -> None:
        """Add the time since ``started`` (a perf_counter value) to ``kind``."""
        self.seconds[kind] += time.perf_counter() - started


class Chunk:
    """Parts made one after the other whose work is batched."""

    def __init__(self, render: Renderer | None, timings: Timings) -> None:
        self.parts: list[Part] = []
        self._render = render
        self._timings = timings
        self._images: list[np.ndarray] | None = None
        self._vision: list[Verdict] | None = None
        self._model: list[InspectionResult] | None = None
        self._model_version: str | None = None

    def images(self) -> list[np.ndarray] | None:
        """The chunk's frames (None when the line runs without images)."""
        if self._render is None:
            return None
        if self._images is None:
            started = time.perf_counter()
            self._images = self._render(self.parts)
            self._timings.add("image generation", started)
        return self._images

    def vision(self, inspector: VisionInspector, index: int) -> Verdict:
        """The vision station's verdict on part ``index``."""
        if self._vision is None:
            images = self.images()
            started = time.perf_counter()
            self._vision = inspector(self.parts, images)
            self._timings.add("vision station", started)
        return self._vision[index]

    def model(self, inspector: ModelInspector, index: int) -> InspectionResult:
        """The model's answer for part ``index``; recomputed if the model version changed."""
        if self._model is None or self._model_version != inspector.version:
            images = self.images()
            started = time.perf_counter()
            self._model = inspector(self.parts, images)
            self._model_version = inspector.version
            self._timings.add("model inference", started)
        return self._model[index]

    def release(self) -> None:
        """Drop the frames once every part has left the line."""
        self._images = None
