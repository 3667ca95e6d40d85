"""Building the review queue: record the production model's p(OK) for newly inspected samples.

On a line, the edge service records each part's prediction as it inspects it.
Samples collected by other means (``inspkit collect``) are scored here, once,
by the production model. Training data is never queued: the queue holds parts
the model inspected, not images it learned from.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from inspkit.errors import InputError
from inspkit.explain_samples import INSPECTED, model_input
from inspkit.maintain.reviews import Prediction, ReviewStore
from inspkit.models.inferencer import Inferencer
from inspkit.store.workspace import Workspace

# Inspected samples outside the training data (no split yet).
NEW_INSPECTED = f"split IS NULL AND {INSPECTED}"


@dataclass(frozen=True)
class Scored:
    """What scoring did: new predictions, and by which version."""

    new: int
    version: str


def score_new(ws: Workspace, inf: Inferencer, batch: int = 64,
              on_progress: Callable[[int, int], None] | None = None) -> Scored:
    """Predict every inspected sample that has no prediction yet and record it.

    Raises:
        InputError: the model is not an OK/NG classifier.
    """
    if inf.meta.classes != ("NG", "OK") or inf.meta.task != "classify":
        raise InputError("review needs an OK/NG classifier; this workspace's production model "
                         f"is a {inf.meta.task} model with classes {', '.join(inf.meta.classes)}")
    reviews = ReviewStore(ws.conn)
    done = reviews.predicted_ids()
    todo = [s for s in ws.samples.select(NEW_INSPECTED) if s.id not in done]
    new = 0
    for start in range(0, len(todo), batch):
        part = todo[start:start + batch]
        p_ok = inf.probs_prepared([model_input(inf, ws, s) for s in part])[:, 1]
        threshold = inf.meta.thresholds["ok"]
        new += reviews.add_predictions([
            Prediction(s.id, inf.version, float(p), "OK" if p >= threshold else "NG",
                       s.captured_at or s.created_at or "")
            for s, p in zip(part, p_ok)
        ])
        if on_progress:
            on_progress(min(start + batch, len(todo)), len(todo))
    return Scored(new, inf.version)
