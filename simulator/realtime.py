"""The line in real time: the simulated vision station sends its frames over TCP to a running edge.

This is the hardware-in-the-loop run of the connect path: a SimPy
``RealtimeEnvironment`` paces the parts at the line's cycle time; for each part
the station renders the frame, judges it with the legacy rules, sends the
shooting trigger and the image with its verdict through
:class:`inspkit.connect.client.EdgeClient`, and waits for the test result.
The edge writes the PLC and the MES; the caller counts them afterwards.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import numpy as np
import simpy
import simpy.rt

from inspkit.connect.client import EdgeClient
from inspkit.errors import ConnectError
from inspkit.types import Verdict


@dataclass(frozen=True)
class RealtimeRequest:
    """One real-time run.

    Attributes:
        edge: The edge service's (host, port).
        minutes: How long the line runs.
        cycle_s: Time between two parts.
        line_id, station_id: Who the parts come from.
        first_serial: The first part's serial (runs on one MES need distinct serials).
        day: The drift day whose appearance and defect rate the parts have.
        seed: Seed of the truth draws.
        key: Shared HMAC key, if the edge wants one.
        timeout_s: How long the station waits for a reply.
    """

    edge: tuple[str, int]
    minutes: float
    cycle_s: float
    line_id: str = "line-1"
    station_id: str = "vision-1"
    first_serial: int = 0
    day: float = 0.0
    seed: int = 0
    key: bytes | None = None
    timeout_s: float = 10.0


@dataclass
class RealtimeResult:
    """What the station saw.

    Attributes:
        sent: Parts sent. replies: Result replies received. errors: Error replies or no reply.
        by: Replies by who decided (model, vision, fail-safe).
        round_trip_ms: Station-side time from sending the image to the reply, per part.
        truth: (serial, truth label) of every part sent.
        late: Parts whose reply came after the next part was due.
    """

    sent: int = 0
    replies: int = 0
    errors: int = 0
    late: int = 0
    by: dict[str, int] = field(default_factory=dict)
    round_trip_ms: list[float] = field(default_factory=list)
    truth: list[tuple[int, str]] = field(default_factory=list)


class FrameSource:
    """What the station needs of the simulator: a frame and its truth, and the legacy verdict."""

    def __init__(self, frame: Callable[[int, float, str | None], object], vision: Callable[[np.ndarray], Verdict],
                 defect_rate: float, defect_types: tuple[str, ...]) -> None:
        self.frame, self.vision = frame, vision
        self.defect_rate, self.defect_types = defect_rate, defect_types


def run_realtime(req: RealtimeRequest, source: FrameSource,
                 on_part: Callable[[int, RealtimeResult], None] | None = None) -> RealtimeResult:
    """Run the vision station against the edge for ``req.minutes`` of wall time."""
    env = simpy.rt.RealtimeEnvironment(factor=1.0, strict=False)  # strict=False: a slow part delays, not aborts
    result = RealtimeResult()
    rng = np.random.default_rng(req.seed)
    with EdgeClient(*req.edge, key=req.key, timeout_s=req.timeout_s) as client:
        env.process(_station(env, req, source, client, rng, result, on_part))
        env.run(until=req.minutes * 60)
    return result


def _station(env: simpy.Environment, req: RealtimeRequest, source: FrameSource, client: EdgeClient,
             rng: np.random.Generator, result: RealtimeResult,
             on_part: Callable[[int, RealtimeResult], None] | None) -> Iterator[simpy.Event]:
    serial = req.first_serial
    while True:
        due = time.monotonic() + req.cycle_s
        defect = None
        if source.defect_types and rng.random() < source.defect_rate:
            defect = source.defect_types[int(rng.integers(len(source.defect_types)))]
        frame = source.frame(serial, req.day, defect)
        _send(client, req, serial, frame, source.vision(frame.image), result)
        result.late += time.monotonic() > due
        if on_part is not None:
            on_part(serial, result)
        serial += 1
        yield env.timeout(req.cycle_s)


def _send(client: EdgeClient, req: RealtimeRequest, serial: int, frame: object, vision: Verdict,
          result: RealtimeResult) -> None:
    result.sent += 1
    result.truth.append((serial, frame.label))
    started = time.perf_counter()
    try:
        client.trigger(serial, req.line_id, req.station_id)
        reply = client.inspect(serial, frame.image, vision, req.line_id, req.station_id)
    except (ConnectError, TimeoutError, OSError):
        result.errors += 1
        return
    result.round_trip_ms.append((time.perf_counter() - started) * 1000)
    result.replies += 1
    result.by[reply.by] = result.by.get(reply.by, 0) + 1
