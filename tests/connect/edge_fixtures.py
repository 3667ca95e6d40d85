"""A workspace with an untrained tiny classifier in production, and a running edge service around it.

Weights do not matter for the connect path, so nothing is trained: a freshly
initialised network is stored and promoted, as a trained one would be.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pytest

from inspkit.connect.edge import Edge, EdgeOptions, start_edge
from inspkit.connect.service import ServiceConfig
from inspkit.models.types import ModelMeta
from inspkit.recipe import load_recipe
from inspkit.store.workspace import Workspace
from inspkit.types import Goal, Roi

ARCH = "timm:resnet18"


def store_fresh_model(models_dir: Path, seed: int = 0, size: int = 32) -> str:
    """Store a freshly initialised classifier and promote it; returns its version."""
    import torch
    from safetensors.torch import save_file

    from inspkit.models.registry import create_model
    from inspkit.models.store import ModelStore

    torch.manual_seed(seed)
    weights = models_dir.parent / f"fresh-{seed}.safetensors"
    save_file({k: v.contiguous() for k, v in create_model(ARCH, num_classes=2).state_dict().items()}, str(weights))
    meta = ModelMeta(
        version="", task="classify", architecture=ARCH, input_size=size, classes=("NG", "OK"),
        roi=Roi(32, 32, 44, 44), thresholds={"ok": 0.5}, metrics={}, train_seconds=0.0, data_hash="",
        parent=None, created_at=datetime.now(timezone.utc).isoformat(), weights_file="model.safetensors",
        weights_sha256="",
    )
    store = ModelStore(models_dir)
    version = store.add(meta, {"model.safetensors": weights}).version
    store.promote(version)
    return version


@pytest.fixture
def edge_ws(tmp_path: Path, recipe_file: Path) -> Path:
    """A workspace (64 px frames) with v0001, untrained, in production."""
    root = tmp_path / "ws"
    Workspace.create(root, load_recipe(recipe_file)).close()
    store_fresh_model(root / "models")
    return root


def options(ws: Path, goal: Goal = Goal.REPLACEMENT, mes: Path | None = None, **kw: object) -> EdgeOptions:
    """Edge options on loopback, a free port, memory PLC, SQLite MES in the test folder."""
    config = ServiceConfig(goal, deadline_s=float(kw.pop("deadline_s", 5.0)), plc_budget_s=0.1,
                           shadow=bool(kw.pop("shadow", False)))
    mes_url = str(kw.pop("mes_url", f"sqlite:///{mes or ws.parent / 'mes.db'}"))
    return EdgeOptions(ws, config, "127.0.0.1", 0, str(kw.pop("plc_url", "memory://")), mes_url,
                       device="cpu", poll_s=0.1, **kw)


@pytest.fixture
def edge(edge_ws: Path) -> Iterator[Edge]:
    """A running edge service (replacement goal) on the workspace."""
    running = start_edge(options(edge_ws))
    yield running
    running.stop()


def frame_image(good: bool = True, seed: int = 0) -> np.ndarray:
    """A 64x64 RGB frame."""
    rng = np.random.default_rng(seed)
    base = 180 if good else 60
    return np.clip(rng.normal(base, 20, (64, 64, 3)), 0, 255).astype(np.uint8)
