"""ModbusLink against the simulated PLC on loopback: the handshake, no flips, and bounded failures.

Timing asserts here are behaviour bounds (a call never blocks past its
deadline, a dead PLC fails fast), with slack for a loaded 2-core machine.
"""

from __future__ import annotations

import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from inspkit.connect.plc import PlcError
from inspkit.errors import ConnectError
from inspkit.recipe_line import RegisterMap
from inspkit.types import Verdict

ROOT = Path(__file__).resolve().parents[2]
OK, NG = Verdict.OK, Verdict.NG
SLACK_S = 0.3  # what a call may overrun its deadline by, on a busy machine
BACKOFF_MAX_S = 0.3

pytest.importorskip("pymodbus")
from inspkit.connect.modbus import ModbusLink, parse_modbus_url
from simulator.plc import PlcServer, start_plc
from simulator.tcp_proxy import TcpProxy


@pytest.fixture
def plc() -> Iterator[PlcServer]:
    with start_plc(scan_ms=2.0) as server:
        yield server


def _link(port: int, **options: float) -> ModbusLink:
    return ModbusLink("127.0.0.1", port, RegisterMap(), timeout_s=0.2, backoff_max_s=BACKOFF_MAX_S, **options)


@pytest.fixture
def link(plc: PlcServer) -> Iterator[ModbusLink]:
    with _link(plc.port) as made:
        yield made


def _write_until_it_works(link: ModbusLink, sequence: int, within_s: float) -> float:
    """Retry like the edge would; return how long the link took to come back."""
    start = time.monotonic()
    while True:
        try:
            assert link.write_result(sequence, OK, deadline_s=time.monotonic() + 0.5)
            return time.monotonic() - start
        except PlcError:
            assert time.monotonic() - start < within_s, "the link did not come back"
            time.sleep(0.01)


def test_a_result_reaches_the_plc_scan(plc: PlcServer, link: ModbusLink) -> None:
    assert link.write_result(17, NG, error=3) is True
    (result,) = plc.wait_results(1)
    assert (result.sequence, result.verdict, result.error, result.code) == (17, NG, 3, 0)
    assert link.read("ack") == 17 and link.read("result_ready") == 0
    assert link.write_result(18, OK, deadline_s=time.monotonic() + 1.0) is True
    assert [(r.sequence, r.verdict) for r in plc.wait_results(2)] == [(17, NG), (18, OK)]
    assert (link.writes, link.failures, link.reconnects) == (2, 0, 0)
    assert link.connected


def test_sequence_zero_is_new_on_a_fresh_plc(plc: PlcServer, link: ModbusLink) -> None:
    assert link.read("ack") == 65535  # the simulated PLC starts with nothing acknowledged
    assert link.write_result(0, OK) is True
    assert plc.wait_results(1)[0].sequence == 0


def test_a_retry_with_the_other_verdict_cannot_flip_an_acknowledged_result(
        plc: PlcServer, link: ModbusLink) -> None:
    assert link.write_result(5, OK) is True
    plc.wait_results(1)
    assert link.write_result(5, NG) is False
    assert link.write_result(5, OK) is False
    time.sleep(0.02)  # several scans
    assert [(r.sequence, r.verdict) for r in plc.results] == [(5, OK)]
    assert plc.read("verdict") == 1 and link.writes == 1


def test_a_result_waiting_for_the_scan_is_neither_flipped_nor_overwritten(
        plc: PlcServer, link: ModbusLink) -> None:
    plc.set_scanning(False)  # the PLC program is in STOP: result_ready stays up
    assert link.write_result(1, OK) is True
    assert link.write_result(1, NG) is False  # same sequence, still waiting: not flipped
    start = time.monotonic()
    with pytest.raises(PlcError, match="has not taken result 1"):
        link.write_result(2, NG, deadline_s=start + 0.1)  # would overwrite part 1's result
    assert time.monotonic() - start < 0.1 + SLACK_S
    plc.set_scanning(True)
    assert [(r.sequence, r.verdict) for r in plc.wait_results(1)] == [(1, OK)]
    assert link.write_result(2, NG) is True  # a refusal is not a broken link: no backoff
    assert [r.sequence for r in plc.wait_results(2)] == [1, 2]


def test_a_hung_plc_costs_a_write_its_deadline_and_no_more(plc: PlcServer, link: ModbusLink) -> None:
    link.connect()
    plc.hang(3.0)  # accepts TCP, answers nothing
    start = time.monotonic()
    with pytest.raises(PlcError, match="no answer before the deadline"):
        link.write_result(7, NG, deadline_s=start + 0.1)
    assert time.monotonic() - start < 0.1 + SLACK_S
    assert not link.connected
    start = time.monotonic()
    with pytest.raises(PlcError):
        link.write_result(7, NG)  # within the backoff: at once; or, after it, bounded by 4 timeouts
    assert time.monotonic() - start < 4 * link.timeout_s + SLACK_S
    plc.hang(0)
    assert _write_until_it_works(link, 8, within_s=2.0) < BACKOFF_MAX_S + 1.0
    assert [r.sequence for r in plc.wait_results(1)] == [8]
    assert link.reconnects >= 1


def test_a_read_without_deadline_is_bounded_by_the_timeout(plc: PlcServer, link: ModbusLink) -> None:
    link.connect()
    plc.hang(3.0)
    start = time.monotonic()
    with pytest.raises(PlcError):
        link.read("ack")
    assert time.monotonic() - start < 4 * link.timeout_s + SLACK_S


def test_a_stopped_plc_fails_fast_with_bounded_backoff_and_a_restarted_one_is_used_again(
        plc: PlcServer, link: ModbusLink) -> None:
    assert link.write_result(1, OK)
    port = plc.port
    plc.stop()
    start = time.monotonic()
    with pytest.raises(PlcError):
        link.write_result(2, OK, deadline_s=start + 1.0)
    assert time.monotonic() - start < 0.5
    start = time.monotonic()
    with pytest.raises(PlcError, match="reconnects"):
        link.write_result(2, OK, deadline_s=start + 1.0)  # inside the backoff window
    assert time.monotonic() - start < 0.05
    longest_s, until = 0.0, time.monotonic() + 1.5  # keep trying, as the edge would, for a while
    while time.monotonic() < until:
        start = time.monotonic()
        with pytest.raises(PlcError):
            link.write_result(2, OK, deadline_s=start + 1.0)
        longest_s = max(longest_s, time.monotonic() - start)
        time.sleep(0.005)
    assert longest_s < 0.5  # refused connects, never a wait for the deadline
    with start_plc(port=port) as again:  # the PLC comes back on the same port
        assert _write_until_it_works(link, 2, within_s=3.0) < BACKOFF_MAX_S + 0.5
        assert [r.sequence for r in again.wait_results(1)] == [2]
    assert link.reconnects == 1 and link.failures >= 3


def test_a_cut_link_fails_then_recovers_through_the_same_path(plc: PlcServer) -> None:
    with TcpProxy(("127.0.0.1", plc.port)) as proxy, _link(proxy.port) as link:
        assert link.write_result(1, OK)
        proxy.cut()
        start = time.monotonic()
        with pytest.raises(PlcError):
            link.write_result(2, NG, deadline_s=start + 1.0)
        assert time.monotonic() - start < 0.5
        proxy.restore()
        _write_until_it_works(link, 3, within_s=3.0)
    assert [r.sequence for r in plc.wait_results(2)] == [1, 3]


def test_a_wrong_unit_is_refused_with_a_clear_error(plc: PlcServer) -> None:
    with _link(plc.port, unit=7) as link, pytest.raises(PlcError, match="refused.*unit id"):
        link.write_result(1, OK)


def test_a_passed_deadline_fails_without_touching_the_plc(plc: PlcServer, link: ModbusLink) -> None:
    with pytest.raises(PlcError, match="deadline"):
        link.write_result(1, OK, deadline_s=time.monotonic() - 0.01)
    assert plc.read("result_ready") == 0 and link.failures == 1


def test_values_that_do_not_fit_a_register_are_rejected(link: ModbusLink) -> None:
    with pytest.raises(ValueError, match="16-bit"):
        link.write_result(65536, OK)
    with pytest.raises(ValueError, match="16-bit"):
        link.write_result(1, OK, error=-1)
    with pytest.raises(AttributeError):
        link.read("no_such_register")


def test_set_ready_writes_the_ready_register(plc: PlcServer, link: ModbusLink) -> None:
    link.set_ready(False)
    assert plc.read("ready") == 0
    link.set_ready(True)
    assert link.read("ready") == 1


def test_close_ends_the_worker_thread_and_refuses_calls(plc: PlcServer) -> None:
    link = _link(plc.port)
    link.write_result(1, OK)
    link.close()
    assert not any(t.name.startswith("inspkit-modbus") for t in threading.enumerate())
    with pytest.raises(PlcError, match="closed"):
        link.write_result(2, OK)
    link.close()  # twice is fine


@pytest.mark.parametrize(("url", "expected"), [
    ("modbus://10.0.0.5:5020?unit=3", ("10.0.0.5", 5020, 3)),
    ("modbus://plc.local", ("plc.local", 502, 1)),
    ("modbus://127.0.0.1:502/", ("127.0.0.1", 502, 1)),
])
def test_url_is_parsed(url: str, expected: tuple[str, int, int]) -> None:
    assert parse_modbus_url(url) == expected


@pytest.mark.parametrize("url", [
    "http://10.0.0.5:502", "10.0.0.5:502", "modbus://:502", "modbus://plc:port", "modbus://plc:70000",
    "modbus://plc:502?unit=x", "modbus://plc:502?unit=300", "modbus://plc:502?slave=1",
    "modbus://plc:502/holding", "",
])
def test_a_bad_url_is_one_clear_line(url: str) -> None:
    with pytest.raises(ConnectError) as caught:
        ModbusLink.from_url(url, RegisterMap())
    message = str(caught.value)
    assert "\n" not in message and "modbus://HOST" in message and repr(url) in message


def test_from_url_builds_a_link_without_connecting() -> None:
    link = ModbusLink.from_url("modbus://127.0.0.1:1?unit=9", RegisterMap(), timeout_s=0.1)
    assert (link.host, link.port, link.unit, link.timeout_s) == ("127.0.0.1", 1, 9, 0.1)
    assert not link.connected
    link.close()


def test_importing_the_module_does_not_import_pymodbus() -> None:
    code = "import sys, inspkit.connect.modbus; print('pymodbus' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                         timeout=60, check=True).stdout
    assert out.strip() == "False"


def test_only_the_modbus_link_and_the_simulated_plc_import_pymodbus() -> None:
    pattern = re.compile(r"^\s*(import|from)\s+pymodbus\b", re.MULTILINE)
    importers = {str(path.relative_to(ROOT)) for package in ("inspkit", "simulator")
                 for path in (ROOT / package).rglob("*.py") if pattern.search(path.read_text())}
    assert importers == {"inspkit/connect/modbus.py", "simulator/plc.py"}
