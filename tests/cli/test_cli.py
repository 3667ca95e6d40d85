"""The CLI as a user runs it: help, version, the walkthrough, one-line errors."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import yaml

from inspkit.cli import app
from tests.conftest import ROOT, small_recipe_dict, write_png


def _run(runner, *args: str):
    return runner.invoke(app, [str(a) for a in args])


def test_help_lists_working_verbs_and_imports_nothing_heavy() -> None:
    code = (
        "import sys; from typer.testing import CliRunner; from inspkit.cli import app;"
        "r = CliRunner().invoke(app, ['--help']); print(r.output);"
        "heavy = [m for m in ('numpy', 'cv2', 'torch', 'simulator') if m in sys.modules];"
        "print('HEAVY', heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True).stdout
    for verb in ("init", "status", "collect", "label", "crop", "augment", "sheet", "train", "models", "predict", "explain"):
        assert verb in out
    assert "HEAVY []" in out


def test_version(runner) -> None:
    result = _run(runner, "--version")
    assert result.exit_code == 0 and result.output.startswith("inspkit 0.")


def test_walkthrough_on_simulated_data(runner, tmp_path: Path, recipe_file: Path) -> None:
    ws = tmp_path / "ws"
    assert _run(runner, "init", ws, "--recipe", recipe_file).exit_code == 0
    result = _run(runner, "collect", "-w", ws, "--source", "sim:20")
    assert result.exit_code == 0 and "added 20" in result.output
    assert "added 10" in _run(runner, "collect", "-w", ws, "--source", "sim:10").output  # new frames, not repeats
    assert _run(runner, "label", "-w", ws, "--from-truth").exit_code == 0
    result = _run(runner, "crop", "-w", ws, "--margin", "0.05")
    assert result.exit_code == 0 and "created 30 crops" in result.output
    result = _run(runner, "augment", "-w", ws, "--factor", "2", "--ops", "color,noise")
    assert result.exit_code == 0 and "created 60" in result.output
    result = _run(runner, "status", "-w", ws, "--check")
    assert result.exit_code == 0 and "integrity: ok" in result.output and "augment" in result.output
    sheet = tmp_path / "sheet.png"
    result = _run(runner, "sheet", "-w", ws, "--source", "crop", "-n", "10", "--tile-px", "32", "--out", sheet)
    assert result.exit_code == 0 and "10 samples" in result.output
    assert cv2.imread(str(sheet)).shape == (2 * (32 + 14), 8 * 32, 3)


def test_a_sorted_vision_folder_labels_by_layout(runner, tmp_path: Path, recipe_file: Path) -> None:
    from simulator.vision_folder import write_frames

    ws = tmp_path / "ws"
    _run(runner, "init", ws, "--recipe", recipe_file)
    paths = write_frames(tmp_path / "pc", "cylinder_bonding", 12, seed=4, sorted_by_label=True)
    result = _run(runner, "label", "-w", ws, "--from-folders", tmp_path / "pc")
    assert result.exit_code == 0 and "labelled 12 samples (12 newly collected)" in result.output
    layout = {p.parent.name if p.parent.parent.name == "ng" else "OK" for p in paths}
    assert layout - {"OK"} and "OK" in layout


def _error_line(result) -> str:
    assert result.exit_code != 0, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.output
    assert "Traceback" not in result.output
    return lines[0]


def test_bad_input_gives_one_line_errors(runner, tmp_path: Path, recipe_file: Path) -> None:
    ws = tmp_path / "ws"
    _run(runner, "init", ws, "--recipe", recipe_file)
    (tmp_path / "empty").mkdir()
    assert "holds no files" in _error_line(_run(runner, "collect", "-w", ws, "--source", f"folder:{tmp_path / 'empty'}"))
    assert "not a readable folder" in _error_line(_run(runner, "collect", "-w", ws, "--source", "folder:/no/such"))
    assert "not folder:PATH or sim:N" in _error_line(_run(runner, "collect", "-w", ws, "--source", "ftp:x"))
    assert "positive whole number" in _error_line(_run(runner, "collect", "-w", ws, "--source", "sim:-3"))
    assert "not an inspkit workspace" in _error_line(_run(runner, "status", "-w", tmp_path))
    assert "already a workspace" in _error_line(_run(runner, "init", ws, "--recipe", recipe_file))
    assert "exactly one of" in _error_line(_run(runner, "label", "-w", ws))
    assert "unknown augmentation op" in _error_line(_run(runner, "augment", "-w", ws, "--ops", "blur"))
    assert "four numbers" in _error_line(_run(runner, "crop", "-w", ws, "--roi", "1,2"))


def test_unknown_recipe_key_is_one_line(runner, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(small_recipe_dict(flavour="x"), sort_keys=False))
    line = _error_line(_run(runner, "init", tmp_path / "ws", "--recipe", bad))
    assert "unknown key 'flavour'" in line and "valid keys" in line
    assert not (tmp_path / "ws" / "inspkit.yaml").exists()


def test_storage_below_the_limit_refuses_and_keeps_what_is_stored(runner, tmp_path: Path) -> None:
    recipe = tmp_path / "r.yaml"
    recipe.write_text(yaml.safe_dump(small_recipe_dict(), sort_keys=False))
    ws = tmp_path / "ws"
    _run(runner, "init", ws, "--recipe", recipe)
    _run(runner, "collect", "-w", ws, "--source", "sim:5")
    resolved = ws / "inspkit.yaml"
    data = yaml.safe_load(resolved.read_text())
    data["storage"] = {"warn_free_gb": 1e6, "min_free_gb": 1e6}
    resolved.write_text(yaml.safe_dump(data, sort_keys=False))
    assert "storage.min_free_gb" in _error_line(_run(runner, "collect", "-w", ws, "--source", "sim:5"))
    data["storage"] = {"warn_free_gb": 1.0, "min_free_gb": 0.0}
    resolved.write_text(yaml.safe_dump(data, sort_keys=False))
    assert "integrity: ok (5 samples" in _run(runner, "status", "-w", ws, "--check").output


def test_duplicate_import_is_counted_not_an_error(runner, tmp_path: Path, recipe_file: Path) -> None:
    ws = tmp_path / "ws"
    _run(runner, "init", ws, "--recipe", recipe_file)
    write_png(tmp_path / "in" / "a.png", 1)
    _run(runner, "collect", "-w", ws, "--source", f"folder:{tmp_path / 'in'}")
    result = _run(runner, "collect", "-w", ws, "--source", f"folder:{tmp_path / 'in'}")
    assert result.exit_code == 0 and "added 0, duplicates skipped 1" in result.output


def test_traceback_only_with_debug(tmp_path: Path) -> None:
    cmd = [sys.executable, "-m", "inspkit", "status", "-w", str(tmp_path)]
    plain = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    assert plain.returncode == 2 and "Traceback" not in plain.stderr and plain.stderr.startswith("error: ")
    debug = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, env={**os.environ, "INSPKIT_DEBUG": "1"})
    assert debug.returncode != 0 and "Traceback" in debug.stderr


def test_collect_from_line_b_records_its_ids_and_looks_dimmer_and_warmer(
        runner, tmp_path: Path, recipe_file: Path) -> None:
    from inspkit.data.imageio import read_image
    from inspkit.store.workspace import Workspace

    ws = tmp_path / "ws"
    _run(runner, "init", ws, "--recipe", recipe_file)
    assert "added 16" in _run(runner, "collect", "-w", ws, "--source", "sim:16").output
    result = _run(runner, "collect", "-w", ws, "--source", "sim:16", "--line", "B")
    assert result.exit_code == 0 and "added 16, duplicates skipped 0" in result.output
    with Workspace.open(ws) as opened:
        samples = list(opened.samples.select())
        images = {s.part_serial: read_image(opened.path(s.image_path)).astype(float) for s in samples}
    by_line = {line: [s for s in samples if s.line == line] for line in ("L1", "B")}
    assert len(by_line["L1"]) == len(by_line["B"]) == 16
    assert {s.station for s in by_line["B"]} == {"S2"} and {s.station for s in by_line["L1"]} == {"S1"}
    assert all(s.truth is not None and s.truth.roi is not None for s in by_line["B"])
    mean = {line: np.mean([images[s.part_serial].mean(axis=(0, 1)) for s in group], axis=0)
            for line, group in by_line.items()}
    assert mean["B"].mean() < 0.9 * mean["L1"].mean()  # illum_gain 0.8
    assert mean["B"][0] / mean["B"][2] > mean["L1"][0] / mean["L1"][2]  # a warmer cast


def test_collect_from_an_unknown_line_lists_the_known_ones(runner, tmp_path: Path, recipe_file: Path) -> None:
    ws = tmp_path / "ws"
    _run(runner, "init", ws, "--recipe", recipe_file)
    line = _error_line(_run(runner, "collect", "-w", ws, "--source", "sim:3", "--line", "Z"))
    assert "line 'Z' is not in the recipe; known lines: L1 (main), B" in line
    assert "--line works with --source sim:N only" in _error_line(
        _run(runner, "collect", "-w", ws, "--source", f"folder:{tmp_path}", "--line", "B"))
    assert "--line" in _run(runner, "collect", "--help").output
