"""``inspkit simulate --realtime``: the simulated station, PLC and MES around a real ``inspkit connect``.

Starts the simulated PLC (a Modbus TCP server on loopback), starts
``inspkit connect`` as its own process on the workspace's production model,
runs the simulated vision station against it for the given minutes, stops the
service (which delivers its outbox), and counts: every part must end with
exactly one MES record and one PLC result.
"""

from __future__ import annotations

import csv
import json
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from inspkit.cli._common import err_console
from inspkit.errors import InputError

_READY_S = 180.0  # loading torch and the model on a busy 2-core machine


@dataclass(frozen=True)
class RealtimeCounts:
    """The run's counts."""

    sent: int
    replies: int
    errors: int
    plc_results: int
    mes_records: int
    mes_duplicates: int
    by: dict[str, int]
    late: int
    p50_ms: float
    p99_ms: float

    @property
    def complete(self) -> bool:
        """Every part has exactly one MES record and one PLC result."""
        return self.sent == self.replies == self.plc_results == self.mes_records and not self.mes_duplicates


def run_realtime_line(recipe, ws_path: Path, run_dir: Path, minutes: float, device: str) -> RealtimeCounts:  # noqa: ANN001
    """Run the real-time line and return its counts (files go to ``run_dir``)."""
    from inspkit.cli._simulate import _model
    from simulator.plc import start_plc

    _model(recipe, ws_path, device)  # trains the first model when the workspace has none
    run_dir.mkdir(parents=True, exist_ok=True)
    mes_url = f"sqlite:///{(run_dir / 'mes.db').resolve()}"
    with start_plc(regmap=recipe.connect.plc) as plc:
        port = _free_port()
        service = _start_connect(ws_path, run_dir, port, plc.port, mes_url, recipe, device)
        try:
            seen = _drive(recipe, ("127.0.0.1", port), minutes, run_dir)
        finally:
            _stop(service)
        time.sleep(0.2)  # the PLC's last scan
        plc_results = len(plc.results)
    counts = _count(seen, plc_results, mes_url)
    (run_dir / "realtime.json").write_text(json.dumps(counts.__dict__, indent=2) + "\n")
    return counts


def _start_connect(ws: Path, run_dir: Path, port: int, plc_port: int, mes_url: str, recipe,  # noqa: ANN001
                   device: str) -> subprocess.Popen:
    from inspkit.connect.client import EdgeClient

    log = (run_dir / "connect.log").open("w")
    cmd = [sys.executable, "-m", "inspkit", "connect", "-w", str(ws), "--listen", f"127.0.0.1:{port}",
           "--plc", f"modbus://127.0.0.1:{plc_port}", "--mes", mes_url, "--goal", recipe.connect.goal.value,
           "--device", device]
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
    ends = time.monotonic() + _READY_S
    with err_console.status("starting inspkit connect (loading the model)"):
        while time.monotonic() < ends:
            if proc.poll() is not None:
                raise InputError(f"inspkit connect stopped at start (exit {proc.returncode}); see {run_dir / 'connect.log'}")
            try:
                with EdgeClient("127.0.0.1", port, timeout_s=2.0) as client:
                    if client.ping().ready:
                        return proc
            except (OSError, TimeoutError, Exception):  # noqa: BLE001 - not listening yet
                pass
            time.sleep(0.5)
    proc.kill()
    raise InputError(f"inspkit connect was not ready within {_READY_S:g} s; see {run_dir / 'connect.log'}")


def _drive(recipe, edge: tuple[str, int], minutes: float, run_dir: Path):  # noqa: ANN001, ANN202
    from rich.progress import Progress

    from simulator.camera import Camera, drift_for, product_for
    from simulator.realtime import FrameSource, RealtimeRequest, run_realtime
    from simulator.runner import tuned_station

    with err_console.status("tuning the legacy vision station on the set-up period"):
        station = tuned_station(recipe, recipe.seed).station
    product = product_for(recipe)
    drift = drift_for(recipe, product)
    camera = Camera(product, drift, recipe.seed)
    source = FrameSource(camera.frame, station.inspect, drift.defect_rate(0.0), tuple(drift.defect_types(0.0)))
    cycle_s = recipe.line.cycle_time_ms / 1000
    req = RealtimeRequest(edge, minutes, cycle_s, recipe.line.line, recipe.line.station,
                          first_serial=int(time.time()) * 1000, seed=recipe.seed)
    with Progress(console=err_console, transient=True) as bar:
        task = bar.add_task(f"real-time line, a part every {cycle_s:g} s", total=int(minutes * 60 / cycle_s))
        result = run_realtime(req, source, on_part=lambda _s, _r: bar.advance(task))
    with (run_dir / "truth.csv").open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["line", "station", "serial", "truth"])
        writer.writerows((req.line_id, req.station_id, s, t) for s, t in result.truth)
    return result


def _stop(proc: subprocess.Popen) -> None:
    proc.terminate()  # SIGTERM: the service stops taking parts and delivers its outbox
    try:
        proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _count(seen, plc_results: int, mes_url: str) -> RealtimeCounts:  # noqa: ANN001
    import numpy as np

    from inspkit.connect.mes import open_mes

    sink = open_mes(mes_url)
    try:
        records = sink.records()
    finally:
        sink.close()
    keys = [(r.line, r.station, r.serial) for r in records]
    lat = np.asarray(seen.round_trip_ms or [0.0])
    return RealtimeCounts(seen.sent, seen.replies, seen.errors, plc_results, len(records), len(keys) - len(set(keys)),
                          dict(seen.by), seen.late, float(np.percentile(lat, 50)), float(np.percentile(lat, 99)))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
