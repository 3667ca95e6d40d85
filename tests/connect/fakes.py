"""In-memory stand-ins for the edge service's peers and model (no torch, no sockets)."""

from __future__ import annotations

import threading
import time

import numpy as np

from inspkit.connect.mes import MesRecord
from inspkit.connect.model_slot import ModelSlot
from inspkit.connect.protocol import PartFrame, encode_image
from inspkit.models.types import InspectionResult
from inspkit.types import Verdict


class FakeModel:
    """Says OK when the frame's mean is above 100, after ``delay_s``; counts its calls."""

    def __init__(self, version: str = "v1", delay_s: float = 0.0, fail: bool = False) -> None:
        self.version, self.delay_s, self.fail = version, delay_s, fail
        self.calls = 0
        self.lock = threading.Lock()

    def predict(self, image: np.ndarray) -> InspectionResult:
        with self.lock:
            self.calls += 1
        time.sleep(self.delay_s)
        if self.fail:
            raise RuntimeError("weights are garbage")
        p = 0.9 if float(image.mean()) > 100 else 0.1
        verdict = Verdict.OK if p >= 0.5 else Verdict.NG
        return InspectionResult(p, verdict, verdict.value, max(p, 1 - p))


class ListOutbox:
    """Keeps put records in a list."""

    def __init__(self) -> None:
        self.records: list[MesRecord] = []
        self.lock = threading.Lock()

    def put(self, record: MesRecord) -> int:
        with self.lock:
            self.records.append(record)
            return len(self.records)


class Log:
    """Collects events."""

    def __init__(self) -> None:
        self.events: list[tuple[str, str]] = []

    def __call__(self, kind: str, message: str, serial: int | None = None) -> None:
        self.events.append((kind, message))

    def kinds(self) -> list[str]:
        return [k for k, _ in self.events]


def slot_for(models: dict[str, FakeModel], production: list[str | None], log: Log, poll_s: float = 0.05) -> ModelSlot:
    """A model slot over fake versions; ``production[0]`` is the promoted version (mutable)."""

    def load(version: str) -> FakeModel:
        model = models[version]
        if model.fail and model.delay_s < 0:  # a version that cannot be loaded at all
            raise OSError("damaged weights file")
        return model

    return ModelSlot(lambda: production[0], load, log, poll_s=poll_s)


def part(serial: int, good: bool = True, vision: Verdict | None = Verdict.OK, line: str = "L1",
         station: str = "S1") -> PartFrame:
    """A 16x16 frame: bright when good."""
    image = np.full((16, 16, 3), 200 if good else 20, np.uint8)
    data, shape = encode_image(image, "png")
    return PartFrame(serial, line, station, time.time(), vision, "png", shape, data)
