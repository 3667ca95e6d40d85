"""The model store: immutable versions, stages, and an atomic production pointer.

``models/vNNNN/`` holds a version's weights, ``meta.json`` and the table of
the run that made it; it is written under a temporary name and renamed into
place, and never changed after. ``models/registry.json`` records each
version's stage and the hash of its ``meta.json``, the production pointer and
its history; it is replaced atomically, so ``promote`` and ``rollback`` switch
production in one step. Loading checks both hashes, so a damaged or edited
version is refused rather than served.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
from collections.abc import Iterator
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from inspkit.errors import ModelError
from inspkit.models.types import ModelMeta, Stage
from inspkit.store.atomic import atomic_write_text, fsync_dir
from inspkit.types import Roi

REGISTRY = "registry.json"
META = "meta.json"


@dataclass(frozen=True)
class VersionInfo:
    """A version with its stage."""

    meta: ModelMeta
    stage: Stage


class ModelStore:
    """Versions under ``models/`` of a workspace.

    Args:
        root: The ``models`` folder.
    """

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def list(self) -> list[VersionInfo]:
        """Every registered version, oldest first (metadata verified)."""
        reg = self._registry()
        return [VersionInfo(self.meta(v), Stage(e["stage"])) for v, e in sorted(reg["versions"].items())]

    def production(self) -> str | None:
        """The production version, if any."""
        return self._registry()["production"]

    def resolve(self, version: str | None) -> str:
        """``version`` itself, or the production version when ``None``.

        Raises:
            ModelError: no such version, or no production model.
        """
        reg = self._registry()
        if version is None:
            if reg["production"] is None:
                raise ModelError("no production model yet; train one ('inspkit train') or promote a version")
            return reg["production"]
        if version not in reg["versions"]:
            known = ", ".join(sorted(reg["versions"])) or "none"
            raise ModelError(f"model version '{version}' does not exist; versions: {known}")
        return version

    def meta(self, version: str) -> ModelMeta:
        """A version's metadata, after checking it is the one that was stored.

        Raises:
            ModelError: unknown version, or metadata missing, unreadable or changed.
        """
        expected = self._registry()["versions"].get(version, {}).get("meta_sha256")
        path = self.root / version / META
        if expected is None:
            raise ModelError(f"model version '{version}' does not exist")
        try:
            data = path.read_bytes()
        except OSError:
            raise ModelError(f"model {version} is damaged: {META} is missing; promote another version") from None
        if hashlib.sha256(data).hexdigest() != expected:
            raise ModelError(f"model {version} was changed after it was stored ({META} hash differs); "
                             "restore the folder or promote another version")
        return meta_from_json(data)

    def weights_path(self, version: str) -> Path:
        """The verified weights file of a version.

        Raises:
            ModelError: the weights are missing or differ from what was stored.
        """
        meta = self.meta(version)
        path = self.root / version / meta.weights_file
        if not path.is_file():
            raise ModelError(f"model {version} is damaged: {meta.weights_file} is missing; promote another version")
        if sha256_file(path) != meta.weights_sha256:
            raise ModelError(f"model {version} was changed after it was stored ({meta.weights_file} hash differs); "
                             "restore the folder or promote another version")
        return path

    def add(self, meta: ModelMeta, files: dict[str, Path | bytes]) -> ModelMeta:
        """Store a new version (stage candidate) from a weights file and extras.

        ``files`` maps names in the version folder to source paths or bytes;
        it must contain ``meta.weights_file``. The version id and the weights
        hash are filled in here.
        """
        with self._lock():
            version = self._next_version()
            tmp = self.root / f".{version}.tmp"
            shutil.rmtree(tmp, ignore_errors=True)
            tmp.mkdir(parents=True)
            for name, src in files.items():
                _write_file(tmp / name, src)
            meta = replace(meta, version=version, weights_sha256=sha256_file(tmp / meta.weights_file))
            meta_bytes = meta_to_json(meta).encode()
            _write_file(tmp / META, meta_bytes)
            fsync_dir(tmp)
            os.replace(tmp, self.root / version)
            fsync_dir(self.root)
            reg = self._registry()
            reg["versions"][version] = {"stage": Stage.CANDIDATE.value, "meta_sha256": hashlib.sha256(meta_bytes).hexdigest()}
            self._save(reg)
        return meta

    def promote(self, version: str) -> str | None:
        """Make ``version`` production (the old one retires); returns the old one."""
        with self._lock():
            self.weights_path(self.resolve(version))  # never promote a damaged version
            refuse_generator(self.meta(version))
            reg = self._registry()
            old = reg["production"]
            if old == version:
                return old
            if old is not None:
                reg["versions"][old]["stage"] = Stage.RETIRED.value
            reg["versions"][version]["stage"] = Stage.PRODUCTION.value
            reg["production"] = version
            reg["history"].append(version)
            self._save(reg)
        return old

    def rollback(self) -> tuple[str, str]:
        """Put the previous production version back; returns ``(from, to)``.

        Raises:
            ModelError: there is no earlier production version.
        """
        with self._lock():
            reg = self._registry()
            current = reg["production"]
            earlier = [v for v in reg["history"] if v != current]
            if current is None or not earlier:
                raise ModelError("nothing to roll back to: no earlier production version")
            target = earlier[-1]
            self.weights_path(target)
            reg["versions"][current]["stage"] = Stage.RETIRED.value
            reg["versions"][target]["stage"] = Stage.PRODUCTION.value
            reg["production"] = target
            reg["history"] = [v for v in reg["history"] if v != current]
            self._save(reg)
        return current, target

    def _registry(self) -> dict[str, Any]:
        path = self.root / REGISTRY
        if not path.exists():
            return {"versions": {}, "production": None, "history": []}
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            raise ModelError(f"{path} is damaged; restore it from a backup") from None

    def _save(self, reg: dict[str, Any]) -> None:
        atomic_write_text(self.root / REGISTRY, json.dumps(reg, indent=2, sort_keys=True))

    def _next_version(self) -> str:
        taken = {p.name for p in self.root.glob("v[0-9]*")} | set(self._registry()["versions"])
        n = 1 + max((int(v[1:]) for v in taken if v[1:].isdigit()), default=0)
        return f"v{n:04d}"

    @contextlib.contextmanager
    def _lock(self) -> Iterator[None]:
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / ".lock", "a+b") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)


def refuse_generator(meta: ModelMeta) -> None:
    """A GAN generator makes images; it never inspects parts.

    Raises:
        ModelError: ``meta`` is a generator's.
    """
    if meta.task == "generate":
        raise ModelError(f"{meta.version} is an image generator (augment --gan); it cannot inspect parts — "
                         "pick a classifier or detector version")


def sha256_file(path: Path) -> str:
    """SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def meta_to_json(meta: ModelMeta) -> str:
    """Metadata as JSON text."""
    return json.dumps(asdict(meta), indent=2, sort_keys=True)


def meta_from_json(data: bytes | str) -> ModelMeta:
    """Inverse of :func:`meta_to_json`."""
    d = json.loads(data)
    d["classes"] = tuple(d["classes"])
    d["roi"] = Roi.from_dict(d["roi"]) if d.get("roi") else None
    return ModelMeta(**d)


def _write_file(path: Path, src: Path | bytes) -> None:
    with open(path, "wb") as out:
        if isinstance(src, bytes):
            out.write(src)
        else:
            with open(src, "rb") as fh:
                shutil.copyfileobj(fh, out)
        out.flush()
        os.fsync(out.fileno())
