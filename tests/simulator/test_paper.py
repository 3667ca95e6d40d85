"""The paper's policy comparison on a tiny spec: every policy runs, decisions follow the rules."""

from __future__ import annotations

import csv
import io
from dataclasses import replace
from itertools import pairwise

import pytest

from inspkit.maintain.policy import parse_policies
from inspkit.recipe import load_recipe
from simulator.paper import PaperResult, run_protocol
from simulator.paper_data import ProtocolSpec
from simulator.paper_report import CSV_COLUMNS, TIMING_COLUMNS, csv_text, summarise, write_outputs
from tests.conftest import RECIPES

NAMES = "ft-only,wt-only,ft-1,fsr,replay"
TINY = ProtocolSpec(initial_per_class=4, test_per_class=4, tick_days=15, new_per_class=3,
                    current_per_class=2, days=45, image_size=16, epochs=1, batch_size=8, seed=3)


def _run(spec: ProtocolSpec = TINY, names: str = NAMES, beta: float = 0.2) -> PaperResult:
    recipe = load_recipe(RECIPES / "cylinder-bonding.yaml")
    return run_protocol(recipe, spec, parse_policies(names, beta), "cpu")


@pytest.fixture(scope="module")
def result() -> PaperResult:
    return _run()


def _rows(result: PaperResult, policy: str) -> list:
    return [r for r in result.rows if r.policy == policy]


def test_every_policy_has_one_row_per_tick(result: PaperResult) -> None:
    assert result.policies == tuple(NAMES.split(","))
    rows = list(csv.DictReader(io.StringIO(csv_text(result))))
    assert tuple(rows[0]) == CSV_COLUMNS
    assert len(rows) == 3 * 5
    assert {(r["policy"], r["tick"]) for r in rows} == {(p, str(t)) for p in NAMES.split(",") for t in (1, 2, 3)}


def test_policies_act_by_their_rules(result: PaperResult) -> None:
    for r in _rows(result, "wt-only"):
        assert r.action == ("retrain" if r.failed else "none")
    assert all(r.action != "retrain" for r in _rows(result, "ft-only"))
    for r in _rows(result, "fsr"):
        if r.failed:
            assert r.action == ("retrain" if r.fsr > 0.2 else "finetune")
    ft1 = [r.action for r in _rows(result, "ft-1") if r.failed]
    assert all(a != b for a, b in pairwise(ft1)) or len(ft1) < 2  # fine-tune, re-train, ...


def test_updates_record_compute_and_grow_the_training_set(result: PaperResult) -> None:
    for r in result.rows:
        assert (r.cpu_s > 0) == (r.action != "none")
    wt = _rows(result, "wt-only")
    retrained = [r for r in wt if r.action == "retrain"]
    assert retrained and retrained[0].train_size == 8 + retrained[0].failed
    summary = {s.policy: s for s in summarise(result)}
    assert summary["wt-only"].cpu_vs_baseline == pytest.approx(1.0)
    assert summary["ft-only"].retrains == 0


def test_same_seed_gives_the_same_csv_apart_from_timing(result: PaperResult) -> None:
    again = _run()

    def untimed(res: PaperResult) -> list[dict[str, str]]:
        return [{k: v for k, v in row.items() if k not in TIMING_COLUMNS}
                for row in csv.DictReader(io.StringIO(csv_text(res)))]

    assert untimed(again) == untimed(result)


def test_outputs_are_written(result: PaperResult, tmp_path) -> None:
    files = write_outputs(result, tmp_path / "out", "inspkit simulate --protocol paper")
    assert files.png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "| wt-only |" in files.summary.read_text()
    assert '"policies"' in files.run_json.read_text()


def test_retrain_epochs_keep_the_image_budget() -> None:
    spec = replace(TINY, epochs=10)
    assert spec.retrain_epochs(8) == 10 and spec.retrain_epochs(80) == 1 and spec.retrain_epochs(16) == 5
