"""Reviews done elsewhere: the queue out as CSV, decisions back in.

The exported file has one row per unreliable sample with its prediction and
its last decision, if any. A reviewer fills ``correct`` (right / wrong), for
right ones ``attention`` (well-trained / training-fail) and, optionally,
``label``; rows left blank are skipped on import. An import is all or
nothing: one bad row stores no decision at all.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from pathlib import Path

from inspkit.errors import InputError
from inspkit.maintain.reviews import Attention, Decision, ReviewState, ReviewStore
from inspkit.store.atomic import atomic_write_text

COLUMNS = ("sample_id", "image_path", "model_version", "predicted", "p_ok", "inspected_at",
           "correct", "attention", "label", "reviewer")
_CORRECT = {"right": True, "wrong": False}


def export_queue(path: Path, queue: Sequence[ReviewState], image_paths: dict[int, str]) -> int:
    """Write the queue (with last decisions) to ``path`` atomically; returns the rows written."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for s in queue:
        p = s.prediction
        correct = "" if s.correct is None else ("right" if s.correct else "wrong")
        writer.writerow([p.sample_id, image_paths.get(p.sample_id, ""), p.model_version, p.predicted,
                         f"{p.p_ok:.6f}", p.inspected_at, correct,
                         s.attention.value if s.attention else "", s.label or "", ""])
    atomic_write_text(path, out.getvalue())
    return len(queue)


def import_decisions(path: Path, reviews: ReviewStore) -> int:
    """Store the filled-in rows of ``path`` as decisions; returns how many.

    Raises:
        InputError: the file is missing or not our CSV, or a row is bad
            (its line number is named); nothing is stored then.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read {path}: {exc.__class__.__name__}; give a CSV made by 'inspkit review --export'") from None
    rows = csv.DictReader(io.StringIO(text))
    missing = [c for c in ("sample_id", "correct", "attention", "label") if c not in (rows.fieldnames or ())]
    if missing:
        raise InputError(f"{path} lacks the column(s) {', '.join(missing)}; export a fresh file with 'inspkit review --export'")
    decisions = [d for line, row in enumerate(rows, start=2) if (d := _decision(path, line, row)) is not None]
    try:
        return reviews.record([d for d in decisions if not _unchanged(d, reviews)], source="import")
    except InputError as exc:
        raise InputError(f"{path}: {exc}; nothing was imported") from None


def _unchanged(d: Decision, reviews: ReviewStore) -> bool:
    """A row that repeats the sample's last decision (an exported one left as it was)."""
    s = reviews.state(d.sample_id)
    label = d.label or s.label
    return s.correct == d.correct and s.attention == d.attention and s.label == label


def _decision(path: Path, line: int, row: dict[str, str]) -> Decision | None:
    correct = (row.get("correct") or "").strip().lower()
    if not correct:
        return None
    where = f"{path} line {line}"
    if correct not in _CORRECT:
        raise InputError(f"{where}: correct is {correct!r}; expected right or wrong (or blank to skip)")
    try:
        sample_id = int(row["sample_id"])
    except (TypeError, ValueError):
        raise InputError(f"{where}: sample_id {row.get('sample_id')!r} is not a number") from None
    attention = (row.get("attention") or "").strip().lower() or None
    if attention is not None and attention not in {a.value for a in Attention}:
        raise InputError(f"{where}: attention is {attention!r}; expected well-trained, training-fail or blank")
    label = (row.get("label") or "").strip().upper() or None
    return Decision(sample_id, _CORRECT[correct], Attention(attention) if attention else None, label,
                    (row.get("reviewer") or "").strip())
