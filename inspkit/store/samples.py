"""The sample records in ``samples.db`` (SQLite, WAL, ``synchronous=FULL``).

One row per image: where it came from, how it is labelled, which split it is
in, which sample it was derived from (crops, augmentations) and, for synthetic
data, the ground truth. Writes go in one transaction per batch.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from inspkit.types import Box, Roi

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS samples (
    id INTEGER PRIMARY KEY,
    content_hash TEXT NOT NULL UNIQUE,
    image_path TEXT NOT NULL,
    width INTEGER NOT NULL,
    height INTEGER NOT NULL,
    source TEXT NOT NULL,
    line TEXT, station TEXT, part_serial TEXT, captured_at TEXT,
    label TEXT, defect_type TEXT, boxes TEXT, roi TEXT,
    split TEXT CHECK (split IN ('train', 'val', 'test')),
    parent_id INTEGER REFERENCES samples(id),
    derivation TEXT,
    truth_label TEXT, truth_defect_type TEXT, truth_boxes TEXT,
    truth_roi TEXT, truth_mask_path TEXT,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE INDEX IF NOT EXISTS samples_parent ON samples(parent_id);
CREATE INDEX IF NOT EXISTS samples_label ON samples(label);
"""


@dataclass(frozen=True)
class Truth:
    """Ground truth, known for synthetic samples.

    Attributes:
        label: "OK"/"NG", or the class name for multiclass products.
        defect_type: The defect type for NG, else ``None``.
        boxes: Defect boxes in this sample's pixel coordinates.
        roi: Where the product is in this sample.
        mask_path: Workspace-relative path of the defect mask PNG, if any.
    """

    label: str
    defect_type: str | None = None
    boxes: tuple[Box, ...] = ()
    roi: Roi | None = None
    mask_path: str | None = None


@dataclass(frozen=True)
class Sample:
    """One stored image and everything known about it.

    Attributes:
        content_hash: SHA-256 of the image file bytes (its identity).
        image_path: Workspace-relative path of the image file.
        width: Image width in pixels. height: Image height in pixels.
        source: Where it came from: ``folder:<path>``, ``sim:<product>``,
            ``crop``, ``augment``.
        line, station, part_serial, captured_at: Line metadata (ISO 8601 UTC).
        label: "OK"/"NG" (or the class, multiclass), ``None`` if unlabelled.
        defect_type: Defect type when NG.
        boxes: Labelled defect boxes (detector data).
        roi: Product ROI in this image, when known.
        split: train / val / test, or ``None`` before splitting.
        parent_id: The sample this one was derived from.
        derivation: JSON-able record of how it was derived (op and parameters).
        truth: Ground truth, for synthetic samples.
        id: Database id; ``None`` before insertion.
        created_at: When the record was written (set by the database).
    """

    content_hash: str
    image_path: str
    width: int
    height: int
    source: str
    line: str | None = None
    station: str | None = None
    part_serial: str | None = None
    captured_at: str | None = None
    label: str | None = None
    defect_type: str | None = None
    boxes: tuple[Box, ...] = ()
    roi: Roi | None = None
    split: str | None = None
    parent_id: int | None = None
    derivation: dict[str, Any] | None = field(default=None, compare=False)
    truth: Truth | None = None
    id: int | None = None
    created_at: str | None = None


@dataclass(frozen=True)
class LabelUpdate:
    """A new label for one sample (and, through derivation, its descendants)."""

    sample_id: int
    label: str
    defect_type: str | None = None
    boxes: tuple[Box, ...] = ()


_COLUMNS = (
    "content_hash", "image_path", "width", "height", "source", "line", "station",
    "part_serial", "captured_at", "label", "defect_type", "boxes", "roi", "split",
    "parent_id", "derivation", "truth_label", "truth_defect_type", "truth_boxes",
    "truth_roi", "truth_mask_path",
)


def connect(path: Path) -> sqlite3.Connection:
    """Open ``samples.db`` with the durability settings every writer needs."""
    conn = sqlite3.connect(path, timeout=30.0, isolation_level=None)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA foreign_keys=ON")
    return conn


def create_schema(conn: sqlite3.Connection) -> None:
    """Create the tables (idempotent) and stamp the schema version."""
    conn.executescript(_SCHEMA)
    conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")


class SampleStore:
    """Reads and batch-writes sample records.

    Args:
        conn: A connection from :func:`connect`.
    """

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def insert_many(self, samples: Sequence[Sample]) -> list[int]:
        """Insert samples in one transaction; returns their ids in order."""
        ids: list[int] = []
        with self.transaction():
            for sample in samples:
                cur = self.conn.execute(
                    f"INSERT INTO samples ({', '.join(_COLUMNS)}) "
                    f"VALUES ({', '.join('?' * len(_COLUMNS))})",
                    _to_row(sample),
                )
                ids.append(int(cur.lastrowid))
        return ids

    def transaction(self) -> _Transaction:
        """Context manager: ``BEGIN IMMEDIATE`` … ``COMMIT`` (``ROLLBACK`` on error)."""
        return transaction(self.conn)

    def known_hashes(self, hashes: Iterable[str]) -> set[str]:
        """The subset of ``hashes`` already stored."""
        wanted = list(dict.fromkeys(hashes))
        found: set[str] = set()
        for start in range(0, len(wanted), 500):
            chunk = wanted[start:start + 500]
            rows = self.conn.execute(
                f"SELECT content_hash FROM samples WHERE content_hash IN ({','.join('?' * len(chunk))})",
                chunk,
            )
            found.update(r[0] for r in rows)
        return found

    def get(self, sample_id: int) -> Sample | None:
        """One sample by id."""
        row = self.conn.execute("SELECT * FROM samples WHERE id = ?", (sample_id,)).fetchone()
        return _from_row(row) if row else None

    def by_hash(self, content_hash: str) -> Sample | None:
        """One sample by content hash."""
        row = self.conn.execute(
            "SELECT * FROM samples WHERE content_hash = ?", (content_hash,)
        ).fetchone()
        return _from_row(row) if row else None

    def select(self, where: str = "1", params: Sequence[Any] = ()) -> Iterator[Sample]:
        """Samples matching an SQL condition, in id order."""
        rows = self.conn.execute(f"SELECT * FROM samples WHERE {where} ORDER BY id", params)
        for row in rows.fetchall():
            yield _from_row(row)

    def children(self, sample_id: int) -> list[Sample]:
        """Samples derived directly from ``sample_id``."""
        return list(self.select("parent_id = ?", (sample_id,)))

    def count_by(self, column: str) -> dict[str | None, int]:
        """Sample counts grouped by one column (label, defect_type, split, source…)."""
        if column not in _COLUMNS:
            raise ValueError(f"unknown column {column!r}")
        rows = self.conn.execute(f"SELECT {column}, COUNT(*) FROM samples GROUP BY {column}")
        return {r[0]: r[1] for r in rows}

    def count(self) -> int:
        """Number of samples."""
        return int(self.conn.execute("SELECT COUNT(*) FROM samples").fetchone()[0])

    def referenced_paths(self) -> set[str]:
        """Every workspace-relative file path a record points to."""
        rows = self.conn.execute(
            "SELECT image_path FROM samples UNION "
            "SELECT truth_mask_path FROM samples WHERE truth_mask_path IS NOT NULL"
        )
        return {r[0] for r in rows}

    def update_labels(self, rows: Sequence[tuple[int, str, str | None, tuple[Box, ...]]]) -> None:
        """Write ``(id, label, defect_type, boxes)`` rows; the caller holds the transaction."""
        self.conn.executemany(
            "UPDATE samples SET label = ?, defect_type = ?, boxes = ? WHERE id = ?",
            [(label, dtype, _boxes_json(boxes), sid) for sid, label, dtype, boxes in rows],
        )


class _Transaction:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def __enter__(self) -> sqlite3.Connection:
        self.conn.execute("BEGIN IMMEDIATE")
        return self.conn

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        self.conn.execute("COMMIT" if exc_type is None else "ROLLBACK")


def transaction(conn: sqlite3.Connection) -> _Transaction:
    """Context manager for one write transaction on ``samples.db``: ``BEGIN IMMEDIATE`` … ``COMMIT``/``ROLLBACK``."""
    return _Transaction(conn)


def with_truth_label(sample: Sample) -> Sample:
    """The sample labelled with its own ground truth (synthetic data)."""
    if sample.truth is None:
        return sample
    t = sample.truth
    return replace(sample, label=t.label, defect_type=t.defect_type, boxes=t.boxes)


def _boxes_json(boxes: Sequence[Box]) -> str | None:
    return json.dumps([b.to_dict() for b in boxes]) if boxes else None


def _roi_json(roi: Roi | None) -> str | None:
    return json.dumps(roi.to_dict()) if roi else None


def _to_row(s: Sample) -> tuple[Any, ...]:
    t = s.truth
    return (
        s.content_hash, s.image_path, s.width, s.height, s.source, s.line, s.station,
        s.part_serial, s.captured_at, s.label, s.defect_type, _boxes_json(s.boxes),
        _roi_json(s.roi), s.split, s.parent_id,
        json.dumps(s.derivation) if s.derivation else None,
        t.label if t else None, t.defect_type if t else None,
        _boxes_json(t.boxes) if t else None, _roi_json(t.roi) if t else None,
        t.mask_path if t else None,
    )


def _boxes(text: str | None) -> tuple[Box, ...]:
    return tuple(Box.from_dict(d) for d in json.loads(text)) if text else ()


def _roi(text: str | None) -> Roi | None:
    return Roi.from_dict(json.loads(text)) if text else None


def _from_row(row: sqlite3.Row) -> Sample:
    truth = None
    if row["truth_label"] is not None:
        truth = Truth(
            row["truth_label"], row["truth_defect_type"], _boxes(row["truth_boxes"]),
            _roi(row["truth_roi"]), row["truth_mask_path"],
        )
    return Sample(
        content_hash=row["content_hash"], image_path=row["image_path"],
        width=row["width"], height=row["height"], source=row["source"],
        line=row["line"], station=row["station"], part_serial=row["part_serial"],
        captured_at=row["captured_at"], label=row["label"], defect_type=row["defect_type"],
        boxes=_boxes(row["boxes"]), roi=_roi(row["roi"]), split=row["split"],
        parent_id=row["parent_id"],
        derivation=json.loads(row["derivation"]) if row["derivation"] else None,
        truth=truth, id=row["id"], created_at=row["created_at"],
    )
