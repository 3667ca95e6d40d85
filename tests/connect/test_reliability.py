"""The edge under faults: the PLC link cut, hung or reset; the service killed with SIGKILL."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from inspkit.connect.client import EdgeClient
from inspkit.connect.edge import start_edge
from inspkit.connect.mes import open_mes
from inspkit.types import Verdict
from simulator.plc import start_plc
from simulator.tcp_proxy import TcpProxy
from tests.connect.edge_fixtures import edge_ws, frame_image, options  # noqa: F401

DEADLINE_S = 1.0
SLACK_S = 0.5  # thread scheduling on a loaded 2-core machine


def _inspect(client: EdgeClient, serial: int):  # noqa: ANN202
    started = time.monotonic()
    reply = client.inspect(serial, frame_image(True, serial), Verdict.OK, "L1", "S1")
    return reply, time.monotonic() - started


def _until_by_model(client: EdgeClient, first: int, timeout_s: float = 8.0) -> int:
    """Send parts until one is decided by the model again; returns the next free serial."""
    serial, ends = first, time.monotonic() + timeout_s
    while time.monotonic() < ends:
        reply, _ = _inspect(client, serial)
        serial += 1
        if reply.by == "model":
            return serial
        time.sleep(0.1)
    pytest.fail("the PLC link did not come back")


def test_a_cut_or_hung_plc_gives_bounded_fail_safe_verdicts_then_the_link_recovers(edge_ws: Path) -> None:
    with start_plc() as plc:
        proxy = TcpProxy(("127.0.0.1", plc.port))
        running = start_edge(options(edge_ws, plc_url=f"modbus://127.0.0.1:{proxy.port}", deadline_s=DEADLINE_S))
        try:
            with EdgeClient(*running.address, timeout_s=10) as client:
                reply, _ = _inspect(client, 1)
                assert reply.by == "model" and plc.wait_results(1)[-1].sequence == 1

                proxy.cut()  # the cable is pulled
                for serial in (2, 3, 4):
                    reply, took_s = _inspect(client, serial)
                    assert (reply.final, reply.by) == (Verdict.NG, "fail-safe") and "PLC" in reply.reason
                    assert took_s < DEADLINE_S + SLACK_S
                proxy.restore()
                serial = _until_by_model(client, 5)

                plc.hang(3.0)  # the PLC stops answering, the connection stays open
                reply, took_s = _inspect(client, serial)
                assert reply.by == "fail-safe" and took_s < DEADLINE_S + SLACK_S
                plc.hang(0)
                serial = _until_by_model(client, serial + 1)
        finally:
            assert running.stop()
            proxy.stop()
        taken = {r.sequence for r in plc.results}
    assert 1 in taken and serial - 1 in taken and not taken & {2, 3, 4}
    sink = open_mes(f"sqlite:///{edge_ws.parent / 'mes.db'}")
    rows = {r.serial: r for r in sink.records()}
    sink.close()
    assert len(rows) == serial - 1  # every part has its one record, fail-safe ones included
    assert all(rows[s].decided_by == "fail-safe" and rows[s].final_verdict == "NG" for s in (2, 3, 4))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _connect_process(ws: Path, port: int, mes_url: str) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "inspkit", "connect", "-w", str(ws), "--listen", f"127.0.0.1:{port}",
           "--plc", "memory://", "--mes", mes_url, "--device", "cpu", "--deadline-ms", "5000"]
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def _wait_ready(port: int, proc: subprocess.Popen, timeout_s: float = 90.0) -> None:
    ends = time.monotonic() + timeout_s
    while time.monotonic() < ends:
        assert proc.poll() is None, proc.stderr.read()
        try:
            with EdgeClient("127.0.0.1", port, timeout_s=2) as client:
                if client.ping().ready:
                    return
        except Exception:  # noqa: BLE001 - not listening yet
            time.sleep(0.2)
    pytest.fail("inspkit connect did not become ready")


def test_sigkill_mid_run_loses_nothing_and_duplicates_nothing(edge_ws: Path) -> None:
    """Killed while the MES is down: the outbox keeps every answered part; the restart delivers them once."""
    port, mes = _free_port(), edge_ws.parent / "mes.db"
    down = f"postgresql://nobody@127.0.0.1:{_free_port()}/none?connect_timeout=1"  # nothing listens there
    proc = _connect_process(edge_ws, port, down)
    _wait_ready(port, proc)
    answered = []
    with EdgeClient("127.0.0.1", port, timeout_s=10) as client:
        for serial in range(25):
            answered.append(client.inspect(serial, frame_image(True, serial), Verdict.OK, "L1", "S1").serial)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()

    proc = _connect_process(edge_ws, port, f"sqlite:///{mes}")  # the MES is back
    _wait_ready(port, proc)
    with EdgeClient("127.0.0.1", port, timeout_s=10) as client:
        for serial in range(20, 40):  # the station resends the last parts it is unsure of, then goes on
            client.inspect(serial, frame_image(True, serial), Verdict.OK, "L1", "S1")
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=60) == 0, proc.stderr.read()
    sink = open_mes(f"sqlite:///{mes}")
    serials = [r.serial for r in sink.records()]
    sink.close()
    assert answered == list(range(25))
    assert sorted(serials) == list(range(40))  # none lost, none twice
