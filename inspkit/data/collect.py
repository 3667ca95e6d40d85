"""``collect``: bring images into the workspace.

From a folder a vision PC writes into (once, or watching for new files), or
from any stream of in-memory frames (the simulator's products). Duplicates by
content hash are skipped and counted; files that are not images, or are
corrupt, are skipped and counted with their reason.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from inspkit.errors import InputError
from inspkit.data.imageio import IMAGE_EXTS, decode, encode_mask, encode_png, is_image_name
from inspkit.store.samples import Sample, Truth
from inspkit.store.workspace import AddResult, NewImage, Workspace

Progress = Callable[[int], None]
BATCH = 64


@dataclass
class CollectReport:
    """What an import did.

    Attributes:
        added: New samples stored.
        duplicates: Images skipped because their content was already stored.
        skipped: Reason -> file names skipped for it.
        warnings: Storage-guard warnings.
        ids: Ids of the new samples.
    """

    added: int = 0
    duplicates: int = 0
    skipped: dict[str, list[str]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    ids: list[int] = field(default_factory=list)

    def skip(self, reason: str, name: str) -> None:
        """Count one skipped file."""
        self.skipped.setdefault(reason, []).append(name)

    def absorb(self, result: AddResult) -> None:
        """Add one batch write's outcome."""
        self.added += len(result.ids)
        self.ids.extend(result.ids)
        self.duplicates += result.duplicates
        self.warnings.extend(w for w in result.warnings if w not in self.warnings)


def utc_iso(ts: float | None = None) -> str:
    """ISO 8601 UTC timestamp (now, or of a POSIX time)."""
    moment = datetime.now(timezone.utc) if ts is None else datetime.fromtimestamp(ts, timezone.utc)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def image_from_file(path: Path, source: str, line: str, station: str) -> NewImage:
    """Read one image file into a :class:`NewImage`, keeping its bytes as they are.

    Raises:
        InputError: unreadable, empty, or not a decodable image.
    """
    try:
        data = path.read_bytes()
        stat = path.stat()
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from None
    height, width = decode(data, str(path)).shape[:2]
    sample = Sample(
        content_hash="", image_path="", width=width, height=height, source=source,
        line=line, station=station, part_serial=path.stem, captured_at=utc_iso(stat.st_mtime),
    )
    return NewImage(data=data, ext=path.suffix.lower(), sample=sample)


def image_from_array(
    image: np.ndarray, sample: Sample, mask: np.ndarray | None = None
) -> NewImage:
    """Encode an in-memory frame (and its ground-truth mask) as a :class:`NewImage`."""
    height, width = image.shape[:2]
    mask_png = encode_mask(mask) if mask is not None and mask.any() else None
    record = replace(sample, width=width, height=height)
    return NewImage(data=encode_png(image), ext=".png", sample=record, mask_png=mask_png)


def list_folder(folder: Path) -> list[Path]:
    """Every file below ``folder``, sorted, skipping hidden files.

    Raises:
        InputError: the folder does not exist or cannot be read.
    """
    if not folder.is_dir():
        raise InputError(f"{folder} is not a readable folder; give the folder the vision PC writes to")
    try:
        return sorted(p for p in folder.rglob("*") if p.is_file() and not p.name.startswith("."))
    except OSError as exc:
        raise InputError(f"cannot list {folder}: {exc.strerror or exc}") from None


def collect_folder(ws: Workspace, folder: Path, on_progress: Progress | None = None) -> CollectReport:
    """Import every image file below ``folder`` once.

    Raises:
        InputError: the folder is missing, unreadable, or holds no files.
    """
    files = list_folder(folder)
    if not files:
        raise InputError(f"{folder} holds no files; expected images ({', '.join(IMAGE_EXTS)})")
    report = CollectReport()
    import_files(ws, files, folder, report, on_progress)
    return report


def import_files(
    ws: Workspace, files: Sequence[Path], folder: Path, report: CollectReport,
    on_progress: Progress | None = None,
) -> None:
    """Import the given files (below ``folder``) into ``report``, batch by batch."""
    for start in range(0, len(files), BATCH):
        chunk = files[start:start + BATCH]
        items = [i for i in (_try_read(ws, p, folder, report) for p in chunk) if i is not None]
        if items:
            report.absorb(ws.add_images(items))
        if on_progress:
            on_progress(len(chunk))


def collect_images(
    ws: Workspace, items: Iterable[NewImage], on_progress: Progress | None = None
) -> CollectReport:
    """Store a stream of prepared images, one transaction per batch.

    Used for simulator frames, crops and augmentations; ``on_progress``
    counts images handled.
    """
    report = CollectReport()
    for batch in _batched(items, BATCH):
        report.absorb(ws.add_images(batch))
        if on_progress:
            on_progress(len(batch))
    return report


def watch_folder(
    ws: Workspace, folder: Path, should_stop: Callable[[], bool], poll_s: float = 1.0,
    on_batch: Callable[[CollectReport], None] | None = None, settle_s: float = 2.0,
) -> CollectReport:
    """Keep importing new files until ``should_stop()`` is true.

    A file is imported once its size and modification time have stayed the
    same for ``settle_s`` seconds, so files a vision PC is still writing are
    left for later. A file that changes after import is looked at again
    (its new content is a new sample; the same content is a duplicate).
    """
    report = CollectReport()
    done: dict[Path, tuple[int, float]] = {}
    pending: dict[Path, tuple[tuple[int, float], float]] = {}
    while not should_stop():
        ready = _settled_files(folder, done, pending, settle_s)
        if ready:
            import_files(ws, ready, folder, report)
            if on_batch:
                on_batch(report)
        time.sleep(poll_s)
    return report


def _settled_files(
    folder: Path, done: dict[Path, tuple[int, float]],
    pending: dict[Path, tuple[tuple[int, float], float]], settle_s: float,
) -> list[Path]:
    """Files whose (size, mtime) has not changed for ``settle_s``; marks them done."""
    now, ready = time.monotonic(), []
    for path in list_folder(folder):
        try:
            st = path.stat()
        except OSError:
            continue  # removed between listing and stat
        signature = (st.st_size, st.st_mtime)
        if done.get(path) == signature or st.st_size == 0:
            continue
        first_seen = pending.get(path, (None, now))
        if first_seen[0] != signature:
            pending[path] = (signature, now)
        elif now - first_seen[1] >= settle_s:
            ready.append(path)
            done[path] = signature
            del pending[path]
    return ready


def _try_read(ws: Workspace, path: Path, folder: Path, report: CollectReport) -> NewImage | None:
    name = str(path.relative_to(folder))
    if not is_image_name(path):
        report.skip("not an image file", name)
        return None
    line = ws.recipe.line
    try:
        return image_from_file(path, f"folder:{folder.name}", line.line, line.station)
    except InputError as exc:
        report.skip("unreadable" if "cannot read" in str(exc) else "corrupt image", name)
        return None


def truth_sample(
    source: str, line: str, station: str, serial: str, captured_at: str, truth: Truth
) -> Sample:
    """A record template for a synthetic frame whose ground truth is known."""
    return Sample(
        content_hash="", image_path="", width=0, height=0, source=source, line=line,
        station=station, part_serial=serial, captured_at=captured_at, roi=truth.roi, truth=truth,
    )


def _batched(items: Iterable[NewImage], size: int) -> Iterator[list[NewImage]]:
    batch: list[NewImage] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch

