"""The edge service's event log: one JSON line per event that a person may need to see.

Fail-safe verdicts, PLC and MES outages, model swaps and refused frames are
logged here; the CLI also shows them as they happen.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Event:
    """Something that happened at the edge.

    Attributes:
        kind: A short name: ``fail-safe``, ``plc``, ``mes``, ``model``, ``frame``, ``storage``, ``service``.
        message: One line for a person.
        at_unix_s: When it happened.
        serial: The part it concerns, if any.
    """

    kind: str
    message: str
    at_unix_s: float
    serial: int | None = None


class EventLog:
    """Appends events to a JSON-lines file and passes them to an optional listener.

    Args:
        path: The log file (appended to; created with its folder). ``None`` keeps no file.
        listener: Called with each event (the CLI prints it). Must not raise.
    """

    def __init__(self, path: Path | None = None, listener: Callable[[Event], None] | None = None) -> None:
        self.path = path
        self.listener = listener
        self._lock = threading.Lock()
        self._file = None
        self.counts: dict[str, int] = {}
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._file = path.open("a", encoding="utf-8", buffering=1)  # line-buffered: a crash keeps whole lines

    def __call__(self, kind: str, message: str, serial: int | None = None) -> None:
        """Log one event."""
        event = Event(kind, message, time.time(), serial)
        with self._lock:
            self.counts[kind] = self.counts.get(kind, 0) + 1
            if self._file is not None:
                self._file.write(json.dumps(_plain(asdict(event))) + "\n")
        if self.listener is not None:
            self.listener(event)

    def close(self) -> None:
        """Close the file."""
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None


def _plain(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if v is not None}


def read_events(path: Path) -> list[Event]:
    """The events in a log file, oldest first (a torn last line is skipped)."""
    events = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            data = json.loads(line)
            events.append(Event(data["kind"], data["message"], data["at_unix_s"], data.get("serial")))
        except (ValueError, KeyError, TypeError):
            continue
    return events
