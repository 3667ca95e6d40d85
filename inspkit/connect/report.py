"""``inspkit connect report``: the validation period's evidence for going live (paper 3.2.1).

During the shadow period the model's verdicts are recorded while the vision
station's drive the PLC. This compares, over the period, the vision station
alone, the model alone (on the parts it inspected) and the goal's routing —
what the line would have done live — against the truth known from reviews (or
a truth file), and says whether going live is supported.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from inspkit.connect.mes import MesRecord
from inspkit.connect.routing import route
from inspkit.errors import InputError
from inspkit.types import Goal, Verdict

Key = tuple[str, str, int]


@dataclass(frozen=True)
class Tally:
    """Verdicts against the truth.

    Attributes:
        parts: Parts with a verdict and a known truth.
        correct: Verdicts equal to the truth.
        escapes: NG parts passed as OK (the costly error).
        false_rejects: OK parts rejected as NG.
    """

    parts: int = 0
    correct: int = 0
    escapes: int = 0
    false_rejects: int = 0

    @property
    def accuracy(self) -> float | None:
        """Share of correct verdicts (``None`` without parts)."""
        return self.correct / self.parts if self.parts else None


@dataclass(frozen=True)
class ShadowReport:
    """The period's comparison.

    Attributes:
        goal: The goal the routing was evaluated for.
        parts: MES records in the period.
        inspected: Parts with a model verdict.
        agree: Inspected parts where the model and the vision station agree.
        fail_safe: Parts that got the fail-safe verdict.
        with_truth: Parts whose truth is known.
        vision: The vision station alone (truth-known parts with a vision verdict).
        model: The model alone (truth-known inspected parts).
        live: The goal's routing of vision and model verdicts (truth-known parts).
        go_live: Whether the evidence supports going live.
        reason: Why, in one line.
    """

    goal: Goal
    parts: int
    inspected: int
    agree: int
    fail_safe: int
    with_truth: int
    vision: Tally
    model: Tally
    live: Tally
    go_live: bool
    reason: str


def shadow_report(records: Sequence[MesRecord], truth: Mapping[Key, str], goal: Goal,
                  min_parts: int = 100) -> ShadowReport:
    """Compare vision, model and the goal's routing over ``records``.

    Args:
        records: MES records of the period.
        truth: Known true labels ("OK"/"NG") by (line, station, serial).
        goal: The goal to evaluate routing for.
        min_parts: Truth-known parts needed before going live can be supported.
    """
    vision, model, live = _Counter(), _Counter(), _Counter()
    inspected = agree = fail_safe = with_truth = 0
    for r in records:
        fail_safe += r.decided_by == "fail-safe"
        if r.model_verdict is not None:
            inspected += 1
            agree += r.model_verdict == r.vision_verdict
        known = truth.get((r.line, r.station, int(r.serial)), r.truth)
        if known not in ("OK", "NG"):
            continue
        with_truth += 1
        vision.add(r.vision_verdict, known)
        model.add(r.model_verdict, known)
        live.add(_live_verdict(goal, r), known)
    go, reason = _decide(vision.tally(), live.tally(), min_parts)
    return ShadowReport(goal, len(records), inspected, agree, fail_safe, with_truth,
                        vision.tally(), model.tally(), live.tally(), go, reason)


def _live_verdict(goal: Goal, r: MesRecord) -> str | None:
    """What the line would have done with the model's verdict counting (None: not decidable)."""
    vision = None if r.vision_verdict is None else Verdict(r.vision_verdict)
    model = None if r.model_verdict is None else Verdict(r.model_verdict)
    try:
        return route(goal, vision, model).verdict.value
    except ValueError:  # the model did not answer a part it had to: the fail-safe NG
        return "NG"


def _decide(vision: Tally, live: Tally, min_parts: int) -> tuple[bool, str]:
    if live.parts < min_parts:
        return False, f"only {live.parts} part(s) with known truth; at least {min_parts} are needed"
    if vision.parts and live.escapes > vision.escapes:
        return False, f"live routing would pass {live.escapes} NG part(s) as OK; the vision station passed {vision.escapes}"
    if vision.parts and live.correct < vision.correct:
        return False, (f"live routing would be right on {live.correct} of {live.parts} parts, "
                       f"fewer than the vision station's {vision.correct}")
    gain = live.correct - vision.correct
    if gain == 0:
        return True, (f"live routing is right as often as the vision station ({live.correct} of {live.parts}), "
                      "with no more escapes")
    return True, f"live routing is right on {gain} more part(s) than the vision station, with no more escapes"


class _Counter:
    def __init__(self) -> None:
        self.parts = self.correct = self.escapes = self.false_rejects = 0

    def add(self, verdict: str | None, truth: str) -> None:
        if verdict is None:
            return
        self.parts += 1
        self.correct += verdict == truth
        self.escapes += verdict == "OK" and truth == "NG"
        self.false_rejects += verdict == "NG" and truth == "OK"

    def tally(self) -> Tally:
        return Tally(self.parts, self.correct, self.escapes, self.false_rejects)


def read_truth_csv(path: Path) -> dict[Key, str]:
    """Truth from a CSV with columns line, station, serial, truth (e.g. the simulator's ``truth.csv``).

    Raises:
        InputError: unreadable file, missing column, or a label other than OK/NG (named by line number).
    """
    try:
        with path.open(newline="", encoding="utf-8") as fh:
            return _truth_rows(csv.DictReader(fh), path)
    except OSError as exc:
        raise InputError(f"cannot read the truth file {path}: {exc.strerror or exc}") from None


def _truth_rows(rows: Iterable[dict[str, str]], path: Path) -> dict[Key, str]:
    truth: dict[Key, str] = {}
    for number, row in enumerate(rows, start=2):
        try:
            key = (row["line"], row["station"], int(row["serial"]))
            label = row["truth"].strip()
        except (KeyError, TypeError, ValueError, AttributeError):
            raise InputError(f"{path} line {number}: expected columns line, station, serial, truth "
                             "with an integer serial") from None
        if label not in ("OK", "NG"):
            raise InputError(f"{path} line {number}: truth must be OK or NG, got {label!r}")
        truth[key] = label
    return truth


def reviewed_truth(ws) -> dict[Key, str]:  # noqa: ANN001  (Workspace)
    """Truth from the workspace's stage-1 review decisions on parts the edge kept."""
    from inspkit.maintain.reviews import ReviewStore

    truth: dict[Key, str] = {}
    for state in ReviewStore(ws.conn).queue(0.5):
        if state.label is None:
            continue
        sample = ws.samples.get(state.prediction.sample_id)
        if sample is None or not sample.part_serial or not sample.part_serial.isdigit():
            continue
        truth[(sample.line or "", sample.station or "", int(sample.part_serial))] = state.label
    return truth
