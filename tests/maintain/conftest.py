"""A workspace with a tiny production classifier and newly inspected, scored samples.

Built once per test session (training is the slow part) and copied for each test.
"""

from __future__ import annotations

import shutil
import socket
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from inspkit.cli import app
from tests.conftest import small_recipe_dict


def _run(*args: object) -> None:
    result = CliRunner().invoke(app, [str(a) for a in args])
    assert result.exit_code == 0, result.output


@pytest.fixture(scope="session")
def _scored_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("scored")
    recipe = base / "recipe.yaml"
    data = small_recipe_dict()
    data["train"]["epochs"] = 2  # updates re-train with the recipe's settings: keep them tiny
    data.setdefault("manage", {})["finetune_epochs"] = 2
    recipe.write_text(yaml.safe_dump(data, sort_keys=False))
    ws = base / "ws"
    _run("init", ws, "--recipe", recipe)
    _run("collect", "-w", ws, "--source", "sim:40")
    _run("label", "-w", ws, "--from-truth")
    _run("crop", "-w", ws)
    saved = socket.socket.connect
    socket.socket.connect = _refuse  # no network while training
    try:
        _run("train", "-w", ws, "--candidates", "timm:resnet18", "--epochs", "1", "--image-size", "32")
    finally:
        socket.socket.connect = saved
    _run("collect", "-w", ws, "--source", "sim:12", "--seed", "99")  # parts inspected after go-live
    _score(ws)
    return ws


def _refuse(*_a: object, **_k: object) -> None:
    raise OSError("network blocked by the test")


def _score(root: Path) -> None:
    from inspkit.maintain.queue import score_new
    from inspkit.models.inferencer import Inferencer
    from inspkit.store.workspace import Workspace

    with Workspace.open(root) as ws:
        score_new(ws, Inferencer.load(ws.root / "models", device="cpu"))


@pytest.fixture
def scored_ws(_scored_template: Path, tmp_path: Path) -> Path:
    """A copy of the template workspace: v0001 in production, 12 scored inspected samples."""
    target = tmp_path / "ws"
    shutil.copytree(_scored_template, target)
    return target
