"""The shadow period's report: vision, model and live routing against the truth; the go-live rule."""

from __future__ import annotations

from pathlib import Path

import pytest

from inspkit.connect.mes import MesRecord
from inspkit.connect.report import read_truth_csv, shadow_report
from inspkit.errors import InputError
from inspkit.types import Goal


def rec(serial: int, vision: str, model: str | None) -> MesRecord:
    return MesRecord("L1", "S1", serial, 0.0, 0.0, vision, model, None if model is None else 0.5,
                     vision, "vision", "next", "v1")


def test_fp_reduction_that_clears_false_calls_is_ready_to_go_live() -> None:
    # 6 true NG caught by vision and confirmed by the model; 4 OK parts vision rejected, the model clears 3.
    records = [rec(i, "NG", "NG") for i in range(6)] + [rec(10 + i, "NG", "OK" if i < 3 else "NG") for i in range(4)]
    records += [rec(20 + i, "OK", None) for i in range(10)]  # vision OK: not re-checked under fp-reduction
    truth = {("L1", "S1", i): "NG" for i in range(6)}
    truth |= {("L1", "S1", 10 + i): "OK" for i in range(4)} | {("L1", "S1", 20 + i): "OK" for i in range(10)}
    report = shadow_report(records, truth, Goal.FP_REDUCTION, min_parts=20)
    assert (report.parts, report.inspected, report.agree, report.with_truth) == (20, 10, 7, 20)
    assert (report.vision.correct, report.vision.false_rejects, report.vision.escapes) == (16, 4, 0)
    assert (report.live.correct, report.live.false_rejects, report.live.escapes) == (19, 1, 0)
    assert report.model.parts == 10 and report.model.correct == 9
    assert report.go_live and "3 more" in report.reason


def test_a_model_that_passes_a_defect_is_not_ready() -> None:
    records = [rec(0, "NG", "OK")] + [rec(i, "OK", None) for i in range(1, 30)]
    truth = {("L1", "S1", 0): "NG"} | {("L1", "S1", i): "OK" for i in range(1, 30)}
    report = shadow_report(records, truth, Goal.FP_REDUCTION, min_parts=10)
    assert not report.go_live and "NG part(s) as OK" in report.reason


def test_too_little_known_truth_is_not_enough() -> None:
    report = shadow_report([rec(0, "NG", "OK")], {}, Goal.FP_REDUCTION, min_parts=1)
    assert not report.go_live and "only 0" in report.reason


def test_truth_csv_errors_name_the_line(tmp_path: Path) -> None:
    path = tmp_path / "truth.csv"
    path.write_text("line,station,serial,truth\nL1,S1,1,OK\nL1,S1,2,bad\n")
    with pytest.raises(InputError, match="line 3"):
        read_truth_csv(path)
    path.write_text("line,station,serial,truth\nL1,S1,1,OK\n")
    assert read_truth_csv(path) == {("L1", "S1", 1): "OK"}
