"""The serving model: picked up when promoted, kept when a new version fails to load."""

from __future__ import annotations

import time

import numpy as np

from tests.connect.fakes import FakeModel, Log, slot_for

IMAGE = np.full((8, 8, 3), 200, np.uint8)


def wait_for(condition, timeout_s: float = 3.0) -> bool:  # noqa: ANN001
    ends = time.monotonic() + timeout_s
    while time.monotonic() < ends:
        if condition():
            return True
        time.sleep(0.01)
    return False


def test_a_promoted_version_replaces_the_serving_one() -> None:
    production = ["v1"]
    log = Log()
    slot = slot_for({"v1": FakeModel("v1"), "v2": FakeModel("v2")}, production, log)
    slot.start()
    assert slot.predict(IMAGE, time.monotonic() + 1).version == "v1"
    production[0] = "v2"
    assert wait_for(lambda: slot.version == "v2")
    assert slot.predict(IMAGE, time.monotonic() + 1).version == "v2"
    assert any("now serving v2" in m for _, m in log.events)
    slot.stop()


def test_a_version_that_fails_to_load_leaves_the_old_one_serving() -> None:
    production = ["v1"]
    log = Log()
    slot = slot_for({"v1": FakeModel("v1"), "v2": FakeModel("v2", delay_s=-1, fail=True)}, production, log)
    slot.start()
    production[0] = "v2"
    assert wait_for(lambda: any("v2 failed to load" in m for _, m in log.events))
    answer = slot.predict(IMAGE, time.monotonic() + 1)
    assert answer.version == "v1" and answer.result is not None
    assert sum("v2 failed" in m for _, m in log.events) == 1  # reported once, not at every poll
    slot.stop()


def test_parts_beyond_the_waiting_limit_get_no_answer_at_once() -> None:
    log = Log()
    slot = slot_for({"v1": FakeModel("v1", delay_s=0.5)}, ["v1"], log)
    slot.max_waiting = 1
    slot.start()
    import threading

    first = threading.Thread(target=slot.predict, args=(IMAGE, time.monotonic() + 2))
    first.start()
    time.sleep(0.05)
    started = time.monotonic()
    answer = slot.predict(IMAGE, time.monotonic() + 2)
    assert answer.result is None and "busy" in answer.reason and time.monotonic() - started < 0.1
    first.join()
    slot.stop()
