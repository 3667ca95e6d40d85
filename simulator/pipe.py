"""A one-slot-per-item hand-off between two SimPy processes.

``simpy.Store`` costs two scheduled events per hand-off (the put and the get)
and some bookkeeping; the line hands every part on three times, so that cost
decides how many parts a second the simulator reaches. A :class:`Pipe` has
one consumer and schedules one event per hand-off, with the same ``put`` /
``get`` interface for that case.
"""

from __future__ import annotations

from collections import deque
from typing import Any

import simpy
from simpy.events import Event


class Pipe:
    """FIFO between a producer and a single consumer process."""

    __slots__ = ("env", "items", "_waiter")

    def __init__(self, env: simpy.Environment) -> None:
        self.env = env
        self.items: deque[Any] = deque()
        self._waiter: Event | None = None

    def put(self, item: Any) -> None:
        """Hand ``item`` on now (never blocks: the pipe is unbounded)."""
        waiter = self._waiter
        if waiter is not None:
            self._waiter = None
            waiter.succeed(item)
        else:
            self.items.append(item)

    def get(self) -> Event:
        """An event whose value is the next item (at once if one is waiting)."""
        event = Event(self.env)
        if self.items:
            event.succeed(self.items.popleft())
        elif self._waiter is not None:
            raise RuntimeError("a Pipe has one consumer; a second get() is waiting")
        else:
            self._waiter = event
        return event

    def __len__(self) -> int:
        return len(self.items)
