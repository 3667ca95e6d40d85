"""Predictions, review decisions and updates, kept in the workspace's ``samples.db``.

A part the model inspected gets one prediction row (p(OK), the verdict, the
version, when). The system manager reviews the unreliable ones (Eq. 5) in two
stages (paper Fig. 9): is the prediction right? (wrong ones are D_f, with the
corrected label, Eq. 6); if right, does the Grad-CAM look at the right place?
("Training FAIL" ones are D_g, Eq. 7). Every decision is a new row, so
reviewing again keeps the history; the last row of a sample counts. Updates
record which failed samples they used: a promoted fine-tune consumes its
D̄(t), a promoted re-train merges ∪ D̄(t) into D (Eq. 12).
"""

from __future__ import annotations

import enum
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone

from inspkit.errors import InputError
from inspkit.maintain.uncertain import check_alpha
from inspkit.store.samples import transaction

_SCHEMA = """
CREATE TABLE IF NOT EXISTS predictions (
    sample_id INTEGER PRIMARY KEY REFERENCES samples(id),
    model_version TEXT NOT NULL,
    p_ok REAL NOT NULL,
    predicted TEXT NOT NULL CHECK (predicted IN ('OK', 'NG')),
    inspected_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS reviews (
    id INTEGER PRIMARY KEY,
    sample_id INTEGER NOT NULL REFERENCES predictions(sample_id),
    correct INTEGER NOT NULL CHECK (correct IN (0, 1)),
    label TEXT NOT NULL CHECK (label IN ('OK', 'NG')),
    attention TEXT CHECK (attention IN ('well-trained', 'training-fail')),
    reviewer TEXT NOT NULL DEFAULT '',
    source TEXT NOT NULL,
    reviewed_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS reviews_sample ON reviews(sample_id, id);
CREATE TABLE IF NOT EXISTS updates (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('finetune', 'retrain')),
    version TEXT NOT NULL,
    parent TEXT NOT NULL,
    promoted INTEGER NOT NULL,
    reason TEXT NOT NULL,
    samples INTEGER NOT NULL,
    fsr REAL NOT NULL,
    cpu_s REAL NOT NULL,
    at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS update_samples (
    update_id INTEGER NOT NULL REFERENCES updates(id),
    sample_id INTEGER NOT NULL REFERENCES predictions(sample_id),
    PRIMARY KEY (update_id, sample_id)
);
"""

# The last review row of every sample.
_LATEST = "SELECT r.* FROM reviews r WHERE r.id = (SELECT MAX(id) FROM reviews WHERE sample_id = r.sample_id)"
# Predictions with their last decision and how many decisions there were.
_STATES = (
    f"SELECT p.*, l.correct, l.label AS reviewed_label, l.attention, "
    f"(SELECT COUNT(*) FROM reviews WHERE sample_id = p.sample_id) AS n "
    f"FROM predictions p LEFT JOIN ({_LATEST}) l ON l.sample_id = p.sample_id"
)


class Attention(str, enum.Enum):
    """Stage 2: did the Grad-CAM look at the right place (G(x), Eq. 7)?"""

    WELL_TRAINED = "well-trained"
    TRAINING_FAIL = "training-fail"


@dataclass(frozen=True)
class Prediction:
    """What the model said about an inspected sample."""

    sample_id: int
    model_version: str
    p_ok: float
    predicted: str
    inspected_at: str


@dataclass(frozen=True)
class Decision:
    """One review decision.

    Attributes:
        sample_id: The sample reviewed.
        correct: Stage 1: the prediction is right.
        attention: Stage 2 (only when right); ``None`` while it is still open.
        label: The true label; ``None`` derives it (right: the prediction, wrong: the other one).
        reviewer: Who decided (free text).
    """

    sample_id: int
    correct: bool
    attention: Attention | None = None
    label: str | None = None
    reviewer: str = ""


@dataclass(frozen=True)
class ReviewState:
    """A sample in the review queue with its last decision, if any."""

    prediction: Prediction
    correct: bool | None = None
    label: str | None = None
    attention: Attention | None = None
    reviews: int = 0

    @property
    def done(self) -> bool:
        """Both stages answered (a wrong prediction has no stage 2)."""
        return self.correct is False or (self.correct is True and self.attention is not None)

    @property
    def failed(self) -> bool:
        """In D̄ = D_f ∪ D_g."""
        return self.correct is False or self.attention is Attention.TRAINING_FAIL


@dataclass(frozen=True)
class FailedSample:
    """A failed sample with the label it should have."""

    sample_id: int
    label: str
    inspected_at: str


def now_iso() -> str:
    """The time now, ISO 8601 UTC."""
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


class ReviewStore:
    """The review tables of one workspace (created on first use).

    Args:
        conn: The workspace's ``samples.db`` connection.
    """

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        conn.executescript(_SCHEMA)

    def add_predictions(self, predictions: Sequence[Prediction]) -> int:
        """Record predictions (a sample keeps its first); returns how many were new."""
        before = self._count("predictions")
        with transaction(self.conn):
            self.conn.executemany(
                "INSERT OR IGNORE INTO predictions VALUES (?, ?, ?, ?, ?)",
                [(p.sample_id, p.model_version, p.p_ok, p.predicted, p.inspected_at) for p in predictions],
            )
        return self._count("predictions") - before

    def predicted_ids(self) -> set[int]:
        """Samples that already have a prediction."""
        return {r[0] for r in self.conn.execute("SELECT sample_id FROM predictions")}

    def prediction(self, sample_id: int) -> Prediction | None:
        """One sample's prediction."""
        row = self.conn.execute("SELECT * FROM predictions WHERE sample_id = ?", (sample_id,)).fetchone()
        return _prediction(row) if row else None

    def queue(self, alpha: float) -> list[ReviewState]:
        """Unreliable predictions (|p − 0.5| ≤ α, Eq. 5) with their last decision, oldest first.

        Raises:
            InputError: α outside 0..0.5.
        """
        try:
            check_alpha(alpha)
        except ValueError as exc:
            raise InputError(str(exc)) from None
        rows = self.conn.execute(
            f"{_STATES} WHERE ABS(p.p_ok - 0.5) <= ? ORDER BY p.inspected_at, p.sample_id", (alpha + 1e-12,))
        return [_state(row) for row in rows]

    def state(self, sample_id: int) -> ReviewState:
        """One sample's review state.

        Raises:
            InputError: the sample was never inspected (no prediction).
        """
        row = self.conn.execute(f"{_STATES} WHERE p.sample_id = ?", (sample_id,)).fetchone()
        if row is None:
            raise InputError(f"sample {sample_id} is not in the review queue (no prediction recorded for it); "
                             "run 'inspkit review' to list the samples to review")
        return _state(row)

    def record(self, decisions: Iterable[Decision], source: str) -> int:
        """Store decisions in one transaction (all or none); returns how many.

        Raises:
            InputError: an unknown sample, a label that is not OK/NG, or a
                stage-2 answer on a prediction called wrong.
        """
        rows = [self._row(d, source) for d in decisions]
        with transaction(self.conn):
            self.conn.executemany(
                "INSERT INTO reviews (sample_id, correct, label, attention, reviewer, source, reviewed_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
        return len(rows)

    def history(self, sample_id: int) -> list[dict[str, object]]:
        """Every decision on a sample, oldest first."""
        rows = self.conn.execute("SELECT * FROM reviews WHERE sample_id = ? ORDER BY id", (sample_id,))
        return [dict(r) for r in rows]

    def failed(self) -> list[FailedSample]:
        """Every failed sample (D_f ∪ D_g by the last decision), oldest inspection first."""
        rows = self.conn.execute(
            f"SELECT l.sample_id, l.label, p.inspected_at FROM ({_LATEST}) l "
            f"JOIN predictions p ON p.sample_id = l.sample_id "
            f"WHERE l.correct = 0 OR l.attention = 'training-fail' ORDER BY p.inspected_at, l.sample_id"
        )
        return [FailedSample(r[0], r[1], r[2]) for r in rows]

    def used(self, kind: str) -> set[int]:
        """Samples a promoted update of ``kind`` (finetune / retrain) learned from."""
        rows = self.conn.execute(
            "SELECT s.sample_id FROM update_samples s JOIN updates u ON u.id = s.update_id "
            "WHERE u.promoted = 1 AND u.kind = ?", (kind,))
        return {r[0] for r in rows}

    def add_update(self, kind: str, version: str, parent: str, promoted: bool, reason: str,
                   sample_ids: Sequence[int], fsr: float, cpu_s: float) -> int:
        """Record an update and the samples it learned from, in one transaction."""
        with transaction(self.conn):
            cur = self.conn.execute(
                "INSERT INTO updates (kind, version, parent, promoted, reason, samples, fsr, cpu_s, at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (kind, version, parent, int(promoted), reason, len(sample_ids), fsr, cpu_s, now_iso()))
            self.conn.executemany("INSERT INTO update_samples VALUES (?, ?)",
                                  [(cur.lastrowid, sid) for sid in sample_ids])
        return int(cur.lastrowid)

    def updates(self) -> list[dict[str, object]]:
        """Every update, oldest first."""
        return [dict(r) for r in self.conn.execute("SELECT * FROM updates ORDER BY id")]

    def _row(self, d: Decision, source: str) -> tuple[object, ...]:
        pred = self.state(d.sample_id).prediction
        if d.attention is not None and not d.correct:
            raise InputError(f"sample {d.sample_id}: stage 2 (Grad-CAM) is only asked for a right prediction")
        label = d.label or (pred.predicted if d.correct else _other(pred.predicted))
        if label not in ("OK", "NG"):
            raise InputError(f"sample {d.sample_id}: label {label!r} is not OK or NG")
        if d.correct != (label == pred.predicted):
            said = "right" if d.correct else "wrong"
            raise InputError(f"sample {d.sample_id}: called {said} but labelled {label}, "
                             f"while the model said {pred.predicted}")
        attention = d.attention.value if d.attention else None
        return (d.sample_id, int(d.correct), label, attention, d.reviewer, source, now_iso())

    def _count(self, table: str) -> int:
        return int(self.conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])


def _other(label: str) -> str:
    return "OK" if label == "NG" else "NG"


def _prediction(row: sqlite3.Row) -> Prediction:
    return Prediction(row["sample_id"], row["model_version"], row["p_ok"], row["predicted"], row["inspected_at"])


def _state(row: sqlite3.Row) -> ReviewState:
    correct = None if row["correct"] is None else bool(row["correct"])
    attention = Attention(row["attention"]) if row["attention"] else None
    return ReviewState(_prediction(row), correct, row["reviewed_label"], attention, int(row["n"]))
