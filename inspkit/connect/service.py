"""The edge service's data path for one part (paper 3.2.1, Fig. 7).

decode → model (ROI crop and forward, within the deadline) → goal routing →
PLC write → MES outbox → sample kept for review → reply. The simulator's line
routes parts with the same :func:`~inspkit.connect.routing.route`.

Every part gets exactly one final verdict within the deadline. When the model
cannot answer in time (slow, not loaded, failing) the part gets the fail-safe
verdict — the vision verdict or NG, never an uninspected OK — and the event is
logged. A part sent twice (a vision PC that reconnected) is answered once: the
second request waits for, and gets, the first one's result.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Protocol

from inspkit.connect.keeper import Kept, SampleKeeper
from inspkit.connect.mes import MesRecord
from inspkit.connect.model_slot import Answer, ModelSlot
from inspkit.connect.plc import PlcLink, sequence_of
from inspkit.connect.protocol import PartFrame, ProtocolError, ResultFrame, decode_image
from inspkit.connect.routing import needs_model, route
from inspkit.data.collect import utc_iso
from inspkit.errors import ConnectError
from inspkit.recipe_line import FailSafe
from inspkit.types import Goal, Verdict

#: Values of the PLC's ``error`` register.
PLC_OK, PLC_FAIL_SAFE = 0, 1
MAX_REASON_CHARS = 256  # the protocol's limit on a RESULT's reason
_RECENT = 4096  # answered parts remembered, so a resent part gets the same answer


@dataclass(frozen=True)
class ServiceConfig:
    """How the edge decides.

    Attributes:
        goal: Why the model is on the line.
        shadow: Validation period: model verdicts are recorded, vision verdicts drive the PLC.
        fail_safe: The verdict when the model cannot answer in time.
        deadline_s: From a frame's arrival to its verdict at the PLC.
        plc_budget_s: The part of the deadline kept for the PLC write.
        keep_samples: Keep the parts the model inspected for review.
    """

    goal: Goal
    shadow: bool = False
    fail_safe: FailSafe = FailSafe.NG
    deadline_s: float = 2.0
    plc_budget_s: float = 0.1
    keep_samples: bool = True


@dataclass(frozen=True)
class Stats:
    """Counts since the service started."""

    parts: int
    by_model: int
    by_vision: int
    fail_safe: int
    plc_failures: int
    repeats: int
    model_version: str | None


class Outbox(Protocol):
    """What the service needs of the MES outbox (:class:`inspkit.connect.outbox.Outbox`)."""

    def put(self, record: MesRecord) -> int:
        """Store one record durably; returns its sequence number."""


class EdgeService:
    """Answers parts; thread-safe (one thread per vision connection may call :meth:`handle`).

    Args:
        config: Goal, shadow mode, fail-safe and deadline.
        model: The serving model.
        plc: The PLC link.
        outbox: The MES outbox (durable); ``notify`` wakes its forwarder.
        log: ``log(kind, message, serial=None)`` for events.
        keeper: Stores inspected parts for review (``None``: keep nothing).
        notify: Called after each outbox put (wakes the forwarder).
    """

    def __init__(self, config: ServiceConfig, model: ModelSlot, plc: PlcLink, outbox: Outbox,
                 log: Callable[..., None], keeper: SampleKeeper | None = None,
                 notify: Callable[[], None] | None = None) -> None:
        self.config, self.model, self.plc, self.outbox = config, model, plc, outbox
        self.log, self.keeper, self.notify = log, keeper, notify
        self._lock = threading.Lock()
        self._recent: OrderedDict[tuple[str, str, int], Future[ResultFrame]] = OrderedDict()
        self._counts = dict.fromkeys(("parts", "model", "vision", "fail-safe", "plc", "repeats"), 0)
        self.latencies_ms: deque[float] = deque(maxlen=100_000)  # frame received → PLC written, outbox committed

    def handle(self, frame: PartFrame, received_s: float | None = None) -> ResultFrame:
        """The final verdict for one part (``received_s``: ``time.monotonic()`` of the frame's arrival)."""
        received_s = time.monotonic() if received_s is None else received_s
        key = (frame.line, frame.station, frame.serial)
        future, first = self._claim(key)
        if not first:
            with self._lock:
                self._counts["repeats"] += 1
            # The first request answers within its deadline; the grace covers a slow PLC or outbox.
            return future.result(timeout=received_s + self.config.deadline_s + 5 - time.monotonic())
        try:
            result = self._decide(frame, received_s)
        except BaseException as exc:
            with self._lock:
                self._recent.pop(key, None)
            future.set_exception(exc)
            raise
        future.set_result(result)
        return result

    def stats(self) -> Stats:
        """A snapshot of the counters."""
        with self._lock:
            c = dict(self._counts)
        return Stats(c["parts"], c["model"], c["vision"], c["fail-safe"], c["plc"], c["repeats"], self.model.version)

    def _claim(self, key: tuple[str, str, int]) -> tuple[Future[ResultFrame], bool]:
        with self._lock:
            known = self._recent.get(key)
            if known is not None:
                return known, False
            future: Future[ResultFrame] = Future()
            self._recent[key] = future
            if len(self._recent) > _RECENT:
                self._recent.popitem(last=False)
            return future, True

    def _decide(self, frame: PartFrame, received_s: float) -> ResultFrame:
        cfg = self.config
        deadline_s = received_s + cfg.deadline_s
        answer = self._ask_model(frame, deadline_s - cfg.plc_budget_s)
        verdict, by, status, reason = self._route(frame.vision, answer)
        written, plc_reason = self._write_plc(frame.serial, verdict, by, deadline_s)
        if not written:
            verdict, by, status, reason = Verdict.NG, "fail-safe", "fail-safe", plc_reason
        decided = time.time()
        model_verdict = None if answer is None or answer.result is None else answer.result.verdict
        p_ok = None if model_verdict is None else answer.result.p_ok
        version = None if answer is None else answer.version
        self.outbox.put(MesRecord(
            frame.line, frame.station, frame.serial, frame.t, decided, _text(frame.vision), _text(model_verdict),
            p_ok, verdict.value, by, "next" if verdict is Verdict.OK else "ng-buffer", version))
        if self.notify is not None:
            self.notify()
        if model_verdict is not None:
            self._keep(frame, version, p_ok, model_verdict)
        edge_ms = (time.monotonic() - received_s) * 1000
        self._count(by, written)
        self.latencies_ms.append(edge_ms)
        if by == "fail-safe":
            self.log("fail-safe", f"part {frame.serial}: {verdict.value} by fail-safe ({reason})", frame.serial)
        return ResultFrame(frame.serial, frame.line, frame.station, model_verdict, p_ok, verdict, by, version,
                           status, None if reason is None else reason[:MAX_REASON_CHARS], edge_ms)

    def _ask_model(self, frame: PartFrame, model_deadline_s: float) -> Answer | None:
        """The model's answer; ``None`` when the goal does not ask the model about this part."""
        cfg = self.config
        if frame.vision is None and (cfg.shadow or cfg.goal is not Goal.REPLACEMENT):
            mode = "shadow mode" if cfg.shadow else f"goal {cfg.goal.value}"
            return Answer(None, self.model.version, f"{mode} needs the vision verdict")
        if not needs_model(cfg.goal, frame.vision):
            return None
        try:
            image = decode_image(frame)
        except ProtocolError as exc:
            return Answer(None, self.model.version, f"bad image: {exc}")
        return self.model.predict(image, model_deadline_s)

    def _route(self, vision: Verdict | None, answer: Answer | None) -> tuple[Verdict, str, str, str | None]:
        cfg = self.config
        model = None if answer is None or answer.result is None else answer.result.verdict
        reason = None if answer is None else answer.reason
        if cfg.shadow and vision is not None:
            return route(cfg.goal, vision, model, shadow=True).verdict, "vision", "shadow", reason
        if answer is None or model is not None:
            decision = route(cfg.goal, vision, model)
            return decision.verdict, "model" if decision.by_model else "vision", "ok", None
        safe = vision if cfg.fail_safe is FailSafe.VISION and vision is not None else Verdict.NG
        return safe, "fail-safe", "fail-safe", reason

    def _write_plc(self, serial: int, verdict: Verdict, by: str, deadline_s: float) -> tuple[bool, str | None]:
        error = PLC_FAIL_SAFE if by == "fail-safe" else PLC_OK
        try:
            self.plc.write_result(sequence_of(serial), verdict, error, deadline_s=deadline_s)
        except ConnectError as exc:
            self.log("plc", f"part {serial}: the PLC write failed ({exc})", serial)
            return False, f"PLC write failed: {exc}"
        return True, None

    def _keep(self, frame: PartFrame, version: str | None, p_ok: float | None, verdict: Verdict) -> None:
        if self.keeper is None or not self.config.keep_samples or version is None or p_ok is None:
            return
        self.keeper.put(Kept(frame.line, frame.station, frame.serial, utc_iso(frame.t), frame.encoding, frame.image,
                             frame.shape, version, float(p_ok), verdict.value))

    def _count(self, by: str, written: bool) -> None:
        with self._lock:
            self._counts["parts"] += 1
            self._counts[by] += 1
            self._counts["plc"] += not written


def _text(verdict: Verdict | None) -> str | None:
    return None if verdict is None else verdict.value
