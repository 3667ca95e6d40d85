"""Per-day line metrics: counted part by part, written as a byte-stable CSV.

Rates are ``None`` when their denominator is zero (no parts on a weekend, no
defective part on a day); the CSV shows those as empty cells.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass, fields


@dataclass(frozen=True)
class DayRow:
    """One simulated day.

    Attributes:
        day: Day number from go-live (day 0 is a Monday).
        parts: Parts that entered the line.
        defective: Of those, truly defective.
        good_out: Parts sent on to the next process (final verdict OK).
        fty: First-time yield, ``good_out / parts``.
        false_call_rate: Good parts rejected / good parts.
        escape_rate: Defective parts passed / defective parts.
        model_accuracy: The model's verdicts right / parts it inspected.
        vision_accuracy: The vision station's verdicts right / parts.
        final_accuracy: Final verdicts right / parts.
        throughput_per_h: Parts out per hour of production.
        production_h: Hours the line was making parts: each run from its first part
            shot to its last part decided.
        idle_h: Hours of the day without production (nights, weekends, spare shift time).
        model_version: The model version that answered (empty without a model).
        events: Drift events of the day, ``;``-separated.
        reviewed: Parts a person reviewed that day (the review load; empty without maintenance).
        failed: Of those, the ones that failed review (wrong, or right for the wrong reason).
        fsr: The failed-sample ratio at the day's end, before any re-train it triggers.
    """

    day: int
    parts: int
    defective: int
    good_out: int
    fty: float | None
    false_call_rate: float | None
    escape_rate: float | None
    model_accuracy: float | None
    vision_accuracy: float | None
    final_accuracy: float | None
    throughput_per_h: float | None
    production_h: float
    idle_h: float
    model_version: str = ""
    events: str = ""
    reviewed: int | None = None
    failed: int | None = None
    fsr: float | None = None


COLUMNS = tuple(f.name for f in fields(DayRow))


@dataclass(frozen=True)
class UpdateEvent:
    """One model update on the line: a fine-tune or a re-train, promoted or not.

    Attributes:
        day: Day the new version was ready and judged (and, if promoted, took over).
        kind: ``finetune`` or ``retrain``.
        version: The candidate's version id (rejected candidates keep theirs).
        promoted: Whether it replaced the line's model.
        reason: Why it was (not) promoted: the accuracies compared.
        fsr: The failed-sample ratio when the update was decided.
        samples: Images it trained on.
        cpu_s: Process CPU seconds the training took.
        wall_s: Wall seconds the training took.
        requested_day: Day (fractional) the update was decided.
        ready_s: Simulated time the version was ready, seconds from the run's start.
    """

    day: int
    kind: str
    version: str
    promoted: bool
    reason: str
    fsr: float
    samples: int
    cpu_s: float
    wall_s: float
    requested_day: float
    ready_s: float


UPDATE_COLUMNS = tuple(f.name for f in fields(UpdateEvent))


def ratio(num: int, den: int) -> float | None:
    """``num / den``, or None when ``den`` is 0."""
    return num / den if den else None


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.6f}"
    return str(value)


def csv_text(rows: list[DayRow]) -> str:
    """The rows as CSV text with a header; floats with 6 decimals, so reruns match byte for byte."""
    return _table_text(COLUMNS, rows)


def updates_csv_text(events: list[UpdateEvent]) -> str:
    """The update events as CSV text with a header (floats with 6 decimals)."""
    return _table_text(UPDATE_COLUMNS, events)


def _table_text(columns: Sequence[str], items: Sequence[object]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    for item in items:
        writer.writerow([_cell(getattr(item, c)) for c in columns])
    return out.getvalue()


def read_csv(text: str) -> list[DayRow]:
    """Parse :func:`csv_text` output back into rows."""
    reader = csv.DictReader(io.StringIO(text))
    kinds = {f.name: f.type for f in fields(DayRow)}
    return [DayRow(**{k: _parse(kinds[k], v) for k, v in rec.items()}) for rec in reader]


def _parse(kind: object, text: str) -> object:
    kind = str(kind)
    if kind == "int":
        return int(text)
    if kind.startswith("int"):  # int | None
        return int(text) if text else None
    if "float" in kind:
        return float(text) if text else None
    return text
