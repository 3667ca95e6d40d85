"""Shared fixtures: a small recipe, a workspace, a CLI runner, tiny images."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from inspkit.recipe import load_recipe
from inspkit.store.workspace import Workspace

ROOT = Path(__file__).resolve().parents[1]
RECIPES = ROOT / "recipes"


def small_recipe_dict(**overrides: object) -> dict:
    """The cylinder-bonding recipe shrunk to 64x64 frames, for fast tests."""
    data = yaml.safe_load((RECIPES / "cylinder-bonding.yaml").read_text())
    data["product"].update(frame_h=64, frame_w=64)
    data["roi"] = {"cx": 32, "cy": 32, "h": 44, "w": 44, "margin": 0.0}
    data["image_size"] = 32
    data["storage"] = {"warn_free_gb": 0.001, "min_free_gb": 0.0}
    data.update(overrides)
    return data


@pytest.fixture
def recipe_file(tmp_path: Path) -> Path:
    path = tmp_path / "recipe.yaml"
    path.write_text(yaml.safe_dump(small_recipe_dict(), sort_keys=False))
    return path


@pytest.fixture
def ws(tmp_path: Path, recipe_file: Path) -> Workspace:
    workspace = Workspace.create(tmp_path / "ws", load_recipe(recipe_file))
    yield workspace
    workspace.close()


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def write_png(path: Path, seed: int, size: int = 24) -> Path:
    """A small random RGB PNG (distinct per seed)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    img = np.random.default_rng(seed).integers(0, 256, (size, size, 3), dtype=np.uint8)
    cv2.imwrite(str(path), img)
    return path
