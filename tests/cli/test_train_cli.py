"""Training stage as a user runs it: train, models, predict, explain, export, and bad input."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest

from inspkit.cli import app
from tests.cli.test_cli import _error_line
from tests.conftest import ROOT


def _run(runner, *args):
    return runner.invoke(app, [str(a) for a in args])


@pytest.fixture
def trained(runner, tmp_path: Path, recipe_file: Path, monkeypatch) -> Path:
    """A workspace with one tiny production classifier, trained with the network blocked."""
    def refuse(*_a, **_k):
        raise OSError("network blocked by the test")

    ws = tmp_path / "ws"
    assert _run(runner, "init", ws, "--recipe", recipe_file).exit_code == 0
    _run(runner, "collect", "-w", ws, "--source", "sim:40")
    _run(runner, "label", "-w", ws, "--from-truth")
    _run(runner, "crop", "-w", ws)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    result = _run(runner, "train", "-w", ws, "--candidates", "timm:resnet18", "--epochs", "1", "--image-size", "32")
    assert result.exit_code == 0, result.output
    assert "chose timm:resnet18 → version v0001, promoted to production" in result.output
    return ws


def test_train_stores_a_verified_version_with_its_table(runner, trained: Path) -> None:
    version = trained / "models" / "v0001"
    assert {"weights.safetensors", "meta.json", "table.md", "table.csv"} <= {p.name for p in version.iterdir()}
    out = _run(runner, "models", "list", "-w", trained).output
    assert "v0001" in out and "production" in out
    shown = _run(runner, "models", "show", "-w", trained).output
    assert '"architecture": "timm:resnet18"' in shown and '"data_hash"' in shown
    split_counts = {s for s in ("train", "val", "test") if s in _run(runner, "status", "-w", trained).output}
    assert split_counts == {"train", "val", "test"}


def test_predict_and_explain_and_export(runner, trained: Path, tmp_path: Path) -> None:
    frame = next((trained / "images").rglob("*.png"))
    out = _run(runner, "predict", "-w", trained, frame).output
    assert "v0001" in out and ("OK" in out or "NG" in out)
    result = _run(runner, "explain", "-w", trained, "--doubtful", "2", "--out", tmp_path / "cams")
    assert result.exit_code == 0, result.output
    assert len(list((tmp_path / "cams").glob("*.png"))) == 2
    result = _run(runner, "models", "export", "-w", trained, "--out", tmp_path / "m.onnx")
    assert result.exit_code == 0 and (tmp_path / "m.onnx").exists() and "max |Δlogit|" in result.output


def test_second_version_is_a_candidate_until_promoted_and_can_roll_back(runner, trained: Path) -> None:
    result = _run(runner, "train", "-w", trained, "--candidates", "timm:mobilenetv3_small_100", "--epochs", "1", "--image-size", "32")
    assert "v0002, stored as a candidate" in result.output
    assert "v0001 → v0002" in _run(runner, "models", "promote", "v0002", "-w", trained).output
    assert "v0002 → v0001" in _run(runner, "models", "rollback", "-w", trained).output


def test_bad_training_input_is_one_line_and_stores_nothing(runner, trained: Path) -> None:
    assert "did you mean" in _error_line(_run(runner, "train", "-w", trained, "--candidates", "timm:resnet19"))
    assert "is a detect model" in _error_line(_run(runner, "train", "-w", trained, "--candidates", "yolo:yolov8n"))
    line = _error_line(_run(runner, "train", "-w", trained, "--candidates", "timm:inception_v3", "--epochs", "1", "--image-size", "32"))
    assert "cannot take 32x32 inputs" in line
    assert sorted(p.name for p in (trained / "models").glob("v*")) == ["v0001"]
    assert len(list((trained / "runs").glob("train-*"))) == 1  # only the first, good run


def test_tampered_model_and_missing_production_are_one_line(runner, trained: Path, tmp_path: Path, recipe_file: Path) -> None:
    (trained / "models" / "v0001" / "weights.safetensors").write_bytes(b"tampered")
    frame = next((trained / "images").rglob("*.png"))
    assert "changed after it was stored" in _error_line(_run(runner, "predict", "-w", trained, frame))
    fresh = tmp_path / "fresh"
    _run(runner, "init", fresh, "--recipe", recipe_file)
    assert "no production model yet" in _error_line(_run(runner, "predict", "-w", fresh, frame))


def test_inferencer_never_imports_training_code(trained: Path) -> None:
    code = (
        "import sys; from inspkit.models.inferencer import Inferencer; import numpy as np;"
        f"inf = Inferencer.load(__import__('pathlib').Path(r'{trained}') / 'models', device='cpu');"
        "r = inf.predict(np.zeros((64, 64, 3), np.uint8)); print(r.verdict);"
        "print('TRAINING', [m for m in ('inspkit.models.engine', 'inspkit.models.select', "
        "'inspkit.models.candidates', 'inspkit.models.yolo') if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True).stdout
    assert "TRAINING []" in out
