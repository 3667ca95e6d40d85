"""``inspkit simulate`` end to end on tiny frames: first model, run folder, determinism, bad input."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
import yaml

from inspkit.cli import app
from tests.cli.test_cli import _error_line
from tests.conftest import RECIPES, small_recipe_dict


def _run(runner, *args):
    return runner.invoke(app, [str(a) for a in args])


def _tiny_recipe(tmp_path: Path, **simulate: object) -> Path:
    data = small_recipe_dict()
    data["train"] = {**data["train"], "epochs": 1, "batch_size": 16}
    data["augment"] = {**data["augment"], "factor": 1}
    data["simulate"] = {**data["simulate"], "parts_per_day": 30, "setup_images": 24,
                        "vision_tuning_parts": 60, "image_size": 32, "batch": 16, **simulate}
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


@pytest.fixture(scope="module")
def first_run(tmp_path_factory) -> Path:
    """One tiny run that trains its first model (shared by the tests below)."""
    from typer.testing import CliRunner

    tmp = tmp_path_factory.mktemp("sim")
    result = _run(CliRunner(), "simulate", "--days", 3, "-r", _tiny_recipe(tmp), "--out", tmp / "run")
    assert result.exit_code == 0, result.output
    return tmp / "run"


def test_first_run_trains_a_model_and_writes_the_run_folder(first_run: Path) -> None:
    assert (first_run / "workspace" / "models" / "registry.json").is_file()
    lines = (first_run / "metrics.csv").read_text().splitlines()
    assert len(lines) == 1 + 3
    with sqlite3.connect(first_run / "mes.db") as conn:
        rows = conn.execute("SELECT COUNT(*), COUNT(model_verdict), COUNT(vision_verdict) FROM inspections").fetchone()
    assert rows == (90, 90, 90)
    assert (first_run / "report.md").is_file() and (first_run / "accuracy.png").is_file()


def test_same_model_and_seed_give_byte_identical_metrics(runner, first_run: Path, tmp_path: Path) -> None:
    ws = first_run / "workspace"
    for name in ("a", "b"):
        result = _run(runner, "simulate", "--days", 3, "-w", ws, "--seed", 5, "--out", tmp_path / name)
        assert result.exit_code == 0, result.output
    assert (tmp_path / "a" / "metrics.csv").read_bytes() == (tmp_path / "b" / "metrics.csv").read_bytes()


def test_goal_flag_changes_who_decides(runner, first_run: Path, tmp_path: Path) -> None:
    ws = first_run / "workspace"
    result = _run(runner, "simulate", "--days", 1, "-w", ws, "--goal", "fp-reduction", "--out", tmp_path / "fp")
    assert result.exit_code == 0, result.output
    with sqlite3.connect(tmp_path / "fp" / "mes.db") as conn:
        wrong = conn.execute("SELECT COUNT(*) FROM inspections WHERE vision_verdict = 'OK' AND decided_by = 'model'")
        assert wrong.fetchone()[0] == 0


@pytest.mark.parametrize(("args", "message"), [
    (["--days", "0"], "'simulate.days' is 0"),
    (["--parts-per-day", "-5"], "'simulate.parts_per_day' is -5"),
])
def test_bad_numbers_give_one_line_errors(runner, tmp_path: Path, args: list[str], message: str) -> None:
    line = _error_line(_run(runner, "simulate", "-r", _tiny_recipe(tmp_path), "--out", tmp_path / "r", *args))
    assert message in line


def test_unknown_goal_is_refused(runner, tmp_path: Path) -> None:
    result = _run(runner, "simulate", "-r", _tiny_recipe(tmp_path), "--goal", "faster", "--out", tmp_path / "r")
    assert result.exit_code == 2 and "faster" in result.output and "Traceback" not in result.output


def test_drift_of_an_unknown_parameter_is_refused(runner, tmp_path: Path) -> None:
    data = small_recipe_dict()
    data["drift"]["ramps"].append({"param": "lamp_colour", "by": [1.0]})
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(data))
    line = _error_line(_run(runner, "simulate", "-r", path, "--out", tmp_path / "r"))
    assert "lamp_colour" in line and "illum_gain" in line


def test_multiclass_recipe_and_a_file_as_out_are_refused(runner, tmp_path: Path) -> None:
    line = _error_line(_run(runner, "simulate", "-r", RECIPES / "nav-icons.yaml", "--out", tmp_path / "r"))
    assert "OK/NG recipe" in line
    (tmp_path / "file").write_text("x")
    line = _error_line(_run(runner, "simulate", "-r", _tiny_recipe(tmp_path), "--out", tmp_path / "file"))
    assert "is a file" in line


def test_ctrl_c_stops_after_a_complete_day_with_a_valid_report(first_run: Path, tmp_path: Path) -> None:
    import signal
    import subprocess
    import sys
    import time

    from simulator.metrics import read_csv

    out = tmp_path / "stopped"
    proc = subprocess.Popen([sys.executable, "-m", "inspkit", "simulate", "--days", "5000",
                             "-w", first_run / "workspace", "--out", out],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    def checkpointed() -> bool:  # the first checkpoint (day 30) shows the line is running
        path = out / "metrics.csv"
        return path.exists() and len(path.read_text().splitlines()) > 1

    deadline = time.monotonic() + 120
    while not checkpointed() and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130, stdout + stderr
    assert "interrupted" in stdout and "Traceback" not in stdout + stderr
    rows = read_csv((out / "metrics.csv").read_text())
    assert len(rows) >= 30 and [r.day for r in rows] == list(range(len(rows)))
    assert f"Interrupted after day {len(rows)} of 5000" in (out / "report.md").read_text()


def _managed_recipe(tmp_path: Path, policy: str) -> Path:
    path = _tiny_recipe(tmp_path)
    data = yaml.safe_load(path.read_text())
    data["manage"] = {"policy": policy, "slot_days": 1.0, "finetune_epochs": 2}
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def test_an_unknown_update_policy_is_refused(runner, first_run: Path, tmp_path: Path) -> None:
    from inspkit.cli._simulate import prepare
    from inspkit.errors import InputError

    line = _error_line(_run(runner, "simulate", "-r", _managed_recipe(tmp_path, "fastest"), "--out", tmp_path / "r"))
    assert "unknown update policy 'fastest'" in line and "fsr" in line
    with pytest.raises(InputError, match="unknown update policy 'ft-0'"):
        prepare(None, first_run / "workspace", tmp_path / "r2", {}, "cpu", "inspkit simulate", policy="ft-0")


def test_policy_none_runs_without_a_maintainer(first_run: Path, tmp_path: Path) -> None:
    from inspkit.cli._simulate import prepare, run_with_progress

    plan = prepare(_managed_recipe(tmp_path, "fsr"), first_run / "workspace", tmp_path / "none",
                   {"simulate.days": 1}, "cpu", "inspkit simulate", policy="none")
    assert plan.maintainer is None and plan.request.policy == "none"
    outcome = run_with_progress(plan)
    assert outcome.updates_csv is None and not (tmp_path / "none" / "updates.csv").exists()
    assert (tmp_path / "none" / "metrics.csv").read_text().splitlines()[1].endswith(",,,")


def test_a_maintained_run_updates_the_model_and_repeats_byte_for_byte(first_run: Path, tmp_path: Path) -> None:
    from inspkit.cli._simulate import prepare, run_with_progress
    from simulator.metrics import read_csv

    recipe = _managed_recipe(tmp_path, "ft-1")  # a fine-tune, then a re-train instead of the second
    for name in ("a", "b"):
        plan = prepare(recipe, first_run / "workspace", tmp_path / name, {"simulate.days": 4}, "cpu", "inspkit simulate")
        assert plan.request.policy == "ft-1"
        run_with_progress(plan)
    metrics = [(tmp_path / n / "metrics.csv").read_bytes() for n in ("a", "b")]
    assert metrics[0] == metrics[1]
    rows = read_csv(metrics[0].decode())
    assert all(r.reviewed == r.parts for r in rows) and sum(r.failed for r in rows) > 0
    kinds = [line.split(",")[1] for line in (tmp_path / "a" / "updates.csv").read_text().splitlines()[1:]]
    assert kinds[:2] == ["finetune", "retrain"]
    assert "## Model maintenance" in (tmp_path / "a" / "report.md").read_text()


def test_the_policy_flag_runs_the_maintenance_loop(runner, first_run: Path, tmp_path: Path) -> None:
    ws = first_run / "workspace"
    bad = _error_line(_run(runner, "simulate", "-w", ws, "--policy", "nope", "--out", tmp_path / "bad"))
    assert "unknown update policy 'nope'" in bad
    result = _run(runner, "simulate", "-w", ws, "--policy", "ft-1", "--days", "3", "--out", tmp_path / "ft")
    assert result.exit_code == 0, result.output
    assert "model updates:" in result.output and (tmp_path / "ft" / "updates.csv").is_file()
