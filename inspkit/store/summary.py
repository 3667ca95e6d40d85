"""What ``inspkit status`` reports: sample counts and the storage state."""

from __future__ import annotations

from dataclasses import dataclass

from inspkit.store.guard import StorageState, storage_state
from inspkit.store.workspace import Workspace, image_files

GROUPS = ("label", "defect_type", "split", "source")


@dataclass(frozen=True)
class Summary:
    """A workspace at a glance.

    Attributes:
        recipe: Recipe name.
        samples: Number of samples.
        counts: Column -> value -> count, for each of :data:`GROUPS`.
        images_mb: Size of the image files, in MB.
        storage: Free disk against the recipe's limits.
    """

    recipe: str
    samples: int
    counts: dict[str, dict[str | None, int]]
    images_mb: float
    storage: StorageState


def summarize(ws: Workspace) -> Summary:
    """Count samples by label, defect type, split and source; measure storage."""
    counts = {group: ws.samples.count_by(group) for group in GROUPS}
    size = sum(p.stat().st_size for p in image_files(ws.root))
    return Summary(
        recipe=ws.recipe.name,
        samples=ws.samples.count(),
        counts=counts,
        images_mb=size / 1e6,
        storage=storage_state(ws.root, ws.recipe.storage),
    )
