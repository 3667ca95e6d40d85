"""What ``inspkit status`` says about maintenance: FSR against β, failed samples per slot, reviews left, versions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from inspkit.maintain.fsr import FailedSamples
from inspkit.maintain.reviews import ReviewStore
from inspkit.maintain.update import plan_update
from inspkit.models.store import ModelStore, VersionInfo
from inspkit.store.workspace import Workspace


@dataclass(frozen=True)
class MaintenanceSummary:
    """The managing stage at a glance.

    Attributes:
        fsr: |∪ D̄(t)| / |D| since the last promoted re-train.
        beta: The re-train threshold.
        accumulated: |∪ D̄(t)|.
        training_size: |D|.
        per_slot: Slot t → failed samples in it (slots of ``slot_days`` from the first inspection).
        slot_days: Slot length.
        queue: Unreliable samples at the recipe's α.
        left: Of those, not fully reviewed.
        alpha: The recipe's α.
        versions: Every model version with its stage.
        updates: Updates made so far (promoted or not).
    """

    fsr: float
    beta: float
    accumulated: int
    training_size: int
    per_slot: dict[int, int]
    slot_days: float
    queue: int
    left: int
    alpha: float
    versions: list[VersionInfo]
    updates: int


def maintenance_summary(ws: Workspace) -> MaintenanceSummary:
    """Collect the summary (reads only)."""
    manage = ws.recipe.manage
    reviews = ReviewStore(ws.conn)
    plan = plan_update(ws)
    queue = reviews.queue(manage.alpha)
    origin = ws.conn.execute("SELECT MIN(inspected_at) FROM predictions").fetchone()[0]
    slots = FailedSamples(manage.slot_days)
    for f in plan.accumulated:
        slots.add(_days(origin, f.inspected_at), [str(f.sample_id)])
    return MaintenanceSummary(
        plan.fsr, plan.beta, len(plan.accumulated), plan.training_size,
        {t: len(keys) for t, keys in sorted(slots.slots.items())}, manage.slot_days,
        len(queue), sum(not s.done for s in queue), manage.alpha,
        ModelStore(ws.root / "models").list(), len(reviews.updates()),
    )


def _days(origin: str | None, when: str) -> float:
    if origin is None:
        return 0.0
    try:
        return max(0.0, (_parse(when) - _parse(origin)).total_seconds() / 86400.0)
    except ValueError:
        return 0.0


def _parse(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))
