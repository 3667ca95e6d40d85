"""The in-memory PLC link: the result handshake over the recipe's register map."""

from __future__ import annotations

import pytest

from inspkit.connect.plc import SEQUENCE_MODULO, MemoryLink, sequence_of
from inspkit.recipe_line import RegisterMap
from inspkit.types import Verdict

OK, NG = Verdict.OK, Verdict.NG


class Scan:
    """A PLC scan that records every result it sees, with the registers as they were then."""

    def __init__(self) -> None:
        self.calls: list[tuple[int, Verdict, int]] = []
        self.link: MemoryLink | None = None
        self.ready_seen: list[int] = []

    def __call__(self, sequence: int, verdict: Verdict, error: int) -> None:
        self.calls.append((sequence, verdict, error))
        if self.link is not None:
            self.ready_seen.append(self.link.read("result_ready"))


def _link(regmap: RegisterMap | None = None) -> tuple[MemoryLink, Scan]:
    scan = Scan()
    link = MemoryLink(regmap or RegisterMap(), scan)
    scan.link = link
    return link, scan


@pytest.mark.parametrize(("verdict", "code"), [(OK, 1), (NG, 0)])
def test_write_sets_registers_calls_scan_once_and_plc_acks(verdict: Verdict, code: int) -> None:
    link, scan = _link()
    link.write_result(17, verdict, error=3)
    assert link.read("verdict") == code
    assert link.read("sequence") == 17
    assert link.read("error") == 3
    assert link.read("ack") == 17
    assert link.read("result_ready") == 0  # lowered again after the PLC took it
    assert scan.calls == [(17, verdict, 3)]
    assert scan.ready_seen == [1]  # result_ready was up while the PLC scanned


def test_nothing_acknowledged_before_the_first_write() -> None:
    link, scan = _link()
    assert link.read("ack") != 0  # sequence 0 must still count as new
    link.write_result(0, OK)
    assert scan.calls == [(0, OK, 0)]
    assert link.read("ack") == 0


def test_retried_write_is_idempotent() -> None:
    link, scan = _link()
    assert link.write_result(5, NG)
    assert not link.write_result(5, NG)
    assert not link.write_result(5, NG)
    assert scan.calls == [(5, NG, 0)]
    assert link.read("ack") == 5
    assert link.read("verdict") == 0


def test_new_sequence_is_a_new_result() -> None:
    link, scan = _link()
    link.write_result(5, NG)
    link.write_result(6, NG)
    link.write_result(7, OK)
    assert scan.calls == [(5, NG, 0), (6, NG, 0), (7, OK, 0)]
    assert link.read("ack") == 7
    assert link.read("verdict") == 1


@pytest.mark.parametrize(("first", "retry", "code"), [(OK, NG, 1), (NG, OK, 0)])
def test_a_retry_with_another_verdict_cannot_flip_an_acknowledged_result(
        first: Verdict, retry: Verdict, code: int) -> None:
    link, scan = _link()
    assert link.write_result(9, first, error=2) is True
    assert link.write_result(9, retry) is False
    assert link.write_result(9, retry, error=5, deadline_s=0.0) is False
    assert scan.calls == [(9, first, 2)]
    assert (link.read("verdict"), link.read("error"), link.read("ack")) == (code, 2, 9)


def test_write_result_reports_whether_it_wrote() -> None:
    link, _ = _link()
    assert link.write_result(1, OK) is True
    assert link.write_result(1, OK) is False
    assert link.write_result(2, OK) is True
    assert link.write_result(1, NG) is True  # no longer the acknowledged sequence: a new result
    assert link.writes == 4


def test_works_without_a_scan_callback() -> None:
    link = MemoryLink(RegisterMap())
    link.write_result(3, OK)
    assert link.read("ack") == 3 and link.read("verdict") == 1


def test_read_by_name_follows_the_map() -> None:
    link, _ = _link()
    link.registers[RegisterMap().ready] = 1
    link.registers[RegisterMap().trigger] = 1
    assert link.read("ready") == 1 and link.read("trigger") == 1
    with pytest.raises(AttributeError):
        link.read("no_such_register")


@pytest.mark.parametrize(("serial", "sequence"), [
    (0, 0), (1, 1), (65535, 65535), (65536, 0), (65537, 1), (3 * 65536 + 42, 42),
])
def test_sequence_of_wraps_at_16_bits(serial: int, sequence: int) -> None:
    assert SEQUENCE_MODULO == 65536
    assert sequence_of(serial) == sequence


def test_custom_register_map_is_honoured() -> None:
    regmap = RegisterMap(trigger=110, ready=111, result_ready=120, ack=100, verdict=200, error=150, sequence=42)
    link, scan = _link(regmap)
    link.write_result(1234, OK, error=7)
    regs = link.registers
    assert (regs[200], regs[150], regs[42], regs[100], regs[120]) == (1, 7, 1234, 1234, 0)
    assert link.read("verdict") == 1 and link.read("sequence") == 1234 and link.read("ack") == 1234
    # the default addresses 0..6 are untouched
    assert regs[:7] == [0] * 7
    assert scan.calls == [(1234, OK, 7)]
    link.write_result(1234, OK, error=7)
    assert len(scan.calls) == 1
