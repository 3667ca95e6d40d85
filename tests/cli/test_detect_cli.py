"""Detector training as a user runs it: train --task detect, predict, crop --detector (network blocked)."""

from __future__ import annotations

import socket
from pathlib import Path

import yaml

from inspkit.cli import app
from tests.conftest import RECIPES


def _run(runner, *args):
    return runner.invoke(app, [str(a) for a in args])


def test_detector_trains_predicts_and_places_rois_offline(runner, tmp_path: Path, monkeypatch) -> None:
    data = yaml.safe_load((RECIPES / "pcb-mcu.yaml").read_text())
    data["product"].update(frame_h=96, frame_w=96)
    data["roi"] = {"cx": 48, "cy": 48, "h": 80, "w": 80, "margin": 0.0}
    data["image_size"] = 64
    data["storage"] = {"warn_free_gb": 0.001, "min_free_gb": 0.0}
    data["train"] = {"candidates": ["yolo:yolov8n"], "epochs": 1, "batch_size": 8, "latency_runs": 5}
    recipe = tmp_path / "pcb.yaml"
    recipe.write_text(yaml.safe_dump(data, sort_keys=False))
    ws = tmp_path / "ws"

    def refuse(*_a, **_k):
        raise OSError("network blocked by the test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    _run(runner, "init", ws, "--recipe", recipe)
    _run(runner, "collect", "-w", ws, "--source", "sim:16")
    _run(runner, "label", "-w", ws, "--from-truth")
    result = _run(runner, "train", "-w", ws)
    assert result.exit_code == 0, result.output
    assert "mAP50" in result.output and "version v0001, promoted" in result.output
    assert (ws / "models" / "v0001" / "weights.pt").exists()
    frame = next((ws / "images").rglob("*.png"))
    out = _run(runner, "predict", "-w", ws, frame).output
    assert "yolo:yolov8n" in out
    result = _run(runner, "explain", "-w", ws, "--doubtful", "2", "--out", tmp_path / "cams")
    assert result.exit_code == 0, result.output
    assert len(list((tmp_path / "cams").glob("*.png"))) == 2  # EigenCAM overlays
    result = _run(runner, "crop", "-w", ws, "--detector", "v0001", "--device", "cpu")
    assert result.exit_code == 0, result.output
    assert "detector v0001 placed" in result.output and "created 16 crops" in result.output
