"""A maintained run's files: the new metrics columns, updates.csv, the report section, update marks."""

from __future__ import annotations

from pathlib import Path

from inspkit.recipe import recipe_from_dict
from inspkit.recipe_line import ManageSpec
from inspkit.types import Goal
from simulator.metrics import DayRow, UpdateEvent, csv_text, read_csv, updates_csv_text
from simulator.plots import REJECTED_ALPHA, _all_marks, _new_figure
from simulator.report import RunInfo, write_report
from simulator.runner import SimRequest, run_simulation
from simulator.schedule import DAY_S
from simulator.stubs import TruthModel, TruthVision
from tests.conftest import small_recipe_dict
from tests.simulator.test_maintainer import FakeLearner


def _row(day: int, reviewed: int | None = 10, version: str = "v0001") -> DayRow:
    return DayRow(day, 50, 4, 47, 0.94, 0.01, 0.2, 0.9, 0.8, 0.95, 1700.0, 0.03, 23.97, version, "",
                  reviewed, 2 if reviewed is not None else None, 0.05 if reviewed is not None else None)


def _event(day: int, kind: str, promoted: bool, version: str) -> UpdateEvent:
    return UpdateEvent(day, kind, version, promoted, "promoted: x" if promoted else "rejected: worse on test split",
                       0.1, 12, 1.5, 1.0, day - 1.0, day * DAY_S + 60.0)


UPDATES = (_event(3, "finetune", True, "v0002"), _event(5, "finetune", False, "v0003"),
           _event(8, "retrain", True, "v0004"))


def test_new_columns_round_trip_and_stay_empty_without_maintenance() -> None:
    rows = [_row(0), _row(1, reviewed=None)]
    text = csv_text(rows)
    assert text.splitlines()[0].endswith("model_version,events,reviewed,failed,fsr")
    assert text.splitlines()[2].endswith("v0001,,,,")
    assert read_csv(text) == rows
    assert updates_csv_text(list(UPDATES)).splitlines()[1].startswith("3,finetune,v0002,True,promoted: x,0.100000,12,")


def test_report_has_a_maintenance_section_and_plot(tmp_path: Path) -> None:
    rows = [_row(d) for d in range(10)]
    info = RunInfo("r", 0, 10, "fp-reduction", 50, "v0001", (), "inspkit simulate", policy="fsr",
                   updates=UPDATES, manage=ManageSpec())
    files = write_report(tmp_path, rows, info)
    text = files.report.read_text()
    assert "## Model maintenance" in text and "Policy **fsr**" in text
    assert "| fine-tunes | 2 | 1 | 1 |" in text and "| re-trains | 1 | 1 | 0 |" in text
    assert "100 parts reviewed over 10 working days" in text and "ends on model **v0004**" in text
    assert (tmp_path / "maintenance.png").is_file() and "maintenance.png" in text


def test_a_run_without_maintenance_says_so_only_by_absence(tmp_path: Path) -> None:
    info = RunInfo("r", 0, 2, "fp-reduction", 50, "v0001", (), "inspkit simulate")
    files = write_report(tmp_path, [_row(0, None), _row(1, None)], info)
    assert "Model maintenance" not in files.report.read_text()
    assert not (tmp_path / "maintenance.png").exists()


def test_update_marks_differ_by_kind_and_rejected_ones_are_faint() -> None:
    _, ax = _new_figure()
    _all_marks(ax, [_row(d) for d in range(10)], (), UPDATES)
    lines = {(round(line.get_xdata()[0], 3), line.get_linestyle(), line.get_alpha()) for line in ax.get_lines()}
    ft, rt = (3 + 60 / DAY_S), (8 + 60 / DAY_S)
    assert (round(ft, 3), ":", 0.8) in lines and (round(rt, 3), "-", 0.8) in lines
    assert (round(5 + 60 / DAY_S, 3), ":", REJECTED_ALPHA) in lines
    labels = [line.get_label() for line in ax.get_lines()]
    assert labels.count("fine-tune (promoted)") == 1 and "re-train (promoted)" in labels


def test_a_maintained_run_writes_updates_csv_and_marks_its_plots(tmp_path: Path) -> None:
    from inspkit.maintain.policy import parse_policy
    from simulator.maintainer import Maintainer, MaintainSettings

    data = small_recipe_dict()
    data["simulate"] = {**data["simulate"], "parts_per_day": 30}
    data["manage"] = {"slot_days": 1.0}
    recipe = recipe_from_dict(data)
    model = TruthModel(0.1, 2, version="v0001")
    maintainer = Maintainer(MaintainSettings(parse_policy("ft-only"), recipe.manage), FakeLearner(model, None))
    req = SimRequest(recipe, 3, 4, Goal.FP_REDUCTION, tmp_path / "run", "inspkit simulate", policy="ft-only")
    outcome = run_simulation(req, TruthVision(0.05, 0.2, 1), model, None, maintainer)
    events = outcome.updates_csv.read_text().splitlines()
    assert len(events) == 1 + len(maintainer.events) > 1
    rows = read_csv(outcome.metrics_csv.read_text())
    assert all(r.reviewed == r.parts for r in rows)
    text = outcome.report.report.read_text()
    assert "## Model maintenance" in text and "review (frames, Grad-CAM)" in text
