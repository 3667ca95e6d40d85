"""End-to-end latency of the edge service (``inspkit connect``) against the bare model forward, same run.

Run: ``python benchmarks/connect_latency.py [--model timm:resnet18] [--size 64]
[--parts 300] [--encoding png] [--mes sqlite] [--threads 0] [--sustain-s 20]
[--stations 2] [--device auto]`` (defaults shown; ``--mes`` also takes a
``postgresql://`` URL; about a minute on 2 CPU cores).

In a temporary folder: a cylinder-bonding workspace with a freshly initialised
classifier in production (as ``infer_latency.py``), the simulated PLC and an
edge service started in-process with :func:`start_edge` (goal replacement,
deadline 5 s so that no part falls to the fail-safe).

Latency, one part at a time, an ``EdgeClient`` sending frames encoded beforehand.
Per part: ``round trip`` (client: just before sending → reply read);
``edge_ms`` (from the reply: frame read → PLC written, outbox committed); ``to
MES`` (just before sending → the MES commit holding the part returned: the
outbox forwarder commits asynchronously, so the sink that
``inspkit.connect.edge._open_mes`` opens is wrapped to stamp each batch);
``e2e`` = max(reply, MES commit) − send, what the goal is judged on (the send
time is an upper bound on "frame received"); ``received → PLC and MES``, the
same from the service's own ``received_s``, without the client's send and the
reply's way back (printed beside the goal).

Each part alternates with one ``bare`` forward at batch 1 of a second copy of
the same weights, same process (``torch.inference_mode``, a tensor already
cropped, resized and normalised), after a warm-up of 20 of each, who goes first
swapped every pair; after each part the service settles (MES commit, outbox
emptied, sample kept) so neither side pays for the other's background work.
Goal: median of the paired ``e2e − bare`` <= 0.15 x median(bare) + 2 ms. The
split of the overhead times the service's own calls in place (image decode,
model slot, ``Inferencer.predict``, PLC write, outbox put).

Sustained: ``--stations`` client threads (own station ids) send parts back to
back for ``--sustain-s`` s; parts/s, who decided, latencies under that load,
the process's CPU use, the outbox left after stop (must be 0). Exit status 0
when the latency goal is met.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np
import torch

import inspkit.connect.edge as edge_module
import inspkit.connect.service as service_module
from benchmarks.infer_latency import WARMUP, bare_forward, frames, prepared_batch, store_model
from inspkit.connect.client import EdgeClient
from inspkit.connect.edge import Edge, EdgeOptions, start_edge
from inspkit.connect.mes import MesRecord, MesSink, redact_url
from inspkit.connect.protocol import PartFrame, decode_image, part_frame
from inspkit.connect.service import ServiceConfig
from inspkit.models.inferencer import Inferencer
from inspkit.recipe import load_recipe
from inspkit.store.workspace import Workspace
from inspkit.types import Goal
from simulator.plc import PlcServer, start_plc

GOAL_SHARE, GOAL_FIXED_MS = 0.15, 2.0
RECIPE = Path(__file__).resolve().parent.parent / "recipes" / "cylinder-bonding.yaml"
LINE = "L1"
DEADLINE_S = 5.0
Key = tuple[str, int]  # (station, serial)


class MesClock:
    """When the MES commit holding each part returned (``perf_counter``), stamped by :class:`TimedSink`."""

    def __init__(self) -> None:
        self._at: dict[Key, float] = {}
        self._cond = threading.Condition()

    def committed(self, keys: Iterable[Key]) -> None:
        now = time.perf_counter()
        with self._cond:
            for key in keys:
                self._at.setdefault(key, now)
            self._cond.notify_all()

    def wait(self, key: Key, timeout_s: float = 10.0) -> float:
        """The commit time of ``key``, waiting for it (raises ``KeyError`` after the timeout)."""
        with self._cond:
            self._cond.wait_for(lambda: key in self._at, timeout_s)
            return self._at[key]

    def get(self, key: Key) -> float:
        with self._cond:
            return self._at.get(key, float("nan"))


class TimedSink:
    """The real MES sink, stamping every record of a batch once ``record_many`` returned."""

    def __init__(self, sink: MesSink, clock: MesClock) -> None:
        self._sink, self._clock = sink, clock

    def record_many(self, records: Iterable[MesRecord]) -> int:
        rows = list(records)
        stored = self._sink.record_many(rows)
        self._clock.committed((r.station, r.serial) for r in rows)
        return stored

    def close(self) -> None:
        self._sink.close()


class Probe:
    """Milliseconds spent in wrapped calls (the service's own steps), one list per name."""

    def __init__(self) -> None:
        self.ms: dict[str, list[float]] = defaultdict(list)
        self.arrived: dict[Key, float] = {}
        self._undo: list[tuple[object, str, object]] = []

    def wrap(self, owner: object, attr: str, name: str) -> None:
        inner = getattr(owner, attr)
        into = self.ms[name]

        def timed(*args: Any, **kwargs: Any) -> Any:
            t0 = time.perf_counter()
            try:
                return inner(*args, **kwargs)
            finally:
                into.append((time.perf_counter() - t0) * 1000)

        self._undo.append((owner, attr, vars(owner).get(attr)))  # None: a method of the class
        setattr(owner, attr, timed)

    def stamp_arrivals(self, service: object) -> None:
        """Record each part's ``received_s`` (the server's clock) as ``perf_counter`` time."""
        inner = service.handle  # type: ignore[attr-defined]

        def handle(frame: PartFrame, received_s: float | None = None) -> Any:
            if received_s is not None:
                self.arrived[(frame.station, frame.serial)] = received_s + time.perf_counter() - time.monotonic()
            return inner(frame, received_s)

        self._undo.append((service, "handle", None))
        service.handle = handle  # type: ignore[attr-defined]

    def clear(self) -> None:
        for values in self.ms.values():
            values.clear()

    def restore(self) -> None:
        for owner, attr, old in reversed(self._undo):
            if old is None:
                delattr(owner, attr)  # an instance attribute shadowing a method: drop it
            else:
                setattr(owner, attr, old)
        self._undo.clear()


@dataclass(frozen=True)
class Sent:
    """One part through the service, as the client saw it."""

    key: Key
    t0: float
    t_reply: float
    edge_ms: float
    by: str


def send(client: EdgeClient, template: PartFrame, station: str, serial: int) -> Sent:
    """Send one part (image already encoded) and wait for its RESULT."""
    frame = replace(template, serial=serial, station=station, t=time.time())
    t0 = time.perf_counter()
    reply = client.send_part(frame)
    return Sent((station, serial), t0, time.perf_counter(), reply.edge_ms, reply.by)


@contextmanager
def timed_mes(clock: MesClock) -> Iterator[None]:
    """Make the edge's forwarder open sinks that stamp their commits on ``clock``."""
    original = edge_module._open_mes

    def open_timed(url: str) -> TimedSink:
        return TimedSink(original(url), clock)

    edge_module._open_mes = open_timed
    try:
        yield
    finally:
        edge_module._open_mes = original


def instrument(edge: Edge, probe: Probe) -> None:
    """Time the service's steps in place (each adds ~1 µs)."""
    probe.stamp_arrivals(edge.service)
    probe.wrap(service_module, "decode_image", "decode")
    probe.wrap(edge.slot, "predict", "slot")  # hand-off to the model thread + predict + back
    probe.wrap(edge.slot._model, "predict", "predict")  # Inferencer.predict, on the model thread
    probe.wrap(edge.plc, "write_result", "plc")
    probe.wrap(edge.outbox, "put", "outbox")


def settle(edge: Edge, clock: MesClock, key: Key, kept: int) -> None:
    """Wait until the part is in the MES, out of the outbox and kept for review."""
    clock.wait(key)
    edge.forwarder.wait_drained(10.0)
    end = time.monotonic() + 5.0
    while edge.keeper is not None and edge.keeper.kept + edge.keeper.dropped < kept and time.monotonic() < end:
        time.sleep(0.0005)


def latency_phase(edge: Edge, clock: MesClock, probe: Probe, templates: list[PartFrame],
                  bare: Callable[[], None], parts: int) -> tuple[list[Sent], np.ndarray]:
    """``parts`` parts through the service alternating with bare forwards; returns both, in order."""
    sent: list[Sent] = []
    bare_ms: list[float] = []
    with EdgeClient(*edge.address, timeout_s=DEADLINE_S + 5) as client:
        for i in range(WARMUP + parts):
            if i == WARMUP:
                probe.clear()
            for step in (("part", "bare") if i % 2 == 0 else ("bare", "part")):  # who goes first alternates
                if step == "part":
                    part = send(client, templates[i], "S0", i)
                    settle(edge, clock, part.key, i + 1)
                else:
                    t0 = time.perf_counter()
                    bare()
                    took_ms = (time.perf_counter() - t0) * 1000
            if i >= WARMUP:
                sent.append(part)
                bare_ms.append(took_ms)
    return sent, np.array(bare_ms)


def station_loop(address: tuple[str, int], templates: list[PartFrame], station: int, stations: int,
                 first_serial: int, until_s: float, into: list[Sent]) -> None:
    """One vision PC sending parts back to back until ``until_s`` (``perf_counter``)."""
    with EdgeClient(*address, timeout_s=DEADLINE_S + 5) as client:
        j = 0
        while time.perf_counter() < until_s:
            serial = first_serial + j * stations + station  # distinct 16-bit PLC sequences too
            into.append(send(client, templates[j % len(templates)], f"S{station + 1}", serial))
            j += 1


def sustain_phase(edge: Edge, templates: list[PartFrame], stations: int, seconds: float,
                  first_serial: int) -> tuple[list[Sent], float, float]:
    """Parts from all stations, the wall seconds they took and the CPU seconds the process used."""
    results: list[list[Sent]] = [[] for _ in range(stations)]
    cpu0, t0 = time.process_time(), time.perf_counter()
    threads = [threading.Thread(target=station_loop, args=(edge.address, templates, k, stations, first_serial,
                                                           t0 + seconds, results[k])) for k in range(stations)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall_s, cpu_s = time.perf_counter() - t0, time.process_time() - cpu0
    return [s for r in results for s in r], wall_s, cpu_s


def pct(values: Iterable[float]) -> tuple[float, float]:
    """p50 and p99."""
    arr = np.asarray(list(values), dtype=float)
    return float(np.percentile(arr, 50)), float(np.percentile(arr, 99))


def latency_rows(sent: list[Sent], clock: MesClock, arrived: dict[Key, float]) -> dict[str, np.ndarray]:
    """Round trip, edge_ms, to-MES, e2e and the service-side e2e in ms, one value per part."""
    t_mes = np.array([clock.get(s.key) for s in sent])
    t0 = np.array([s.t0 for s in sent])
    t_reply = np.array([s.t_reply for s in sent])
    edge_ms = np.array([s.edge_ms for s in sent])
    t_in = np.array([arrived.get(s.key, np.nan) for s in sent])
    return {"round trip": (t_reply - t0) * 1000, "edge_ms": edge_ms, "to MES": (t_mes - t0) * 1000,
            "e2e": (np.maximum(t_reply, t_mes) - t0) * 1000,
            "from received": np.maximum(edge_ms, (t_mes - t_in) * 1000)}


def report_latency(rows: dict[str, np.ndarray], bare_ms: np.ndarray) -> bool:
    """Print the percentiles and the goal; True when it is met."""
    print("  batch 1, one part at a time        p50 ms    p99 ms")
    for name, values in (("bare forward", bare_ms), ("client round trip", rows["round trip"]),
                         ("service edge_ms", rows["edge_ms"]), ("send → MES commit", rows["to MES"]),
                         ("e2e (PLC and MES)", rows["e2e"]), ("received → PLC and MES", rows["from received"])):
        p50, p99 = pct(values)
        print(f"    {name:<28} {p50:9.3f} {p99:9.3f}")
    overhead = float(np.median(rows["e2e"] - bare_ms))
    threshold = GOAL_SHARE * float(np.median(bare_ms)) + GOAL_FIXED_MS
    ok = overhead <= threshold
    print(f"  overhead e2e − bare: median of pairs {overhead:.3f} ms "
          f"(p99 of pairs {np.percentile(rows['e2e'] - bare_ms, 99):.3f} ms)")
    print(f"  goal overhead <= 0.15 x bare + 2 ms = {threshold:.3f} ms: {'met' if ok else 'MISSED'}")
    served = float(np.median(rows["from received"] - bare_ms))
    print(f"  (service side only, frame received → PLC and MES, no client or reply leg: median of pairs "
          f"{served:.3f} ms, {'within' if served <= threshold else 'over'} the goal)")
    return ok


def report_split(rows: dict[str, np.ndarray], bare_ms: np.ndarray, probe: Probe) -> None:
    """Print where the overhead goes: medians per part of each step (a step not taken counts 0)."""
    n = len(bare_ms)
    ms = {k: np.asarray(probe.ms.get(k) or np.zeros(n)) for k in ("decode", "slot", "predict", "plc", "outbox")}
    if any(len(v) != n for v in ms.values()):
        print("  (split skipped: a step was called more than once for some part)")
        return
    steps = {
        "preprocess (predict − bare)": ms["predict"] - bare_ms,
        "image decode": ms["decode"],
        "model thread hand-off": ms["slot"] - ms["predict"],
        "PLC write (Modbus)": ms["plc"],
        "outbox put (fsync)": ms["outbox"],
        "rest of the service path": rows["edge_ms"] - ms["decode"] - ms["slot"] - ms["plc"] - ms["outbox"],
        "wire (round trip − edge_ms)": rows["round trip"] - rows["edge_ms"],
        "MES after reply (e2e − trip)": rows["e2e"] - rows["round trip"],
    }
    print("  split of the overhead (median per part, ms; medians do not add up exactly):")
    for name, values in steps.items():
        print(f"    {name:<30} {np.median(values):8.3f}   p99 {np.percentile(values, 99):8.3f}")


def report_sustain(parts: list[Sent], clock: MesClock, arrived: dict[Key, float], wall_s: float,
                   cpu_s: float, edge: Edge, stations: int) -> None:
    """Print throughput and latency under load (call after ``edge.stop()``)."""
    by = {name: sum(s.by == name for s in parts) for name in ("model", "vision", "fail-safe")}
    print(f"  sustained, {stations} stations back to back for {wall_s:.1f} s: {len(parts) / wall_s:.1f} parts/s "
          f"({len(parts)} parts; by model {by['model']}, by vision {by['vision']}, fail-safe {by['fail-safe']}); "
          f"process CPU {cpu_s / wall_s:.2f} cores")
    rows = latency_rows(parts, clock, arrived)
    for name in ("edge_ms", "round trip", "e2e", "from received"):
        p50, p99 = pct(rows[name])
        print(f"    {name:<14} p50 {p50:8.3f} ms   p99 {p99:8.3f} ms")
    kept = "-" if edge.keeper is None else f"{edge.keeper.kept} kept, {edge.keeper.dropped} dropped"
    print(f"  after stop: outbox left {edge.left_in_outbox}, MES delivered {edge.delivered}, samples {kept}")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="timm:resnet18")
    p.add_argument("--size", type=int, default=64, help="model input side, pixels")
    p.add_argument("--parts", type=int, default=300, help="timed parts (and bare forwards), one at a time")
    p.add_argument("--encoding", choices=("png", "raw", "jpeg"), default="png")
    p.add_argument("--mes", default="sqlite", help="sqlite (a file in the temp folder) or an MES URL")
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    p.add_argument("--sustain-s", type=float, default=20.0, help="seconds of back-to-back parts (0: skip)")
    p.add_argument("--stations", type=int, default=2, help="client threads in the sustained run")
    p.add_argument("--device", default="auto", help="auto, cpu or cuda")
    return p.parse_args(argv)


def setup(tmp: Path, args: argparse.Namespace) -> tuple[Path, list[PartFrame], Inferencer]:
    """The workspace with a production model, the encoded frames and a second copy of the model."""
    ws = tmp / "ws"
    Workspace.create(ws, load_recipe(RECIPE)).close()
    store_model(ws / "models", args.model, args.size)
    images = frames(WARMUP + args.parts)  # distinct images: each part is kept as a new sample
    templates = [part_frame(0, image, None, LINE, "S0", encoding=args.encoding) for image in images]
    return ws, templates, Inferencer.load(ws / "models", device=args.device)


def run(tmp: Path, args: argparse.Namespace) -> bool:
    """Set up, measure and report; True when the latency goal is met."""
    ws, templates, inf = setup(tmp, args)
    mes_url = f"sqlite:///{tmp / 'mes.db'}" if args.mes == "sqlite" else args.mes
    config = ServiceConfig(Goal.REPLACEMENT, deadline_s=DEADLINE_S, plc_budget_s=0.1)
    clock, probe = MesClock(), Probe()
    plc: PlcServer = start_plc()
    try:
        with timed_mes(clock):
            edge = start_edge(EdgeOptions(ws, config, "127.0.0.1", 0, f"modbus://127.0.0.1:{plc.port}",
                                          mes_url, device=args.device))
            try:
                print(f"connect latency: {args.model}, {args.size} px input, {args.encoding} frames 256x256, "
                      f"MES {redact_url(mes_url).split(':')[0]}, device {inf.device}, "
                      f"torch threads {torch.get_num_threads()}, {args.parts} parts, "
                      f"load {os.getloadavg()[0]:.2f}")
                instrument(edge, probe)
                bare = bare_forward(inf, prepared_batch(inf, [decode_image(templates[0])]))
                sent, bare_ms = latency_phase(edge, clock, probe, templates, bare, args.parts)
                rows = latency_rows(sent, clock, probe.arrived)
                ok = report_latency(rows, bare_ms)
                report_split(rows, bare_ms, probe)
                probe.restore()
                probe.stamp_arrivals(edge.service)
                sustained = (sustain_phase(edge, templates, args.stations, args.sustain_s, WARMUP + args.parts)
                             if args.sustain_s > 0 else None)
            finally:
                edge.stop()
                probe.restore()
        if sustained is not None:
            parts, wall_s, cpu_s = sustained
            report_sustain(parts, clock, probe.arrived, wall_s, cpu_s, edge, args.stations)
    finally:
        plc.stop()
    print(f"  load average at the end {os.getloadavg()[0]:.2f} (1 min)")
    return ok


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; exit status 0 when the latency goal is met."""
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory(prefix="connect-bench-") as tmp:
        ok = run(Path(tmp), args)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
