"""A run as the CLI starts it: files in the run folder, checkpoints, a valid partial report on Ctrl-C."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from inspkit.recipe import recipe_from_dict
from inspkit.types import Goal
from simulator.metrics import read_csv
from simulator.runner import SimRequest, run_simulation
from simulator.stubs import TruthModel, TruthVision
from tests.conftest import small_recipe_dict


def _request(tmp_path: Path, days: int) -> SimRequest:
    data = small_recipe_dict()
    data["simulate"] = {**data["simulate"], "parts_per_day": 40}
    return SimRequest(recipe_from_dict(data), 7, days, Goal.FP_REDUCTION, tmp_path / "run", "inspkit simulate", images=False)


def test_a_run_leaves_metrics_mes_recipe_and_report(tmp_path: Path) -> None:
    outcome = run_simulation(_request(tmp_path, 9), TruthVision(0.05, 0.2, 1), TruthModel(0.05, 2))
    rows = read_csv(outcome.metrics_csv.read_text())
    assert [r.day for r in rows] == list(range(9))
    with sqlite3.connect(outcome.mes_db) as conn:
        assert conn.execute("SELECT COUNT(*) FROM inspections").fetchone()[0] == sum(r.parts for r in rows) == 7 * 40
    assert (tmp_path / "run" / "recipe.yaml").is_file()
    text = outcome.report.report.read_text()
    assert "fp-reduction" in text and "Interrupted" not in text


def test_ctrl_c_leaves_a_valid_partial_report(tmp_path: Path) -> None:
    def interrupt(row) -> None:
        if row.day == 3:
            raise KeyboardInterrupt

    outcome = run_simulation(_request(tmp_path, 50), TruthVision(0.05, 0.2, 1), TruthModel(0.05, 2), interrupt)
    assert outcome.result.interrupted
    rows = read_csv(outcome.metrics_csv.read_text())
    assert [r.day for r in rows] == [0, 1, 2, 3]
    assert "Interrupted after day 4 of 50" in outcome.report.report.read_text()


def test_a_second_run_in_the_same_folder_replaces_the_first(tmp_path: Path) -> None:
    run_simulation(_request(tmp_path, 9), TruthVision(0.05, 0.2, 1), TruthModel(0.05, 2))
    outcome = run_simulation(_request(tmp_path, 2), TruthVision(0.05, 0.2, 1), TruthModel(0.05, 2))
    assert len(read_csv(outcome.metrics_csv.read_text())) == 2
    with sqlite3.connect(outcome.mes_db) as conn:
        assert conn.execute("SELECT COUNT(*) FROM inspections").fetchone()[0] == 80
