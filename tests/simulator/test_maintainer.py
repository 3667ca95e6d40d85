"""The managing stage on the line, with a fake learner: review load, idle windows, delays, promotion, FSR."""

from __future__ import annotations

import math
import sqlite3
from collections.abc import Sequence
from dataclasses import replace

import numpy as np
import pytest

from inspkit.connect.mes import SqliteMes
from inspkit.maintain.policy import parse_policy
from inspkit.recipe import recipe_from_dict
from inspkit.recipe_line import ManageSpec
from inspkit.types import Goal
from simulator.camera import Camera, drift_for, product_for
from simulator.line import LineSetup, run_line
from simulator.maint_windows import IdleClock
from simulator.maintainer import (
    Candidate,
    Labelled,
    Maintainer,
    MaintainSettings,
    Scores,
    judge,
    next_version,
)
from simulator.schedule import DAY_S
from simulator.stubs import TruthModel, TruthVision
from tests.conftest import small_recipe_dict


class FakeLearner:
    """Trains nothing: candidates are names; ``better`` decides how they score against the line's model."""

    def __init__(self, model: TruthModel, roi, better: bool = True, wall_s: float = 1.0, cam: float = 0.9) -> None:  # noqa: ANN001
        self.model, self.roi, self.better, self.wall_s, self.cam = model, roi, better, wall_s, cam
        self.input_size, self.base_size = 32, 100
        self.trained: list[tuple[str, int]] = []
        self.promoted: list[str] = []

    @property
    def version(self) -> str:
        return self.model.version

    def base_samples(self) -> list[Labelled]:
        return [Labelled(f"d{i}", np.zeros((32, 32, 3), np.uint8), "OK") for i in range(5)]

    def cam_scores(self, images: Sequence[np.ndarray], targets: Sequence[np.ndarray],
                   predicted: Sequence[str]) -> np.ndarray:
        return np.full(len(images), self.cam)

    def finetune(self, samples: Sequence[Labelled], seed: int) -> Candidate:
        self.trained.append(("finetune", len(samples)))
        return Candidate("finetuned", 0.5, self.wall_s, len(samples))

    def retrain(self, added: Sequence[Labelled], seed: int) -> Candidate:
        self.trained.append(("retrain", len(added)))
        return Candidate("retrained", 2.0, self.wall_s, self.base_size + len(added))

    def scores(self, candidate: Candidate | None, samples: Sequence[Labelled]) -> Scores:
        new = candidate is not None
        return Scores(0.9 if new == self.better else 0.8, 0.5 if samples else None)

    def promote(self, candidate: Candidate, version: str) -> None:
        self.model.version = version
        self.promoted.append(version)


def _recipe(parts_per_day: int = 40, **manage: object):
    data = small_recipe_dict()
    data["simulate"] = {**data["simulate"], "parts_per_day": parts_per_day}
    data["manage"] = {**data.get("manage", {}), **manage}
    return recipe_from_dict(data)


def _run(recipe, policy: str, days: int, learner_kw: dict | None = None, mes=None, model_error: float = 0.1,  # noqa: ANN001
         edge_time_factor: float = 1.0):
    product = product_for(recipe)
    drift = drift_for(recipe, product)
    model = TruthModel(model_error, 2, version="v0001")
    learner = FakeLearner(model, recipe.roi.to_roi(), **(learner_kw or {}))
    maintainer = None
    if policy is not None:
        settings = MaintainSettings(parse_policy(policy, recipe.manage.beta), recipe.manage, 0, edge_time_factor)
        maintainer = Maintainer(settings, learner)
    setup = LineSetup(recipe, drift, TruthVision(0.05, 0.2, 1), model, Camera(product, drift, 0), mes, 0, days,
                      Goal.REPLACEMENT, maintainer)
    return run_line(setup), maintainer, learner


def _in_shift(t: float) -> bool:
    """Strictly inside a shift: work done exactly at a shift's start is ready for it."""
    day, sec = divmod(t, DAY_S)
    return day % 7 < 5 and 6 * 3600 < sec < 22 * 3600  # the recipe's 06:00-14:00, 14:00-22:00


def test_review_load_is_the_unreliable_parts_of_each_day(tmp_path) -> None:
    recipe = _recipe(alpha=0.2)
    mes = SqliteMes(tmp_path / "mes.db")
    result, _, _ = _run(recipe, "ft-only", 8, mes=mes)
    mes.close()
    with sqlite3.connect(tmp_path / "mes.db") as conn:
        counts = dict(conn.execute(f"SELECT CAST(shot_s / {DAY_S} AS INTEGER), COUNT(*) FROM inspections "
                                   "WHERE abs(p_ok - 0.5) <= 0.2 GROUP BY 1").fetchall())
    assert [r.reviewed for r in result.rows] == [counts.get(r.day, 0) for r in result.rows]
    assert 0 < sum(r.reviewed for r in result.rows) < sum(r.parts for r in result.rows)


def test_every_wrong_prediction_fails_review_and_a_low_cam_fails_the_right_ones() -> None:
    recipe = _recipe()  # α 0.5: every part is reviewed
    result, _, _ = _run(recipe, "ft-only", 3, model_error=0.1, learner_kw={"cam": 0.9})
    assert all(r.reviewed == r.parts for r in result.rows)
    wrong = [round(r.parts * (1 - r.model_accuracy)) for r in result.rows]
    assert [r.failed for r in result.rows] == wrong
    result, _, _ = _run(recipe, "ft-only", 3, learner_kw={"cam": 0.1})  # looks elsewhere: every part fails
    assert all(r.failed == r.parts for r in result.rows)


def test_policy_none_changes_nothing_on_the_line() -> None:
    recipe = _recipe()
    plain, _, _ = _run(recipe, None, 9)
    kept, maintainer, learner = _run(recipe, "none", 9)
    strip = ("reviewed", "failed", "fsr")
    assert [replace(r, **dict.fromkeys(strip)) for r in kept.rows] == plain.rows
    assert maintainer.events == [] and learner.trained == []
    assert all(r.reviewed is None for r in plain.rows)


def test_fine_tunes_take_idle_time_only_and_never_switch_during_a_shift() -> None:
    recipe = _recipe(slot_days=1.0)
    # A fine-tune "takes" 5 h here x 2 = 10 h of idle time: more than the 8 h night, so it spans two nights.
    _, maintainer, _ = _run(recipe, "ft-only", 12, learner_kw={"wall_s": 5 * 3600}, edge_time_factor=2.0)
    events = maintainer.events
    assert events and all(e.kind == "finetune" for e in events)
    assert not any(_in_shift(e.ready_s) for e in events)
    first = events[0]  # decided at midnight of a working day: 6 h until 06:00, 4 h more from 22:00
    assert first.requested_day == math.floor(first.requested_day)
    assert first.ready_s == pytest.approx(first.requested_day * DAY_S + 22 * 3600 + 4 * 3600)


def test_idle_clock_skips_shifts_and_weekends() -> None:
    clock = IdleClock([(6 * 3600, 14 * 3600), (14 * 3600, 22 * 3600)], lambda d: d % 7 < 5)
    assert clock.spans == ((6 * 3600, 22 * 3600),)
    assert clock.next_idle(10 * 3600) == 22 * 3600
    assert clock.next_idle(3 * 3600) == 3 * 3600
    assert clock.finish(3 * 3600, 2 * 3600) == 5 * 3600
    assert clock.finish(5 * 3600, 2 * 3600) == 23 * 3600  # 1 h before 06:00, 1 h after 22:00
    friday_night = 4 * DAY_S + 22 * 3600
    assert clock.finish(friday_night, 40 * 3600) == friday_night + 40 * 3600  # the weekend is idle
    assert clock.next_shift_start(friday_night) == 7 * DAY_S + 6 * 3600


def test_a_retrain_arrives_retrain_days_later_and_resets_fsr() -> None:
    recipe = _recipe(slot_days=2.0, retrain_days=3.0)
    result, maintainer, learner = _run(recipe, "wt-only", 12)
    retrains = maintainer.events
    assert retrains and all(e.kind == "retrain" and e.promoted for e in retrains)
    first = retrains[0]
    assert first.ready_s == pytest.approx((first.requested_day + 3.0) * DAY_S)
    assert first.day == first.requested_day + 3
    versions = {r.day: r.model_version for r in result.rows if r.parts}
    assert all(v == "v0001" for d, v in versions.items() if d < first.day)
    assert all(v != "v0001" for d, v in versions.items() if d >= first.day)
    # The re-train was decided at the end of the day before requested_day: the next day starts from 0.
    closing, after = result.rows[int(first.requested_day) - 1], result.rows[int(first.requested_day)]
    assert closing.fsr > 0 and after.fsr == pytest.approx(after.failed / (100 + learner.trained[0][1]))
    assert learner.trained[0] == ("retrain", round(closing.fsr * 100))


def test_a_worse_candidate_is_not_promoted_and_the_line_keeps_its_model() -> None:
    recipe = _recipe(slot_days=1.0)
    result, maintainer, learner = _run(recipe, "ft-only", 6, learner_kw={"better": False})
    assert maintainer.events and not any(e.promoted for e in maintainer.events)
    assert all("rejected: worse on test split" in e.reason for e in maintainer.events)
    assert learner.promoted == []
    assert {r.model_version for r in result.rows} == {"v0001"}
    assert [e.version for e in maintainer.events] == [f"v{2 + i:04d}" for i in range(len(maintainer.events))]


def test_replay_mixes_the_reservoir_into_each_fine_tune() -> None:
    recipe = _recipe(slot_days=1.0, replay_size=7)
    _, maintainer, learner = _run(recipe, "replay", 3)
    assert len(maintainer.reservoir) == 7
    first_failed = maintainer.events[0]
    assert learner.trained[0][1] == first_failed.samples and first_failed.samples > 7


def test_judge_and_version_numbers() -> None:
    assert judge(Scores(0.9, 0.5), Scores(0.9, 0.2), 0.0)[0]
    promoted, reason = judge(Scores(0.88, 0.9), Scores(0.9, 0.2), 0.0)
    assert not promoted and "test split" in reason
    assert judge(Scores(0.88, 0.9), Scores(0.9, 0.2), 0.05)[0]
    assert judge(Scores(None, None), Scores(None, None), 0.0) == (True, "promoted: nothing to compare on")
    assert next_version("v0001", 1) == "v0002" and next_version("v0099", 3) == "v0102"


def test_maintenance_needs_a_camera() -> None:
    recipe = _recipe()
    model = TruthModel(0.1, 2, version="v0001")
    settings = MaintainSettings(parse_policy("fsr"), ManageSpec())
    maintainer = Maintainer(settings, FakeLearner(model, None))
    with pytest.raises(ValueError, match="with images"):
        maintainer.attach(None, None, None)
    assert recipe.manage.policy == "none"
