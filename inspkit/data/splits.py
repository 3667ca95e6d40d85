"""Stratified train / val / test splits, stored in the workspace.

Splits are drawn over labelled raw frames, stratified by (label, defect
type), and flow down to crops and augmentations. Once a test split exists it
stays fixed: new frames only join train or val, so every model version is
compared on the same test images. Augmented children never join the test
split.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import numpy as np

from inspkit.errors import InputError
from inspkit.store.samples import Sample
from inspkit.store.workspace import Workspace

_PROPAGATE = """
WITH RECURSIVE tree(id, root) AS (
    SELECT id, id FROM samples WHERE parent_id IS NULL
    UNION ALL SELECT s.id, t.root FROM samples s JOIN tree t ON s.parent_id = t.id
)
UPDATE samples SET split = (
    SELECT CASE WHEN samples.source = 'augment' AND r.split = 'test' THEN NULL ELSE r.split END
    FROM tree JOIN samples r ON r.id = tree.root WHERE tree.id = samples.id
) WHERE parent_id IS NOT NULL
"""


@dataclass(frozen=True)
class SplitReport:
    """Raw frames per split after assignment, and how many were new."""

    counts: dict[str, int]
    assigned: int


def assign_splits(ws: Workspace, val_fraction: float, test_fraction: float, seed: int) -> SplitReport:
    """Give every labelled raw frame without a split one, stratified; flow splits down.

    Raises:
        InputError: fewer than two classes, or a class too small to split.
    """
    frames = list(ws.samples.select("parent_id IS NULL AND label IS NOT NULL AND source != 'augment'"))
    _check_splittable(frames, val_fraction, test_fraction)
    test_fixed = any(s.split == "test" for s in frames)
    fractions = {"val": val_fraction, "test": 0.0 if test_fixed else test_fraction}
    new = [s for s in frames if s.split is None]
    rows = _draw(new, fractions, seed)
    with ws.writing(), ws.samples.transaction() as conn:
        conn.executemany("UPDATE samples SET split = ? WHERE id = ?", rows)
        conn.execute(_PROPAGATE)
    counts = ws.samples.count_by("split")
    return SplitReport({k: v for k, v in counts.items() if k}, len(rows))


def _check_splittable(frames: list[Sample], val_fraction: float, test_fraction: float) -> None:
    labels = {s.label for s in frames}
    if len(labels) < 2:
        raise InputError(
            f"training needs at least two classes; the workspace has {len(frames)} labelled frames "
            f"of {len(labels)} class ({', '.join(map(str, labels)) or 'none'}); label more frames"
        )
    need = 1 + (val_fraction > 0) + (test_fraction > 0)
    small = {k: len(v) for k, v in _by_label(frames).items() if len(v) < need}
    if small:
        name, n = next(iter(small.items()))
        raise InputError(f"class '{name}' has {n} labelled frame(s); at least {need} are needed to split it")


def _draw(frames: list[Sample], fractions: dict[str, float], seed: int) -> list[tuple[str, int]]:
    """``(split, id)`` rows, stratified by label and, within a label, by defect type.

    Within a label the frames are ordered by defect type (random order inside
    a type) and test, then val, are taken at evenly spaced positions, so every
    type is represented in proportion; a split with a non-zero fraction gets
    at least one frame of every label.
    """
    rng = np.random.default_rng(seed)
    rows = []
    for label, members in sorted(_by_label(frames).items()):
        keys = rng.random(len(members))
        ordered = [m for _, _, m in sorted(zip((str(m.defect_type) for m in members), keys, members),
                                           key=lambda t: (t[0], t[1]))]
        for split in ("test", "val"):
            picked = _evenly(len(ordered), fractions[split])
            rows.extend((split, ordered[i].id) for i in picked)
            ordered = [m for i, m in enumerate(ordered) if i not in picked]
        rows.extend(("train", m.id) for m in ordered)
    return rows


def _evenly(n: int, fraction: float) -> set[int]:
    """Evenly spaced positions for ``fraction`` of ``n`` items (at least one when fraction > 0)."""
    if fraction <= 0 or n < 2:
        return set()
    k = min(n - 1, max(1, int(round(n * fraction))))
    return {int(i) for i in np.linspace(0, n - 1, k + 2)[1:-1].round()}


def _by_label(frames: list[Sample]) -> dict[str, list[Sample]]:
    groups: dict[str, list[Sample]] = defaultdict(list)
    for s in frames:
        groups[str(s.label)].append(s)
    return groups
