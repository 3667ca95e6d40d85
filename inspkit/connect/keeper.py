"""Keeping inspected parts for review: image, prediction and p, written off the part's path.

The edge answers first; a background thread stores the parts the model
inspected in the workspace in batches (one transaction, one set of fsyncs per
batch), with their predictions, so ``inspkit review`` finds them queued. The
storage guard is respected: when the disk is full, keeping stops (and is
logged) while inspection goes on.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from inspkit.errors import InspkitError
from inspkit.store.samples import Sample

_EXT = {"png": ".png", "jpeg": ".jpg"}


@dataclass(frozen=True)
class Kept:
    """One inspected part to keep.

    Attributes:
        line, station, serial: The part.
        captured_at: When it was shot (ISO 8601 UTC).
        encoding: The image encoding as it came on the wire.
        data: The image bytes as they came (raw pixels are encoded to PNG here).
        shape: Height, width, channels.
        version: The model version that answered.
        p_ok: Its p(OK).
        predicted: Its verdict, "OK"/"NG".
    """

    line: str
    station: str
    serial: int
    captured_at: str
    encoding: str
    data: bytes
    shape: tuple[int, int, int]
    version: str
    p_ok: float
    predicted: str


class SampleKeeper:
    """Stores kept parts in a workspace from its own thread.

    Args:
        root: The workspace folder (opened by the keeper's thread).
        log: ``log(kind, message)`` for events.
        max_queue: Parts waiting to be stored; beyond it a part is not kept (and counted).
        batch: Parts stored per transaction at most.
        linger_s: How long a part waits before it is stored: by then its own MES commit is
            done, so storing it (hash, file, fsync, SQLite) does not compete with that for the
            disk and the GIL; parts that arrive meanwhile join the same batch.
    """

    def __init__(self, root: Path, log: Callable[[str, str], None], max_queue: int = 1000,
                 batch: int = 64, linger_s: float = 0.02) -> None:
        self.root, self._log, self.batch, self.linger_s = root, log, batch, linger_s
        self._queue: queue.Queue[Kept | None] = queue.Queue(max_queue)
        self._thread = threading.Thread(target=self._run, name="inspkit-keeper", daemon=True)
        self.kept = 0
        self.dropped = 0
        self._full = False

    def start(self) -> None:
        """Start the writer thread."""
        self._thread.start()

    def put(self, item: Kept) -> None:
        """Queue a part; never blocks the caller."""
        try:
            self._queue.put_nowait(item)
        except queue.Full:
            self.dropped += 1

    def stop(self, timeout_s: float = 10.0) -> None:
        """Store what is queued, then stop."""
        self._queue.put(None)
        self._thread.join(timeout=timeout_s)

    def _run(self) -> None:
        from inspkit.store.workspace import Workspace

        with Workspace.open(self.root) as ws:
            while True:
                items, last = self._next_batch()
                if items:
                    self._store(ws, items)
                if last:
                    return

    def _next_batch(self) -> tuple[list[Kept], bool]:
        items: list[Kept] = []
        item = self._queue.get()
        if item is not None and self.linger_s > 0:
            time.sleep(self.linger_s)
        while item is not None:
            items.append(item)
            if len(items) >= self.batch:
                return items, False
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return items, False
        return items, True

    def _store(self, ws, items: list[Kept]) -> None:  # noqa: ANN001  (Workspace, imported lazily)
        from inspkit.maintain.reviews import Prediction, ReviewStore

        if self._full:
            self.dropped += len(items)
            return
        try:
            result = ws.add_images([_new_image(k) for k in items])
        except InspkitError as exc:  # the storage guard: stop keeping, go on inspecting
            self._full = True
            self.dropped += len(items)
            self._log("storage", f"parts are no longer kept for review: {exc}")
            return
        except Exception as exc:  # noqa: BLE001 - keeping is best effort; inspection must go on
            self.dropped += len(items)
            self._log("storage", f"could not keep {len(items)} part(s): {type(exc).__name__}: {exc}")
            return
        for warning in result.warnings:
            self._log("storage", warning)
        stored = _fresh(ws, items, result.ids)
        ReviewStore(ws.conn).add_predictions([
            Prediction(sid, k.version, k.p_ok, k.predicted, k.captured_at) for k, sid in zip(stored, result.ids)])
        self.kept += len(result.ids)


def _fresh(ws, items: list[Kept], ids: list[int]) -> list[Kept]:  # noqa: ANN001
    """The kept parts that were new, in the order of ``ids`` (duplicate images are skipped by the store)."""
    if len(ids) == len(items):
        return items
    by_key = {(k.line, k.station, str(k.serial)): k for k in items}
    rows = [ws.samples.get(i) for i in ids]
    return [by_key[(s.line, s.station, s.part_serial)] for s in rows]


def _new_image(item: Kept):  # noqa: ANN202  (NewImage)
    from inspkit.store.workspace import NewImage

    height, width = item.shape[:2]
    data, ext = item.data, _EXT.get(item.encoding)
    if ext is None:  # raw pixels: store a PNG
        import numpy as np

        from inspkit.data.imageio import encode_png

        pixels = np.frombuffer(item.data, np.uint8).reshape(item.shape)
        data, ext = encode_png(pixels[:, :, 0] if item.shape[2] == 1 else pixels), ".png"
    sample = Sample(content_hash="", image_path="", width=width, height=height,
                    source=f"connect:{item.line}/{item.station}", line=item.line, station=item.station,
                    part_serial=str(item.serial), captured_at=item.captured_at)
    return NewImage(data=data, ext=ext, sample=sample)
