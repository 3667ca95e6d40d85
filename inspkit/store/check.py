"""Integrity check of a workspace: database, records and files agree."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from inspkit.store.workspace import Workspace, image_files


@dataclass
class IntegrityReport:
    """What the check found; ``ok`` when nothing is wrong.

    Attributes:
        database: SQLite's own ``integrity_check`` answer.
        missing: Files that records name but that do not exist.
        orphans: Files under ``images/`` that no record names.
        corrupt: Files whose content no longer matches their hash (deep check).
        samples: Number of records checked.
    """

    database: str = "ok"
    missing: list[str] = field(default_factory=list)
    orphans: list[str] = field(default_factory=list)
    corrupt: list[str] = field(default_factory=list)
    samples: int = 0

    @property
    def ok(self) -> bool:
        """True when the store is consistent."""
        return self.database == "ok" and not (self.missing or self.orphans or self.corrupt)


def check_workspace(ws: Workspace, deep: bool = False) -> IntegrityReport:
    """Check the database and that records and image files match one to one.

    Args:
        ws: An open workspace.
        deep: Also re-hash every image file against its record.
    """
    report = IntegrityReport()
    report.database = ws.conn.execute("PRAGMA integrity_check").fetchone()[0]
    referenced = ws.samples.referenced_paths()
    on_disk = {p.relative_to(ws.root).as_posix() for p in image_files(ws.root, include_tmp=True)}
    report.missing = sorted(referenced - on_disk)
    report.orphans = sorted(on_disk - referenced)
    report.samples = ws.samples.count()
    if deep:
        for sample in ws.samples.select():
            path = ws.path(sample.image_path)
            if path.exists() and hashlib.sha256(path.read_bytes()).hexdigest() != sample.content_hash:
                report.corrupt.append(sample.image_path)
    return report
