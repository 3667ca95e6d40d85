"""Store and forward: MES records are kept on the edge's disk until the MES has them.

The edge service puts each part's record into the :class:`Outbox` (a SQLite
file, committed to disk before ``put`` returns) and a :class:`Forwarder` thread
moves the records, oldest first, to the MES. Records leave the outbox only
after the MES committed them; a crash between the two replays them, and the
MES key (line, station, serial) makes the replay a no-op. So an MES outage or
a killed edge loses no result and changes no order.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from inspkit.connect.mes import COLUMNS, MesRecord, MesSink
from inspkit.errors import WorkspaceError

_TYPES = {"serial": "INTEGER", "shot_s": "REAL", "decided_s": "REAL", "p_ok": "REAL"}
_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS outbox (seq INTEGER PRIMARY KEY AUTOINCREMENT, "
    + ", ".join(f"{c} {_TYPES.get(c, 'TEXT')}" for c in COLUMNS) + ")"
)
_INSERT = f"INSERT INTO outbox ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})"
_PENDING = f"SELECT seq, {', '.join(COLUMNS)} FROM outbox ORDER BY seq LIMIT ?"


class Outbox:
    """A durable queue of MES records in a SQLite file (created if missing).

    ``put`` returns only once the record is on disk (WAL, ``synchronous=FULL``),
    so a record whose ``put`` returned survives a killed process or a power cut.
    Sequence numbers grow and are never reused (AUTOINCREMENT), so their order
    is the put order even after the outbox was emptied.

    Thread safety: one connection shared under a lock; any number of threads
    may call any method (the service's threads put, the forwarder reads and
    removes). A lock wakes a waiting put at once, where SQLite's own busy wait
    would sleep in steps of milliseconds.

    Args:
        path: The outbox file, e.g. ``<workspace>/outbox.db``.
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # isolation_level=None: a lone INSERT is its own transaction, no BEGIN round.
            self._conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=FULL")  # WAL synced at each commit
            self._conn.execute(_SCHEMA)
        except (OSError, sqlite3.Error) as exc:
            raise WorkspaceError(f"cannot open the MES outbox {str(self.path)!r}: {exc}; "
                                 "check that the workspace is writable and not damaged") from exc

    def put(self, record: MesRecord) -> int:
        """Store one record durably; returns its sequence number."""
        with self._lock:
            return int(self._conn.execute(_INSERT, tuple(record)).lastrowid or 0)

    def put_many(self, records: Iterable[MesRecord]) -> list[int]:
        """Store records durably in one transaction; returns their sequence numbers in order."""
        with self._transaction() as conn:
            return [int(conn.execute(_INSERT, tuple(r)).lastrowid or 0) for r in records]

    def pending(self, limit: int) -> list[tuple[int, MesRecord]]:
        """Up to ``limit`` stored records with their sequence numbers, oldest first."""
        with self._lock:
            rows = self._conn.execute(_PENDING, (limit,)).fetchall()
        return [(row[0], MesRecord(*row[1:])) for row in rows]

    def remove(self, seqs: Iterable[int]) -> int:
        """Delete the records with these sequence numbers; returns how many there were."""
        with self._transaction() as conn:
            before = conn.total_changes
            conn.executemany("DELETE FROM outbox WHERE seq = ?", ((s,) for s in seqs))
            return conn.total_changes - before

    def remove_upto(self, seq: int) -> int:
        """Delete every record up to and including sequence number ``seq``; returns how many."""
        with self._lock:
            return self._conn.execute("DELETE FROM outbox WHERE seq <= ?", (seq,)).rowcount

    def __len__(self) -> int:
        with self._lock:
            return int(self._conn.execute("SELECT COUNT(*) FROM outbox").fetchone()[0])

    def close(self) -> None:
        """Close the file (a second call does nothing)."""
        with self._lock:
            self._conn.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")


class Forwarder:
    """A daemon thread that moves records from an outbox to the MES, in put order.

    Each round takes the oldest ``batch`` records, stores them with one
    ``record_many`` and only then removes them from the outbox. When the MES
    fails (cannot be opened, or a write raises) the sink is closed and dropped,
    the failure is reported through ``on_event`` and the same records are tried
    again after a back-off that doubles from 0.1 s up to ``backoff_max_s``, with
    a sink reopened by ``open_sink``. Whatever is already in the outbox when the
    thread starts (left by a killed run) goes first.

    Call :meth:`notify` after a put so the record leaves at once; without it, it
    leaves within ``idle_poll_s``.

    Args:
        outbox: The records to deliver.
        open_sink: Opens the MES (e.g. ``lambda: open_mes(url)``); called in the thread.
        batch: Records per MES transaction.
        backoff_max_s: Longest wait between two attempts while the MES fails.
        on_event: Called with one line when the MES fails or comes back (from the thread).
        idle_poll_s: Longest sleep when the outbox is empty and nobody notifies.
    """

    backoff_start_s = 0.1

    def __init__(self, outbox: Outbox, open_sink: Callable[[], MesSink], batch: int = 100,
                 backoff_max_s: float = 5.0, on_event: Callable[[str], None] | None = None,
                 idle_poll_s: float = 1.0) -> None:
        self.outbox, self.open_sink, self.batch = outbox, open_sink, max(1, batch)
        self.backoff_max_s, self.idle_poll_s = backoff_max_s, idle_poll_s
        self.on_event = on_event or (lambda line: None)
        self.delivered = 0  # records the MES committed and the outbox let go
        self.last_error: str | None = None  # the MES's last failure; None once it takes records
        self._sink: MesSink | None = None
        self._wake, self._stop = threading.Event(), threading.Event()
        self._progress = threading.Condition()
        self._thread: threading.Thread | None = None
        self._down_since: float | None = None
        self._last_report = 0.0

    @property
    def pending_count(self) -> int:
        """Records still in the outbox."""
        return len(self.outbox)

    def notify(self) -> None:
        """Wake the thread: something was put."""
        self._wake.set()

    def start(self) -> None:
        """Start the thread (once)."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="mes-forwarder", daemon=True)
            self._thread.start()

    def stop(self, timeout_s: float = 5.0) -> bool:
        """Stop the thread after its current round; returns whether it ended in time.

        Undelivered records stay in the outbox for the next run. Stop the
        forwarder before closing its outbox.
        """
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
            if self._thread.is_alive():
                return False
        self._drop_sink()
        return True

    def wait_drained(self, timeout_s: float) -> bool:
        """Wait until the outbox is empty; returns whether it was within ``timeout_s``."""
        with self._progress:
            return self._progress.wait_for(lambda: len(self.outbox) == 0, timeout_s)

    def _run(self) -> None:
        delay_s = self.backoff_start_s
        while not self._stop.is_set():
            self._wake.clear()  # before reading: a put from now on wakes the next wait
            try:
                moved = self._forward_once()
            except Exception as exc:  # noqa: BLE001 - no MES or driver failure may end the thread
                self._failed(exc, delay_s)
                self._stop.wait(delay_s)
                delay_s = min(delay_s * 2, self.backoff_max_s)
                continue
            delay_s = self.backoff_start_s
            if moved == 0:
                self._wake.wait(self.idle_poll_s)

    def _forward_once(self) -> int:
        """Deliver one batch; returns how many records left the outbox."""
        batch = self.outbox.pending(self.batch)
        if batch:
            if self._sink is None:
                self._sink = self.open_sink()
            self._sink.record_many(record for _, record in batch)
            self.outbox.remove_upto(batch[-1][0])  # only after the MES committed
            self.delivered += len(batch)
            self._recovered()
        with self._progress:
            self._progress.notify_all()
        return len(batch)

    def _failed(self, exc: Exception, delay_s: float) -> None:
        self._drop_sink()
        self.last_error = " ".join(str(exc).split()) or type(exc).__name__
        now = time.monotonic()
        if self._down_since is None:
            self._down_since = now
        elif now - self._last_report < self.backoff_max_s:
            return  # one line per back-off period at most while the outage lasts
        self._last_report = now
        self._emit(f"MES unreachable: {self.last_error}; {self._waiting()} results waiting, "
                   f"retrying in {delay_s:.1f} s")

    def _recovered(self) -> None:
        if self._down_since is not None:
            outage_s = time.monotonic() - self._down_since
            self._down_since = None
            self.last_error = None
            self._emit(f"MES reachable again after {outage_s:.1f} s; "
                       f"{self._waiting()} results still waiting")

    def _emit(self, line: str) -> None:
        with suppress(Exception):  # a failing listener must not stop the deliveries
            self.on_event(line)

    def _waiting(self) -> int | str:
        try:
            return len(self.outbox)
        except sqlite3.Error:
            return "?"

    def _drop_sink(self) -> None:
        sink, self._sink = self._sink, None
        if sink is not None:
            with suppress(Exception):  # closing a broken connection may fail; it is dropped anyway
                sink.close()
