"""The line model: timing (throughput, Little's law), determinism, routing, PLC/MES counts, interrupts."""

from __future__ import annotations

from dataclasses import replace

import pytest

from inspkit.connect.mes import SqliteMes
from inspkit.recipe import recipe_from_dict
from inspkit.types import Goal
from simulator.camera import drift_for, product_for
from simulator.line import LineSetup, run_line
from simulator.metrics import csv_text
from simulator.stubs import TruthModel, TruthVision
from tests.conftest import small_recipe_dict


def _recipe(**simulate: object):
    data = small_recipe_dict()
    data["simulate"] = {**data["simulate"], "parts_per_day": 2000, **simulate}
    return recipe_from_dict(data)


def _setup(recipe, days: int = 3, seed: int = 0, goal: Goal = Goal.REPLACEMENT, mes=None,
           model_error: float = 0.02) -> LineSetup:
    product = product_for(recipe)
    return LineSetup(recipe, drift_for(recipe, product), TruthVision(0.05, 0.2, seed + 1),
                     TruthModel(model_error, seed + 2), None, mes, seed, days, goal)


def test_throughput_and_work_in_process_follow_cycle_time_and_littles_law() -> None:
    recipe = _recipe(vision_ms=700.0, edge_ms=150.0)
    result = run_line(_setup(recipe, days=2))
    cycle_s = recipe.line.cycle_time_ms / 1000
    for row in result.rows:
        assert row.throughput_per_h == pytest.approx(3600 / cycle_s, rel=0.02)
    production_s = sum(r.production_h for r in result.rows) * 3600
    # Little's law: time-average WIP while producing = arrival rate x time in system.
    expected_wip = (0.7 + 0.15) / cycle_s
    assert result.stats.wip_area / production_s == pytest.approx(expected_wip, rel=0.02)
    assert result.stats.flow_s / result.stats.left == pytest.approx(0.85, rel=0.02)
    assert result.stats.entered == result.stats.left == 2 * 2000


def test_same_seed_same_csv_bytes_and_another_seed_differs() -> None:
    recipe = _recipe(parts_per_day=500)
    first = csv_text(run_line(_setup(recipe, days=8, seed=3)).rows)
    again = csv_text(run_line(_setup(recipe, days=8, seed=3)).rows)
    other = csv_text(run_line(_setup(recipe, days=8, seed=4)).rows)
    assert first == again
    assert first != other


def test_weekends_are_idle_days() -> None:
    rows = run_line(_setup(_recipe(parts_per_day=50), days=8)).rows
    assert [r.parts for r in rows] == [50] * 5 + [0, 0] + [50]
    assert rows[5].idle_h == 24.0 and rows[5].fty is None


def test_every_part_gets_one_plc_result_and_one_mes_record(tmp_path) -> None:
    mes = SqliteMes(tmp_path / "mes.db")
    result = run_line(_setup(_recipe(parts_per_day=300), days=3, mes=mes))
    assert sum(result.dispositions.values()) == result.parts == 900
    assert mes.count() == 900
    good_out = sum(r.good_out for r in result.rows)
    assert result.dispositions["next"] == good_out
    mes.close()


@pytest.mark.parametrize("goal", list(Goal))
def test_goal_routing_decides_who_counts(goal: Goal) -> None:
    row = run_line(_setup(_recipe(parts_per_day=2000), days=1, goal=goal, model_error=0.0)).rows[0]
    if goal is Goal.REPLACEMENT:  # a perfect model decides everything
        assert row.final_accuracy == 1.0
    elif goal is Goal.FP_REDUCTION:  # no false calls left, vision escapes stay
        assert row.false_call_rate == 0.0 and row.escape_rate > 0.05
    else:  # tp-improvement: no escapes left, vision false calls stay
        assert row.escape_rate == 0.0 and row.false_call_rate > 0.01


def test_without_a_model_the_vision_verdict_drives_the_line() -> None:
    setup = replace(_setup(_recipe(parts_per_day=1000), days=1), model=None)
    row = run_line(setup).rows[0]
    assert row.model_accuracy is None
    assert row.final_accuracy == row.vision_accuracy


def test_interrupt_keeps_the_complete_days() -> None:
    def stop_on_day_two(row) -> None:
        if row.day == 2:
            raise KeyboardInterrupt

    result = run_line(_setup(_recipe(parts_per_day=100), days=10), stop_on_day_two)
    assert result.interrupted
    assert [r.day for r in result.rows] == [0, 1, 2]


def test_the_line_runs_without_torch() -> None:
    # The model is injected; the line, its stations and its report never import torch.
    import subprocess
    import sys

    code = ("import sys; import simulator.runner, simulator.line, simulator.stations, simulator.vision, "
            "simulator.maintainer; "
            "print([m for m in ('torch', 'timm', 'ultralytics') if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_a_station_slower_than_the_cycle_sets_the_throughput() -> None:
    # Parts arrive every 2 s but the vision station needs 4 s: the line makes about 900 an hour.
    recipe = _recipe(parts_per_day=1000, vision_ms=4000.0)
    row = run_line(_setup(recipe, days=1)).rows[0]
    assert row.throughput_per_h == pytest.approx(900, rel=0.02)
    assert row.parts == 1000
