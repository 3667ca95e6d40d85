"""The simulated PLC: its scan takes results, it starts and stops cleanly, and its CLI runs."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from inspkit.recipe_line import RegisterMap
from inspkit.types import Verdict

pytest.importorskip("pymodbus")
from pymodbus.client import ModbusTcpClient
from pymodbus.exceptions import ModbusException

from simulator.plc import NO_ACK, start_plc

ROOT = Path(__file__).resolve().parents[2]


_OPENED: list[ModbusTcpClient] = []


@pytest.fixture(autouse=True)
def _close_clients() -> Iterator[None]:
    yield
    while _OPENED:
        _OPENED.pop().close()


def _client(port: int) -> ModbusTcpClient:
    """A plain pymodbus client, standing in for the edge (closed after the test)."""
    client = ModbusTcpClient("127.0.0.1", port=port, timeout=0.5, retries=0)
    _OPENED.append(client)
    assert client.connect()
    return client


def _put(client: ModbusTcpClient, regmap: RegisterMap, sequence: int, code: int, error: int) -> None:
    """What the edge writes: the result, then result_ready."""
    for address, value in ((regmap.verdict, code), (regmap.error, error), (regmap.sequence, sequence),
                           (regmap.result_ready, 1)):
        assert not client.write_register(address, value, device_id=1).isError()


def _holding(client: ModbusTcpClient, address: int) -> int:
    answer = client.read_holding_registers(address, count=1, device_id=1)
    assert not answer.isError()
    return answer.registers[0]


def test_the_scan_takes_each_result_and_acknowledges_it() -> None:
    regmap = RegisterMap()
    with start_plc(scan_ms=2.0) as plc:
        client = _client(plc.port)
        assert _holding(client, regmap.ready) == 1 and _holding(client, regmap.ack) == NO_ACK
        _put(client, regmap, 41, 1, 0)
        _put_after_scan = plc.wait_results(1)
        _put(client, regmap, 42, 0, 9)
        results = plc.wait_results(2)
        client.close()
        assert _holding(_client(plc.port), regmap.ack) == 42
    assert [(r.sequence, r.verdict, r.error, r.code) for r in results] == [
        (41, Verdict.OK, 0, 1), (42, Verdict.NG, 9, 0)]
    assert _put_after_scan[0].at_s <= results[1].at_s
    with pytest.raises(RuntimeError, match="not running"):
        plc.read("ack")


def test_a_custom_map_and_an_unknown_verdict_code() -> None:
    regmap = RegisterMap(trigger=110, ready=111, result_ready=120, ack=100, verdict=200, error=150, sequence=42)
    with start_plc(regmap=regmap, scan_ms=1.0) as plc:
        _put(_client(plc.port), regmap, 7, 5, 0)
        (result,) = plc.wait_results(1)
        assert (result.verdict, result.code) == (Verdict.NG, 5)  # never OK on an unknown code
        assert plc.read("ack") == 7 and plc.read("result_ready") == 0 and plc.read("ready") == 1


def test_stopped_scan_leaves_the_result_waiting() -> None:
    regmap = RegisterMap()
    with start_plc(scan_ms=1.0) as plc:
        plc.set_scanning(False)
        _put(_client(plc.port), regmap, 3, 1, 0)
        time.sleep(0.02)
        assert plc.results == [] and plc.read("result_ready") == 1
        plc.set_scanning(True)
        assert [r.sequence for r in plc.wait_results(1)] == [3]


def test_hang_holds_answers_but_not_the_plc_itself() -> None:
    with start_plc() as plc:
        client = _client(plc.port)
        plc.hang(2.0)
        start = time.monotonic()
        with pytest.raises(ModbusException):
            client.read_holding_registers(0, count=1, device_id=1)  # no answer within 0.5 s
        client.close()
        assert time.monotonic() - start < 1.5  # the client's own timeout, not the hang
        assert plc.read("ready") == 1  # the PLC's side is not held
        plc.hang(0)
        assert _holding(_client(plc.port), RegisterMap().ready) == 1


def test_stop_frees_the_port_and_leaves_no_thread() -> None:
    plc = start_plc()
    port = plc.port
    assert port > 0 and plc.running
    plc.stop()
    assert not plc.running
    assert not any(t.name.startswith("simulated-plc") for t in threading.enumerate())
    with socket.create_server(("127.0.0.1", port)):
        pass  # the port is free again
    with start_plc(port=port) as again:  # and a PLC can be restarted on it
        assert again.port == port and _holding(_client(port), RegisterMap().ready) == 1


def test_a_port_in_use_is_an_os_error() -> None:
    with start_plc() as plc, pytest.raises(OSError, match="cannot serve"):
        start_plc(port=plc.port)


def test_help_exits_zero() -> None:
    done = subprocess.run([sys.executable, "-m", "simulator.plc", "--help"], cwd=ROOT,
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0 and "--scan-ms" in done.stdout


def test_the_foreground_server_prints_each_result_and_a_count_on_ctrl_c() -> None:
    proc = subprocess.Popen([sys.executable, "-m", "simulator.plc", "--port", "0"], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        first = proc.stdout.readline()  # type: ignore[union-attr]
        port = int(first.split(":")[1].split()[0])
        _put(_client(port), RegisterMap(), 12, 0, 4)
        assert proc.stdout.readline().strip() == "sequence=12 verdict=NG error=4"  # type: ignore[union-attr]
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode == 0, err
    assert out.strip().endswith("1 results taken") and "Traceback" not in err
