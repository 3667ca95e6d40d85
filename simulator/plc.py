"""A simulated PLC: a pymodbus Modbus TCP server on loopback that runs the result handshake.

Its holding registers follow a :class:`~inspkit.recipe_line.RegisterMap`. Every
``scan_ms`` its scan looks at ``result_ready``; when the edge has raised it, the
scan takes the result (verdict, error, sequence), copies the sequence into
``ack`` and lowers ``result_ready``, as a PLC program would. ``ready`` is 1 from
the start and ``ack`` starts at 65535 ("nothing acknowledged yet").

Faults for tests: :meth:`PlcServer.hang` keeps connections open but holds every
answer (a PLC that accepts TCP and stops answering); :meth:`PlcServer.set_scanning`
stops the scan (a PLC program in STOP); stopping and starting a server on the
same port is a PLC reset. :mod:`simulator.tcp_proxy` cuts links.

Run ``python -m simulator.plc --help`` for the stand-alone server.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import threading
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any, TypeVar

from inspkit.recipe_line import RegisterMap
from inspkit.types import Verdict

NO_ACK = 0xFFFF  # ack at power-up: no sequence taken yet
READ_HOLDING, WRITE_MULTIPLE = 3, 16  # Modbus function codes of the server's own register access
START_TIMEOUT_S = 5.0

_T = TypeVar("_T")
# Set in the PLC's own tasks (scan, test access): a hang holds the edge's requests, never these.
_INTERNAL = contextvars.ContextVar("simulated_plc_internal", default=False)


@dataclass(frozen=True)
class PlcResult:
    """One result the PLC's scan took.

    Attributes:
        sequence: The part's sequence number.
        verdict: OK for code 1; NG for 0 and for any other code (a PLC never passes an unknown code).
        error: The error register.
        at_s: ``time.monotonic()`` when the scan took it.
        code: The raw verdict register.
    """

    sequence: int
    verdict: Verdict
    error: int
    at_s: float
    code: int


class PlcServer:
    """The simulated PLC, served from a background thread with its own asyncio loop.

    Build it with :func:`start_plc`. ``port`` is the bound port once started.
    """

    def __init__(self, host: str, port: int, regmap: RegisterMap, scan_ms: float, unit: int = 1,
                 on_result: Callable[[PlcResult], None] | None = None) -> None:
        self.host, self.port, self.regmap, self.unit = host, port, regmap, unit
        self.scan_s = scan_ms / 1000
        self.on_result = on_result
        self._size = max(regmap.addresses().values()) + 1
        self._results: list[PlcResult] = []
        self._changed = threading.Condition()
        self._hang_until_s = 0.0
        self._scanning = True
        self._started = threading.Event()
        self._error: BaseException | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self._server: Any = None
        self._thread: threading.Thread | None = None

    # -- life cycle ---------------------------------------------------------------------------

    def start(self) -> PlcServer:
        """Serve in a background thread; return once the port accepts connections.

        Raises:
            OSError: The address cannot be bound (port in use).
        """
        self._thread = threading.Thread(target=self._serve, name=f"simulated-plc-{self.port}", daemon=True)
        self._thread.start()
        if not self._started.wait(START_TIMEOUT_S):
            self.stop()
            raise OSError(f"simulated PLC on {self.host}:{self.port} did not start in {START_TIMEOUT_S} s")
        if self._error is not None:
            self._thread.join(START_TIMEOUT_S)
            raise OSError(f"simulated PLC cannot serve on {self.host}:{self.port}: {self._error}")
        return self

    def stop(self) -> None:
        """Close every connection and the listening port, and end the thread."""
        if self._loop is not None and self._stopping is not None:
            with contextlib.suppress(RuntimeError):  # the loop ended on its own
                self._loop.call_soon_threadsafe(self._stopping.set)
        if self._thread is not None:
            self._thread.join(START_TIMEOUT_S)

    @property
    def running(self) -> bool:
        """Whether the server thread is serving."""
        return self._thread is not None and self._thread.is_alive()

    def __enter__(self) -> PlcServer:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    # -- what tests look at and do ------------------------------------------------------------

    @property
    def results(self) -> list[PlcResult]:
        """A snapshot of the results taken so far, oldest first."""
        with self._changed:
            return list(self._results)

    def wait_results(self, count: int, timeout_s: float = 2.0) -> list[PlcResult]:
        """Wait until at least ``count`` results were taken (or the timeout); return them all."""
        with self._changed:
            self._changed.wait_for(lambda: len(self._results) >= count, timeout_s)
            return list(self._results)

    def hang(self, seconds: float) -> None:
        """Hold every answer to the edge for ``seconds`` (0: answer again now); connections stay open."""
        self._hang_until_s = time.monotonic() + seconds

    def set_scanning(self, flag: bool) -> None:
        """Run or stop the scan (stopped: results stay in the registers, ``result_ready`` stays 1)."""
        self._scanning = flag

    def read(self, name: str) -> int:
        """Read one register of the map from the PLC's side (not held by :meth:`hang`)."""
        address = getattr(self.regmap, name)
        return self._on_loop(self._get(address, 1))[0]

    def write(self, name: str, value: int) -> None:
        """Write one register of the map from the PLC's side (e.g. ``trigger``)."""
        self._on_loop(self._set(getattr(self.regmap, name), [value]))

    # -- the server thread ---------------------------------------------------------------------

    def _serve(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as exc:  # noqa: BLE001 -- handed to start(), which raises it
            self._error = exc
        finally:
            self._started.set()

    async def _main(self) -> None:
        import logging

        from pymodbus.server import ModbusTcpServer

        logging.getLogger("pymodbus").addHandler(logging.NullHandler())  # no stray stderr lines
        self._loop, self._stopping = asyncio.get_running_loop(), asyncio.Event()
        server = ModbusTcpServer(self._device(), address=(self.host, self.port))
        await server.serve_forever(background=True)  # raises RuntimeError when it cannot listen
        self._server = server
        self.port = server.transport.sockets[0].getsockname()[1]
        self._started.set()
        scan = asyncio.create_task(self._scan_loop())
        try:
            await self._stopping.wait()
        finally:
            scan.cancel()
            await server.shutdown()

    def _device(self) -> Any:
        from pymodbus.simulator import DataType, SimData, SimDevice

        registers = [0] * self._size
        registers[self.regmap.ready], registers[self.regmap.ack] = 1, NO_ACK
        block = SimData(address=0, values=registers, datatype=DataType.REGISTERS)
        return SimDevice(id=self.unit, simdata=[block], action=self._on_access)

    async def _on_access(self, *_request: object) -> None:
        # pymodbus awaits this before each register access; holding it here is the hang.
        if _INTERNAL.get():
            return
        while (left_s := self._hang_until_s - time.monotonic()) > 0:
            await asyncio.sleep(min(left_s, 0.02))

    async def _scan_loop(self) -> None:
        _INTERNAL.set(True)
        while True:
            await asyncio.sleep(self.scan_s)
            if self._scanning:
                await self._scan()

    async def _scan(self) -> None:
        m = self.regmap
        registers = await self._get(0, self._size)
        if registers[m.result_ready] != 1:
            return
        code = registers[m.verdict]
        result = PlcResult(registers[m.sequence], Verdict.OK if code == 1 else Verdict.NG,
                           registers[m.error], time.monotonic(), code)
        # Nothing awaits between these writes and the read above: no request can slip in.
        await self._set(m.ack, [result.sequence])
        await self._set(m.result_ready, [0])
        with self._changed:
            self._results.append(result)
            self._changed.notify_all()
        if self.on_result is not None:
            self.on_result(result)

    async def _get(self, address: int, count: int) -> list[int]:
        _INTERNAL.set(True)
        return list(await self._server.async_getValues(self.unit, READ_HOLDING, address, count))

    async def _set(self, address: int, values: list[int]) -> None:
        _INTERNAL.set(True)
        await self._server.async_setValues(self.unit, WRITE_MULTIPLE, address, values)

    def _on_loop(self, work: Coroutine[Any, Any, _T]) -> _T:
        if self._loop is None or not self.running:
            work.close()
            raise RuntimeError("the simulated PLC is not running")
        return asyncio.run_coroutine_threadsafe(work, self._loop).result(START_TIMEOUT_S)


def start_plc(host: str = "127.0.0.1", port: int = 0, regmap: RegisterMap | None = None,
              scan_ms: float = 2.0, unit: int = 1,
              on_result: Callable[[PlcResult], None] | None = None) -> PlcServer:
    """Start a simulated PLC in a background thread; it accepts connections when this returns.

    Args:
        host: Address to listen on (loopback by default).
        port: Port; 0 picks a free one (read ``.port``).
        regmap: Register addresses (the recipe's default map when None).
        scan_ms: Time between two scans of ``result_ready``.
        unit: The Modbus device id it answers as.
        on_result: Called in the server thread with each result taken.

    Raises:
        OSError: The address cannot be bound.
    """
    return PlcServer(host, port, regmap or RegisterMap(), scan_ms, unit, on_result).start()


def main(argv: list[str] | None = None) -> int:
    """Run a simulated PLC in the foreground; one line per result; Ctrl-C stops it."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m simulator.plc",
                                     description="A simulated PLC (Modbus TCP server) that takes "
                                                 "the edge's inspection results.")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: loopback)")
    parser.add_argument("--port", type=int, default=5020, help="TCP port (default: 5020; 0: any free)")
    parser.add_argument("--scan-ms", type=float, default=2.0, help="scan period in ms (default: 2)")
    parser.add_argument("--unit", type=int, default=1, help="Modbus device id (default: 1)")
    args = parser.parse_args(argv)

    def show(result: PlcResult) -> None:
        print(f"sequence={result.sequence} verdict={result.verdict.value} error={result.error}", flush=True)

    try:
        server = start_plc(args.host, args.port, scan_ms=args.scan_ms, unit=args.unit, on_result=show)
    except OSError as exc:
        parser.exit(2, f"error: {exc}\n")
    print(f"simulated PLC on {server.host}:{server.port} (unit {server.unit}, scan {args.scan_ms} ms); "
          "Ctrl-C stops it", flush=True)
    try:
        while server.running:
            time.sleep(0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    print(f"{len(server.results)} results taken", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
