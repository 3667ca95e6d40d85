"""The MES sink: one record per inspected part (paper 3.2.1, Appendix A.1).

:class:`SqliteMes` is the embedded MES database. The key (line, station,
serial) makes a replayed record a no-op.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from pathlib import Path
from typing import NamedTuple, Protocol


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


class MesSink(Protocol):
    """Where part records go."""

    def record_many(self, records: Iterable[MesRecord]) -> int:
        """Store records in one transaction; returns how many were new."""

    def close(self) -> None:
        """Release the connection."""


class SqliteMes:
    """An MES table in a SQLite file (created if missing)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._conn = sqlite3.connect(self.path)
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

    def close(self) -> None:
        """Close the database."""
        self._conn.close()
