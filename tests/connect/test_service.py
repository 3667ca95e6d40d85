"""The edge service's per-part path: routing by goal, deadline and fail-safe, PLC, outbox, repeats."""

from __future__ import annotations

import threading
import time

import pytest

from inspkit.connect.plc import MemoryLink
from inspkit.connect.service import EdgeService, ServiceConfig
from inspkit.errors import ConnectError
from inspkit.recipe_line import FailSafe, RegisterMap
from inspkit.types import Goal, Verdict
from tests.connect.fakes import FakeModel, ListOutbox, Log, part, slot_for


def make(goal: Goal = Goal.REPLACEMENT, model: FakeModel | None = None, plc=None, **cfg):  # noqa: ANN001, ANN201
    log = Log()
    models = {"v1": model or FakeModel()}
    slot = slot_for(models, ["v1" if model is not False else None], log)
    if model is False:
        slot = slot_for({}, [None], log)
    slot.start()
    results = []
    plc = plc or MemoryLink(RegisterMap(), on_result=lambda *a: results.append(a))
    outbox = ListOutbox()
    config = ServiceConfig(goal, deadline_s=cfg.pop("deadline_s", 1.0), plc_budget_s=0.05, **cfg)
    service = EdgeService(config, slot, plc, outbox, log)
    return service, outbox, results, log, slot


def test_replacement_lets_the_model_decide_and_records_one_mes_row() -> None:
    service, outbox, plc, _, slot = make()
    reply = service.handle(part(7, good=False, vision=Verdict.OK))
    assert (reply.final, reply.by, reply.model, reply.version) == (Verdict.NG, "model", Verdict.NG, "v1")
    assert plc == [(7, Verdict.NG, 0)]
    [record] = outbox.records
    assert (record.serial, record.final_verdict, record.decided_by, record.p_ok) == (7, "NG", "model", 0.1)
    assert record.disposition == "ng-buffer" and record.vision_verdict == "OK"
    slot.stop()


def test_fp_reduction_asks_the_model_only_about_vision_ng() -> None:
    model = FakeModel()
    service, outbox, _, _, slot = make(Goal.FP_REDUCTION, model)
    passed = service.handle(part(1, good=False, vision=Verdict.OK))
    rechecked = service.handle(part(2, good=True, vision=Verdict.NG))
    assert (passed.final, passed.by, passed.model) == (Verdict.OK, "vision", None)
    assert (rechecked.final, rechecked.by) == (Verdict.OK, "model")
    assert model.calls == 1
    slot.stop()


@pytest.mark.parametrize("fail_safe, expected", [(FailSafe.NG, Verdict.NG), (FailSafe.VISION, Verdict.OK)])
def test_a_slow_model_gets_the_fail_safe_verdict_within_the_deadline(fail_safe: FailSafe, expected: Verdict) -> None:
    service, outbox, plc, log, slot = make(model=FakeModel(delay_s=1.0), fail_safe=fail_safe, deadline_s=0.3)
    started = time.monotonic()
    reply = service.handle(part(3, good=True, vision=Verdict.OK))
    assert time.monotonic() - started < 0.3 + 0.1
    assert (reply.final, reply.by, reply.status) == (expected, "fail-safe", "fail-safe")
    assert "deadline" in reply.reason
    assert plc == [(3, expected, 1)]  # the PLC's error register says fail-safe
    assert outbox.records[0].decided_by == "fail-safe"
    assert "fail-safe" in log.kinds()
    slot.stop()


def test_no_model_never_gives_an_uninspected_ok_under_replacement() -> None:
    service, outbox, _, _, slot = make(model=False, fail_safe=FailSafe.VISION)
    reply = service.handle(part(4, good=True, vision=None))
    assert (reply.final, reply.by) == (Verdict.NG, "fail-safe")
    assert "no model" in reply.reason
    slot.stop()


def test_a_failing_model_and_a_bad_image_get_the_fail_safe_verdict() -> None:
    service, _, _, _, slot = make(model=FakeModel(fail=True))
    assert service.handle(part(5)).by == "fail-safe"
    slot.stop()
    service, _, _, _, slot = make()
    bad = part(6)
    broken = type(bad)(bad.serial, bad.line, bad.station, bad.t, bad.vision, "png", bad.shape, b"\x89PNG garbage")
    reply = service.handle(broken)
    assert (reply.final, reply.by) == (Verdict.NG, "fail-safe") and "image" in reply.reason
    slot.stop()


def test_shadow_mode_records_the_model_but_the_vision_verdict_drives_the_plc() -> None:
    service, outbox, plc, _, slot = make(shadow=True)
    reply = service.handle(part(8, good=False, vision=Verdict.OK))
    assert (reply.final, reply.by, reply.status, reply.model) == (Verdict.OK, "vision", "shadow", Verdict.NG)
    assert plc == [(8, Verdict.OK, 0)]
    assert outbox.records[0].model_verdict == "NG" and outbox.records[0].final_verdict == "OK"
    slot.stop()


def test_a_resent_part_is_answered_once_with_the_same_result() -> None:
    model = FakeModel(delay_s=0.1)
    service, outbox, plc, _, slot = make(model=model)
    frame = part(9)
    replies = []
    threads = [threading.Thread(target=lambda: replies.append(service.handle(frame))) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len({(r.final, r.edge_ms) for r in replies}) == 1  # the very same answer
    assert model.calls == 1 and len(outbox.records) == 1 and len(plc) == 1
    assert service.stats().repeats == 2
    slot.stop()


class _DeadPlc:
    def write_result(self, sequence: int, verdict: Verdict, error: int = 0, deadline_s: float | None = None) -> bool:
        raise ConnectError("connection refused")

    def read(self, name: str) -> int:
        raise ConnectError("connection refused")


def test_a_failed_plc_write_is_recorded_as_a_fail_safe_ng() -> None:
    service, outbox, _, log, slot = make(plc=_DeadPlc())
    reply = service.handle(part(10, good=True))
    assert (reply.final, reply.by) == (Verdict.NG, "fail-safe") and "PLC" in reply.reason
    assert outbox.records[0].final_verdict == "NG"
    assert "plc" in log.kinds() and service.stats().plc_failures == 1
    slot.stop()
