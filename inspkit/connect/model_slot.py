"""The production model at the edge: answered within a deadline, swapped when a new version is promoted.

One worker thread runs the model, so parts are inspected one at a time and
each by exactly one version. A watcher thread polls the model store; a newly
promoted version is loaded beside the serving one and replaces it between two
parts. A version that fails to load is reported and the old one keeps serving.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from inspkit.models.types import InspectionResult


class Predictor(Protocol):
    """What the slot needs of a loaded model (an :class:`~inspkit.models.inferencer.Inferencer`)."""

    @property
    def version(self) -> str:
        """The version id."""

    def predict(self, image: np.ndarray) -> InspectionResult:
        """Inspect one raw frame."""


@dataclass(frozen=True)
class Answer:
    """The model's answer for one part, or why there is none.

    Attributes:
        result: The prediction; ``None`` when the model did not answer in time.
        version: The version that answered (or was serving).
        reason: Why there is no result (``None`` when there is one).
    """

    result: InspectionResult | None
    version: str | None
    reason: str | None = None


class ModelSlot:
    """Holds the serving model and runs it against a deadline.

    Args:
        production: Returns the version the store marks as production (``None``: none).
        load: Loads a version.
        log: ``log(kind, message)`` for events.
        poll_s: How often the watcher looks for a newly promoted version.
        max_waiting: Parts that may wait for the model at once; more get no answer at once.
    """

    def __init__(self, production: Callable[[], str | None], load: Callable[[str], Predictor],
                 log: Callable[[str, str], None], poll_s: float = 0.5, max_waiting: int = 2) -> None:
        self._production, self._load, self._log = production, load, log
        self.poll_s, self.max_waiting = poll_s, max_waiting
        self._model: Predictor | None = None
        self._failed: set[str] = set()
        self._waiting = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._worker = ThreadPoolExecutor(1, thread_name_prefix="inspkit-model")
        self._watcher: threading.Thread | None = None
        self.swaps = 0

    @property
    def version(self) -> str | None:
        """The version serving now."""
        model = self._model
        return None if model is None else model.version

    def start(self) -> None:
        """Load the production version (if any) and start watching for promotions."""
        self.check()
        self._watcher = threading.Thread(target=self._watch, name="inspkit-model-watch", daemon=True)
        self._watcher.start()

    def stop(self) -> None:
        """Stop watching and let the worker finish its part."""
        self._stop.set()
        if self._watcher is not None:
            self._watcher.join(timeout=5)
        self._worker.shutdown(wait=False, cancel_futures=True)

    def check(self) -> None:
        """Load and swap in the production version if it is new and loadable."""
        try:
            wanted = self._production()
        except Exception as exc:  # noqa: BLE001 - a damaged registry must not stop the line
            self._log("model", f"cannot read the model store: {exc}")
            return
        if wanted is None or wanted == self.version or wanted in self._failed:
            return
        try:
            model = self._load(wanted)
        except Exception as exc:  # noqa: BLE001 - any load failure leaves the old version serving
            self._failed.add(wanted)
            keeps = f"{self.version} keeps serving" if self._model is not None else "no model is serving"
            self._log("model", f"version {wanted} failed to load ({exc}); {keeps}")
            return
        old, self._model = self.version, model  # one reference swap: a part sees the old or the new
        self.swaps += old is not None
        self._log("model", f"now serving {wanted}" + (f" (was {old})" if old else ""))

    def predict(self, image: np.ndarray, deadline_s: float) -> Answer:
        """The serving model's answer for one frame, by ``deadline_s`` (``time.monotonic()``)."""
        model = self._model
        if model is None:
            return Answer(None, None, "no model is serving")
        with self._lock:
            if self._waiting >= self.max_waiting:
                return Answer(None, model.version, "the model is busy with earlier parts")
            self._waiting += 1
        future: Future[InspectionResult] = self._worker.submit(model.predict, image)
        future.add_done_callback(self._done)
        try:
            return Answer(future.result(timeout=max(0.0, deadline_s - time.monotonic())), model.version)
        except FutureTimeout:
            future.cancel()
            return Answer(None, model.version, "the model did not answer within the deadline")
        except Exception as exc:  # noqa: BLE001 - a failing model gives a fail-safe verdict, not a crash
            return Answer(None, model.version, f"the model failed: {type(exc).__name__}: {exc}")

    def _done(self, _future: Future[InspectionResult]) -> None:
        with self._lock:
            self._waiting -= 1

    def _watch(self) -> None:
        while not self._stop.wait(self.poll_s):
            self.check()
