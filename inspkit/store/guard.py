"""Storage guard: image storage runs out on a line (paper 3.1.1), so check first.

Before a batch is written the guard compares the disk's free space, less the
batch, with the recipe's limits: below ``warn_free_gb`` it warns, below
``min_free_gb`` it refuses and nothing is written.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from inspkit.errors import StorageFullError
from inspkit.recipe import StorageLimits

GB = 1_000_000_000


@dataclass(frozen=True)
class StorageState:
    """Free space on the workspace's disk against the recipe's limits.

    Attributes:
        free_gb: Free space now.
        total_gb: Size of the disk.
        warn_free_gb: Warn below this.
        min_free_gb: Refuse writes below this.
    """

    free_gb: float
    total_gb: float
    warn_free_gb: float
    min_free_gb: float

    @property
    def level(self) -> str:
        """``ok``, ``warn`` or ``full``."""
        if self.free_gb < self.min_free_gb:
            return "full"
        return "warn" if self.free_gb < self.warn_free_gb else "ok"


def storage_state(path: Path, limits: StorageLimits) -> StorageState:
    """Free space on the disk holding ``path``."""
    usage = shutil.disk_usage(path)
    return StorageState(usage.free / GB, usage.total / GB, limits.warn_free_gb, limits.min_free_gb)


def check_room(path: Path, limits: StorageLimits, need_bytes: int) -> str | None:
    """Refuse (raise) or warn (return a message) before writing ``need_bytes``.

    Raises:
        StorageFullError: free space after the write would be below ``min_free_gb``.
    """
    state = storage_state(path, limits)
    after_gb = state.free_gb - need_bytes / GB
    if after_gb < limits.min_free_gb:
        raise StorageFullError(
            f"only {state.free_gb:.2f} GB free on the workspace disk and storage.min_free_gb is "
            f"{limits.min_free_gb:g}; nothing was written — free space, back up images, or lower the limit"
        )
    if after_gb < limits.warn_free_gb:
        return (
            f"storage low: {after_gb:.2f} GB free after this write "
            f"(storage.warn_free_gb is {limits.warn_free_gb:g}); back up or add storage soon"
        )
    return None
