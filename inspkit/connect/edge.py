"""Assembling a running edge service from a workspace: model, PLC, MES outbox, keeper, TCP server.

:func:`start_edge` is what ``inspkit connect`` runs; tests and the real-time
simulator start it in-process the same way.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from inspkit.connect.events import Event, EventLog
from inspkit.connect.model_slot import ModelSlot
from inspkit.connect.plc import MemoryLink
from inspkit.connect.protocol import Limits
from inspkit.connect.service import EdgeService, ServiceConfig
from inspkit.errors import InputError
from inspkit.recipe_line import RegisterMap

#: Where the edge keeps its state in a workspace.
CONNECT_DIR = "connect"
OUTBOX_FILE = "outbox.db"
EVENTS_FILE = "events.jsonl"


@dataclass(frozen=True)
class EdgeOptions:
    """What ``inspkit connect`` was asked to do.

    Attributes:
        workspace: The workspace folder (model store, samples, outbox).
        config: Goal, shadow, fail-safe and deadline.
        host: Address to listen on. port: Port (0 picks a free one).
        plc_url: ``modbus://HOST:PORT`` or ``memory://`` (no PLC: results are only logged).
        mes_url: ``sqlite:///PATH`` or ``postgresql://…``.
        key: Shared HMAC key (``None``: frames are not authenticated).
        device: Inference device.
        poll_s: How often the model store is checked for a newly promoted version.
        regmap: The PLC register map (the recipe's ``connect.plc``).
        limits: Frame size limits.
    """

    workspace: Path
    config: ServiceConfig
    host: str = "127.0.0.1"
    port: int = 9500
    plc_url: str = "memory://"
    mes_url: str = ""
    key: bytes | None = None
    device: str = "auto"
    poll_s: float = 0.5
    regmap: RegisterMap = field(default_factory=RegisterMap)
    limits: Limits = field(default_factory=Limits)


class Edge:
    """A running edge service; :meth:`stop` drains the MES outbox and releases everything."""

    def __init__(self, options: EdgeOptions, listener: Callable[[Event], None] | None = None) -> None:
        self.options = options
        root = options.workspace / CONNECT_DIR
        root.mkdir(parents=True, exist_ok=True)
        self.events = EventLog(root / EVENTS_FILE, listener)
        self.delivered = 0  # results the MES took, and results left in the outbox, as of stop()
        self.left_in_outbox = 0

    def start(self) -> Edge:
        """Open the links, load the production model and start listening."""
        from inspkit.connect.keeper import SampleKeeper
        from inspkit.connect.outbox import Forwarder, Outbox
        from inspkit.connect.server import EdgeServer

        from inspkit.connect.mes import check_mes_url

        opts, log = self.options, self.events
        check_mes_url(opts.mes_url)
        try:
            self.plc = _plc(opts.plc_url, opts.regmap)
            self.outbox = Outbox(opts.workspace / CONNECT_DIR / OUTBOX_FILE)
            self.forwarder = Forwarder(self.outbox, lambda: _open_mes(opts.mes_url),
                                       on_event=lambda message: log("mes", message))
            self.forwarder.start()
            self.slot = ModelSlot(_production(opts.workspace), _loader(opts.workspace, opts.device), log,
                                  poll_s=opts.poll_s)
            self.slot.start()
            self.keeper = SampleKeeper(opts.workspace, log) if opts.config.keep_samples else None
            if self.keeper is not None:
                self.keeper.start()
            self.service = EdgeService(opts.config, self.slot, self.plc, self.outbox, log, self.keeper,
                                       notify=self.forwarder.notify)
            self.server = EdgeServer(self.service, opts.host, opts.port, opts.key, opts.limits, log)
        except BaseException:
            self.stop()
            raise
        self.server.start()
        return self

    @property
    def address(self) -> tuple[str, int]:
        """Where the service listens."""
        return self.server.host, self.server.port

    def stop(self, drain_s: float = 10.0) -> bool:
        """Stop taking parts, keep what is queued, deliver the outbox; True when it drained."""
        drained = True
        for name in ("server", "keeper", "slot"):
            part = getattr(self, name, None)
            if part is not None:
                part.stop()
        forwarder = getattr(self, "forwarder", None)
        if forwarder is not None:
            drained = forwarder.wait_drained(drain_s)
            forwarder.stop(5.0)
            self.delivered, self.left_in_outbox = forwarder.delivered, forwarder.pending_count
        for name in ("outbox", "plc"):
            part = getattr(self, name, None)
            if part is not None and hasattr(part, "close"):
                part.close()
        self.events.close()
        return drained


def start_edge(options: EdgeOptions, listener: Callable[[Event], None] | None = None) -> Edge:
    """Start an edge service (see :class:`Edge`)."""
    return Edge(options, listener).start()


def default_mes_url(workspace: Path) -> str:
    """The embedded MES: a SQLite file in the workspace."""
    return f"sqlite:///{(workspace / CONNECT_DIR / 'mes.db').resolve()}"


def _plc(url: str, regmap: RegisterMap):  # noqa: ANN202  (PlcLink)
    if url == "memory://":
        return MemoryLink(regmap)
    if url.startswith("modbus://"):
        from inspkit.connect.modbus import ModbusLink

        return ModbusLink.from_url(url, regmap)
    raise InputError(f"--plc {url!r} is not a PLC address; give modbus://HOST:PORT (or memory:// to run without a PLC)")


def _open_mes(url: str):  # noqa: ANN202  (MesSink)
    from inspkit.connect.mes import open_mes

    return open_mes(url)


def _production(workspace: Path) -> Callable[[], str | None]:
    from inspkit.models.store import ModelStore

    store = ModelStore(workspace / "models")
    return store.production


def _loader(workspace: Path, device: str) -> Callable[[str], object]:
    def load(version: str) -> object:
        from inspkit.models.inferencer import Inferencer

        return Inferencer.load(workspace / "models", version, device)

    return load
