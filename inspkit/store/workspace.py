"""The workspace folder every verb works in.

Layout: ``inspkit.yaml`` (resolved recipe), ``samples.db``, ``images/``
(content-addressed), ``models/``, ``runs/``.

Writers take an exclusive lock and leave a ``.writing`` marker while image
files exist that the database may not reference yet (files are written before
the transaction that records them). If a writer is killed, the next writer or
opener finds the marker and sweeps unreferenced files, so the store always
holds exactly the files its records name.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from inspkit.errors import WorkspaceError
from inspkit.recipe import Recipe, dump_recipe, load_recipe
from inspkit.store.atomic import TMP_SUFFIX, atomic_write_text, fsync_dir, write_durable_tmp
from inspkit.store.guard import check_room
from inspkit.store.samples import Sample, SampleStore, connect, create_schema

RECIPE_FILE = "inspkit.yaml"
DB_FILE = "samples.db"
IMAGES_DIR = "images"
MARKER = ".writing"
LOCK = ".lock"


@dataclass(frozen=True, eq=False)
class NewImage:
    """An image to store with its record.

    Attributes:
        data: Encoded image bytes, stored as they are (their hash is the id).
        ext: File extension with the dot, e.g. ``.png``.
        sample: The record; ``content_hash`` and ``image_path`` are filled in.
        mask_png: Ground-truth defect mask as PNG bytes, if known.
    """

    data: bytes
    ext: str
    sample: Sample
    mask_png: bytes | None = None


@dataclass
class AddResult:
    """What a batch write did.

    Attributes:
        ids: Ids of the new samples, in input order (duplicates left out).
        duplicates: Images skipped because their content was already stored.
        warnings: Storage-guard warnings.
    """

    ids: list[int] = field(default_factory=list)
    duplicates: int = 0
    warnings: list[str] = field(default_factory=list)


class Workspace:
    """An open workspace: recipe, sample store and image files.

    Use :meth:`create` or :meth:`open`; close with :meth:`close` or ``with``.
    """

    def __init__(self, root: Path, recipe: Recipe) -> None:
        self.root = root
        self.recipe = recipe
        self.conn = connect(root / DB_FILE)
        self.samples = SampleStore(self.conn)

    @classmethod
    def create(cls, root: str | Path, recipe: Recipe) -> Workspace:
        """Make a new workspace folder (it may exist but must not be a workspace)."""
        root = Path(root)
        if (root / RECIPE_FILE).exists():
            raise WorkspaceError(f"{root} is already a workspace; use it, or pick another folder")
        if root.exists() and not root.is_dir():
            raise WorkspaceError(f"{root} exists and is not a folder; pick another path")
        for sub in (IMAGES_DIR, "models", "runs"):
            (root / sub).mkdir(parents=True, exist_ok=True)
        conn = connect(root / DB_FILE)
        create_schema(conn)
        conn.close()
        # The recipe file goes last: its presence is what makes the folder a workspace.
        atomic_write_text(root / RECIPE_FILE, dump_recipe(recipe))
        fsync_dir(root)
        return cls(root, recipe)

    @classmethod
    def open(cls, root: str | Path) -> Workspace:
        """Open an existing workspace, finishing the clean-up of a killed writer."""
        root = Path(root)
        if not (root / RECIPE_FILE).is_file():
            raise WorkspaceError(
                f"{root} is not an inspkit workspace (no {RECIPE_FILE}); "
                "create one with 'inspkit init WS --recipe R' or pass -w WS"
            )
        ws = cls(root, load_recipe(root / RECIPE_FILE))
        with contextlib.suppress(BlockingIOError):
            with ws._lock(blocking=False):
                ws._recover()
        return ws

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the database connection."""
        self.conn.close()

    def path(self, rel: str) -> Path:
        """Absolute path of a workspace-relative file."""
        return self.root / rel

    @contextlib.contextmanager
    def writing(self) -> Iterator[None]:
        """Hold the write lock, with the crash marker set, for one batch."""
        with self._lock(blocking=True):
            self._recover()
            marker = self.root / MARKER
            marker.touch()
            fsync_dir(self.root)
            yield
            marker.unlink()
            fsync_dir(self.root)

    def add_images(self, items: Sequence[NewImage]) -> AddResult:
        """Store a batch of images and their records atomically.

        Images whose content is already stored (or repeated in the batch) are
        skipped and counted. The storage guard runs before anything is written.

        Raises:
            StorageFullError: the disk is below ``storage.min_free_gb``.
        """
        result = AddResult()
        need = sum(len(i.data) + len(i.mask_png or b"") for i in items)
        warning = check_room(self.root, self.recipe.storage, need)
        if warning:
            result.warnings.append(warning)
        with self.writing():
            fresh = self._drop_duplicates(items, result)
            samples = self._write_files(fresh)
            result.ids = self.samples.insert_many(samples)
        return result

    def _drop_duplicates(self, items: Sequence[NewImage], result: AddResult) -> list[tuple[str, NewImage]]:
        hashed = [(hashlib.sha256(i.data).hexdigest(), i) for i in items]
        known = self.samples.known_hashes(h for h, _ in hashed)
        fresh: dict[str, NewImage] = {}
        for digest, item in hashed:
            if digest in known or digest in fresh:
                result.duplicates += 1
            else:
                fresh[digest] = item
        return list(fresh.items())

    def _write_files(self, fresh: Sequence[tuple[str, NewImage]]) -> list[Sample]:
        """Write image (and mask) files durably; returns the completed records."""
        files: dict[Path, bytes] = {}
        samples = []
        for digest, item in fresh:
            rel = _content_path(digest, item.ext)
            files[self.root / rel] = item.data
            truth = item.sample.truth
            if item.mask_png is not None and truth is not None:
                mask_rel = _content_path(hashlib.sha256(item.mask_png).hexdigest(), ".png")
                files[self.root / mask_rel] = item.mask_png
                truth = replace(truth, mask_path=mask_rel)
            samples.append(replace(item.sample, content_hash=digest, image_path=rel, truth=truth))
        _write_all(files)
        return samples

    @contextlib.contextmanager
    def _lock(self, blocking: bool) -> Iterator[None]:
        with open(self.root / LOCK, "a+b") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def _recover(self) -> None:
        """After a killed writer: delete temp files and files no record names."""
        marker = self.root / MARKER
        if not marker.exists():
            return
        referenced = self.samples.referenced_paths()
        for path in image_files(self.root, include_tmp=True):
            if path.relative_to(self.root).as_posix() not in referenced:
                path.unlink()
        marker.unlink()
        fsync_dir(self.root)


def image_files(root: Path, include_tmp: bool = False) -> Iterator[Path]:
    """Every file under ``images/`` (temp files only when asked)."""
    for path in (root / IMAGES_DIR).rglob("*"):
        if path.is_file() and (include_tmp or not path.name.endswith(TMP_SUFFIX)):
            yield path


def _content_path(digest: str, ext: str) -> str:
    return f"{IMAGES_DIR}/{digest[:2]}/{digest}{ext.lower()}"


def _write_all(files: dict[Path, bytes]) -> None:
    """Durable temp files first, then renames, then one fsync per folder."""
    staged = []
    for path, data in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        staged.append((write_durable_tmp(path, data), path))
    for tmp, path in staged:
        os.replace(tmp, path)
    for folder in {path.parent for _, path in staged}:
        fsync_dir(folder)
    if staged:
        fsync_dir(staged[0][1].parent.parent)
