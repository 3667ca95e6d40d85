"""The MES sink: one record per inspected part (paper 3.2.1, Appendix A.1).

:class:`SqliteMes` is the embedded MES database, :class:`PostgresMes` a
PostgreSQL one; :func:`open_mes` opens either from a URL. The key (line,
station, serial) makes a replayed record a no-op, so a store-and-forward
outbox may deliver a record twice without a second row.
"""

from __future__ import annotations

import enum
import re
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NamedTuple, Protocol

from inspkit.errors import ConnectError


class MesRecord(NamedTuple):
    """What the MES keeps about one part (a named tuple: the line makes one per part,
    and it goes to the database as it is).

    Attributes:
        line: Line id.
        station: Station id.
        serial: Part serial number.
        shot_s: When the part was shot, seconds from the run's start.
        decided_s: When the final verdict reached the PLC, seconds from the run's start.
        vision_verdict: The vision station's verdict ("OK"/"NG"; None if it gave none).
        model_verdict: The model's verdict (None if it did not inspect the part).
        p_ok: The model's p(OK) (None without a model verdict).
        final_verdict: The verdict the PLC acted on.
        decided_by: "model" or "vision".
        disposition: "next" (next process) or "ng-buffer" (scrap / repair).
        model_version: The model version that answered.
        truth: Ground truth "OK"/"NG" where known (the simulator), else None.
        defect_type: Ground-truth defect type where known.
    """

    line: str
    station: str
    serial: int
    shot_s: float
    decided_s: float
    vision_verdict: str | None
    model_verdict: str | None
    p_ok: float | None
    final_verdict: str
    decided_by: str
    disposition: str
    model_version: str | None
    truth: str | None = None
    defect_type: str | None = None


COLUMNS = MesRecord._fields
_TYPES = {"serial": "INTEGER", "shot_s": "REAL", "decided_s": "REAL", "p_ok": "REAL"}
_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS inspections ("
    + ", ".join(f"{c} {_TYPES.get(c, 'TEXT')}" for c in COLUMNS)
    + ", PRIMARY KEY (line, station, serial)) WITHOUT ROWID"  # one B-tree: the key is the table
)
_PG_TYPES = {"serial": "BIGINT", "shot_s": "DOUBLE PRECISION", "decided_s": "DOUBLE PRECISION",
             "p_ok": "DOUBLE PRECISION"}
_PG_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS inspections ("
    + ", ".join(f"{c} {_PG_TYPES.get(c, 'TEXT')}" for c in COLUMNS)
    + ", PRIMARY KEY (line, station, serial))"
)
_SELECT = f"SELECT {', '.join(COLUMNS)} FROM inspections"
_ORDER = " ORDER BY decided_s, serial"
_URL_HELP = ("expected sqlite:///relative/path.db, sqlite:////absolute/path.db"
             " or postgresql://user:password@host:port/database")


class MesError(ConnectError):
    """The MES cannot be opened or written: a bad URL, an unreachable server, a refused login."""


class MesSink(Protocol):
    """Where part records go."""

    def record_many(self, records: Iterable[MesRecord]) -> int:
        """Store records in one transaction; returns how many were new."""

    def close(self) -> None:
        """Release the connection."""


class MesStore(MesSink, Protocol):
    """An MES that can also be read back (both sinks here; what :func:`open_mes` returns)."""

    def count(self) -> int:
        """Records stored."""

    def records(self, line: str | None = None) -> list[MesRecord]:
        """Stored records (of one line, or all), ordered by decision time, then serial."""


class SqliteMes:
    """An MES table in a SQLite file (created if missing).

    The connection may be used from a thread other than the one that opened it,
    by one thread at a time.
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        # check_same_thread=False: a forwarder thread may own a sink opened elsewhere.
        self._conn = sqlite3.connect(self.path, check_same_thread=False)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute(_SCHEMA)
        self._conn.commit()
        marks = ", ".join("?" * len(COLUMNS))
        self._insert = f"INSERT OR IGNORE INTO inspections ({', '.join(COLUMNS)}) VALUES ({marks})"

    def record_many(self, records: Iterable[MesRecord]) -> int:
        """Insert records in one transaction; replays of known keys are ignored."""
        with self._conn:
            before = self._conn.total_changes
            # Plain tuples take sqlite3's fast binding path; a NamedTuple is bound more slowly.
            self._conn.executemany(self._insert, map(tuple, records))
            return self._conn.total_changes - before

    def count(self) -> int:
        """Records stored."""
        return int(self._conn.execute("SELECT COUNT(*) FROM inspections").fetchone()[0])

    def records(self, line: str | None = None) -> list[MesRecord]:
        """Stored records (of one line, or all), ordered by decision time, then serial."""
        if line is None:
            rows = self._conn.execute(_SELECT + _ORDER).fetchall()
        else:
            rows = self._conn.execute(_SELECT + " WHERE line = ?" + _ORDER, (line,)).fetchall()
        return [MesRecord(*row) for row in rows]

    def close(self) -> None:
        """Close the database."""
        self._conn.close()


class PostgresMes:
    """An MES table in a PostgreSQL database (created if missing).

    Every call is bounded: connecting by ``connect_timeout_s``, a silent network
    by TCP keep-alives and a user timeout, a statement by a server-side timeout.
    A failure raises :class:`MesError`; the connection is then best dropped and
    reopened. Calls may come from any thread; they are serialised.

    Args:
        url: ``postgresql://user:password@host:port/database`` (or ``postgres://``).
        connect_timeout_s: How long to wait for the server to answer a connection.
    """

    def __init__(self, url: str, connect_timeout_s: int = 5) -> None:
        import psycopg

        self.url = redact_url(url)
        params = _pg_params(url, connect_timeout_s)
        self._secret_url = url  # only to hide the password in messages
        self._password = params.get("password")
        self._lock = threading.Lock()
        try:
            self._conn = psycopg.connect(**params, autocommit=True)
        except psycopg.Error as exc:
            raise MesError(self._message("cannot connect to the MES", exc)
                           + "; check that the server runs, the URL and the credentials") from exc
        with self._calling("cannot create the MES table"):
            self._conn.execute(_PG_SCHEMA)
        marks = ", ".join(["%s"] * len(COLUMNS))
        self._insert = (f"INSERT INTO inspections ({', '.join(COLUMNS)}) VALUES ({marks})"
                        " ON CONFLICT DO NOTHING")

    def record_many(self, records: Iterable[MesRecord]) -> int:
        """Insert records in one transaction; replays of known keys are ignored."""
        rows = [_plain(r) for r in records]
        if not rows:
            return 0
        with (self._calling("cannot write to the MES"), self._conn.transaction(),
              self._conn.cursor() as cur):
            cur.executemany(self._insert, rows)
            return max(cur.rowcount, 0)  # summed over the batch: only rows really inserted

    def count(self) -> int:
        """Records stored."""
        with self._calling("cannot read the MES"):
            row = self._conn.execute("SELECT COUNT(*) FROM inspections").fetchone()
        return int(row[0]) if row else 0

    def records(self, line: str | None = None) -> list[MesRecord]:
        """Stored records (of one line, or all), ordered by decision time, then serial."""
        with self._calling("cannot read the MES"):
            if line is None:
                rows = self._conn.execute(_SELECT + _ORDER).fetchall()
            else:
                rows = self._conn.execute(_SELECT + " WHERE line = %s" + _ORDER, (line,)).fetchall()
        return [MesRecord(*row) for row in rows]

    def close(self) -> None:
        """Close the connection (a second call does nothing)."""
        with self._lock:
            self._conn.close()

    @contextmanager
    def _calling(self, what: str) -> Iterator[None]:
        import psycopg

        with self._lock:
            try:
                yield
            except psycopg.Error as exc:
                raise MesError(self._message(what, exc)) from exc

    def _message(self, what: str, exc: Exception) -> str:
        detail = _scrub(str(exc), self._secret_url).removeprefix("connection failed: ")
        if self._password:  # as libpq decoded it (percent-escapes resolved)
            detail = detail.replace(self._password, "***")
        return f"{what} at {self.url}: {detail}"


def open_mes(url: str, connect_timeout_s: int = 5) -> MesStore:
    """Open the MES a URL names.

    Args:
        url: ``sqlite:///relative/path.db``, ``sqlite:////absolute/path.db``, or
            ``postgresql://user:password@host:port/database`` (``postgres://`` too).
        connect_timeout_s: For a server: how long to wait for it to answer.

    Returns:
        A :class:`SqliteMes` or a :class:`PostgresMes`.

    Raises:
        MesError: The URL is malformed, or the MES cannot be opened or reached.
    """
    scheme, sep, rest = url.partition("://")
    if sep and scheme.lower() == "sqlite":
        return _open_sqlite(url, rest)
    if sep and scheme.lower() in ("postgresql", "postgres"):
        return PostgresMes(url, connect_timeout_s)
    raise MesError(f"the MES URL {redact_url(url)!r} has an unknown scheme; {_URL_HELP}")


def check_mes_url(url: str) -> None:
    """Check a MES URL's form without connecting (a server that is down is not an error here).

    Raises:
        MesError: unknown scheme, no file, malformed or without a database.
    """
    scheme, sep, rest = url.partition("://")
    if sep and scheme.lower() == "sqlite":
        if not rest.startswith("/") or rest == "/":
            raise MesError(f"the MES URL {url!r} names no file; {_URL_HELP}")
        return
    if sep and scheme.lower() in ("postgresql", "postgres"):
        _pg_params(url, 5)
        return
    raise MesError(f"the MES URL {redact_url(url)!r} has an unknown scheme; {_URL_HELP}")


_PASSWORDS = (re.compile(r"(://[^:/@?#]*:)([^@/?#]*)@"), re.compile(r"([?&]password=)([^&#]*)"))


def redact_url(url: str) -> str:
    """``url`` with the password (if any) replaced by ``***``."""
    for pattern in _PASSWORDS:
        url = pattern.sub(r"\1***" + ("@" if pattern is _PASSWORDS[0] else ""), url)
    return url


def _scrub(text: str, url: str) -> str:
    """``text`` (a driver's message) on one line, with any password found in ``url`` hidden."""
    text = " ".join(text.split())
    for pattern in _PASSWORDS:
        for match in pattern.finditer(url):
            secret = match.group(2)
            for form in {secret, secret.strip(), " ".join(secret.split())} - {""}:
                text = text.replace(form, "***")
    return text


def _open_sqlite(url: str, rest: str) -> SqliteMes:
    if not rest.startswith("/") or rest == "/":
        raise MesError(f"the MES URL {url!r} names no file; {_URL_HELP}")
    path = Path(rest[1:])  # sqlite:///a.db → a.db, sqlite:////abs/a.db → /abs/a.db
    try:
        return SqliteMes(path)
    except sqlite3.Error as exc:
        raise MesError(f"cannot open the SQLite MES {str(path)!r}: {exc}; "
                       "check that its folder exists and is writable") from exc


def _pg_params(url: str, connect_timeout_s: int) -> dict[str, Any]:
    """libpq parameters from ``url``, with timeouts added where the URL sets none."""
    from psycopg import ProgrammingError
    from psycopg.conninfo import conninfo_to_dict

    shown = redact_url(url)
    try:
        params: dict[str, Any] = conninfo_to_dict(url)
    except ProgrammingError as exc:
        raise MesError(f"the MES URL {shown!r} is malformed ({_scrub(str(exc), url)}); "
                       f"{_URL_HELP}") from None  # libpq's message may quote the password
    if not params.get("dbname"):
        raise MesError(f"the MES URL {shown!r} names no database; {_URL_HELP}")
    if not re.fullmatch(r"\d+(,\d+)*", str(params.get("port", "5432"))):
        raise MesError(f"the MES URL {shown!r} has a port that is not a number; {_URL_HELP}")
    defaults = {
        "connect_timeout": max(2, int(connect_timeout_s)),  # libpq waits at least 2 s
        "keepalives": 1, "keepalives_idle": 5, "keepalives_interval": 2, "keepalives_count": 3,
        "tcp_user_timeout": 10_000,  # ms: a write to a silent peer fails instead of hanging
    }
    for key, value in defaults.items():
        params.setdefault(key, value)
    options = str(params.get("options", ""))
    if "statement_timeout" not in options:  # ms: a blocked statement fails too
        params["options"] = f"{options} -c statement_timeout=30000".strip()
    return params


def _plain(record: MesRecord) -> tuple[Any, ...]:
    """The record's values with enums as their values (psycopg would dump an enum's name)."""
    return tuple(v.value if isinstance(v, enum.Enum) else v for v in record)
