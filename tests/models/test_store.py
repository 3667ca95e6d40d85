"""Model store: immutable verified versions, stages, promote and rollback."""

from __future__ import annotations

import json

import pytest

from inspkit.errors import ModelError
from inspkit.models.store import ModelStore
from inspkit.models.types import ModelMeta, Stage


def _meta() -> ModelMeta:
    return ModelMeta(
        version="", task="classify", architecture="timm:resnet18", input_size=32, classes=("NG", "OK"),
        roi=None, thresholds={"ok": 0.5, "box": 0.8}, metrics={"accuracy": 0.9}, train_seconds=1.0,
        data_hash="abc", parent=None, created_at="2026-01-01T00:00:00+00:00",
        weights_file="weights.safetensors", weights_sha256="",
    )


def _add(store: ModelStore, payload: bytes) -> str:
    return store.add(_meta(), {"weights.safetensors": payload, "table.md": b"| x |"}).version


def test_versions_are_numbered_and_verified(tmp_path) -> None:
    store = ModelStore(tmp_path / "models")
    assert (_add(store, b"one"), _add(store, b"two")) == ("v0001", "v0002")
    assert [i.stage for i in store.list()] == [Stage.CANDIDATE, Stage.CANDIDATE]
    assert store.weights_path("v0002").read_bytes() == b"two"
    assert (tmp_path / "models" / "v0001" / "table.md").exists()


def test_promote_and_rollback_switch_production(tmp_path) -> None:
    store = ModelStore(tmp_path / "models")
    v1, v2 = _add(store, b"one"), _add(store, b"two")
    assert store.promote(v1) is None and store.production() == v1
    assert store.promote(v2) == v1
    stages = {i.meta.version: i.stage for i in store.list()}
    assert stages == {v1: Stage.RETIRED, v2: Stage.PRODUCTION}
    assert store.rollback() == (v2, v1) and store.production() == v1
    with pytest.raises(ModelError, match="nothing to roll back"):
        store.rollback()


def test_missing_production_and_unknown_versions_are_clear_errors(tmp_path) -> None:
    store = ModelStore(tmp_path / "models")
    with pytest.raises(ModelError, match="no production model yet"):
        store.resolve(None)
    _add(store, b"one")
    with pytest.raises(ModelError, match="'v0009' does not exist; versions: v0001"):
        store.resolve("v0009")


def test_tampered_weights_or_metadata_are_refused_and_not_promoted(tmp_path) -> None:
    store = ModelStore(tmp_path / "models")
    v1, v2 = _add(store, b"one"), _add(store, b"two")
    store.promote(v1)
    (tmp_path / "models" / v2 / "weights.safetensors").write_bytes(b"evil")
    with pytest.raises(ModelError, match="changed after it was stored"):
        store.weights_path(v2)
    with pytest.raises(ModelError, match="changed after it was stored"):
        store.promote(v2)
    assert store.production() == v1
    meta_path = tmp_path / "models" / v1 / "meta.json"
    data = json.loads(meta_path.read_text())
    data["thresholds"]["ok"] = 0.01
    meta_path.write_text(json.dumps(data))
    with pytest.raises(ModelError, match="meta.json hash differs"):
        store.meta(v1)
    meta_path.unlink()
    with pytest.raises(ModelError, match="meta.json is missing"):
        store.meta(v1)
