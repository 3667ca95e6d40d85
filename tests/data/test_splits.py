"""Splits: stratified, fixed test split, children follow parents, augmentations never in test."""

from __future__ import annotations

import pytest

from inspkit.cli._sim import sim_images
from inspkit.data.augment import augment_samples
from inspkit.data.collect import collect_images
from inspkit.data.crop import crop_samples
from inspkit.data.label import label_from_truth
from inspkit.data.splits import assign_splits
from inspkit.data.views import training_view
from inspkit.errors import InputError


def _frames(ws, n: int, start: int = 0) -> None:
    collect_images(ws, sim_images(ws.recipe, n, seed=1, start=start))
    label_from_truth(ws)


def test_splits_are_stratified_and_flow_to_children(ws) -> None:
    _frames(ws, 60)
    crop_samples(ws, ws.recipe.roi.to_roi())
    report = assign_splits(ws, 0.2, 0.2, seed=0)
    frames = list(ws.samples.select("parent_id IS NULL"))
    for label in ("OK", "NG"):
        mine = [f for f in frames if f.label == label]
        test = [f for f in mine if f.split == "test"]
        assert abs(len(test) - 0.2 * len(mine)) <= 1.5
    assert report.counts["test"] >= 2 * 2  # frames and their crops
    for crop in ws.samples.select("source = 'crop'"):
        assert crop.split == ws.samples.get(crop.parent_id).split


def test_the_test_split_stays_fixed_as_data_grows(ws) -> None:
    _frames(ws, 40)
    assign_splits(ws, 0.2, 0.2, seed=0)
    test_before = {s.id for s in ws.samples.select("split = 'test'")}
    _frames(ws, 40, start=40)
    assign_splits(ws, 0.2, 0.2, seed=1)
    assert {s.id for s in ws.samples.select("split = 'test'")} == test_before
    assert ws.samples.count_by("split").get(None, 0) == 0


def test_augmented_children_never_join_the_test_split(ws) -> None:
    _frames(ws, 30)
    augment_samples(ws, 1, ("color",), ws.recipe.augment, seed=0)  # before any split exists
    assign_splits(ws, 0.2, 0.3, seed=0)
    for child in ws.samples.select("source = 'augment'"):
        parent_split = ws.samples.get(child.parent_id).split
        assert child.split == (None if parent_split == "test" else parent_split)
    view = training_view(ws)
    assert all(s.source != "augment" for s in view.test + view.val)


def test_one_class_or_too_few_frames_cannot_be_split(ws) -> None:
    _frames(ws, 6)
    ws.conn.execute("UPDATE samples SET label = 'OK', defect_type = NULL")
    with pytest.raises(InputError, match="at least two classes"):
        assign_splits(ws, 0.2, 0.2, seed=0)
    ids = [s.id for s in ws.samples.select("1")]
    ws.conn.execute("UPDATE samples SET label = 'NG' WHERE id = ?", (ids[0],))
    with pytest.raises(InputError, match="class 'NG' has 1 labelled frame"):
        assign_splits(ws, 0.2, 0.2, seed=0)
    assert ws.samples.count_by("split") == {None: 6}
