"""augment (workspace level): children per sample, splits, determinism, ground truth."""

from __future__ import annotations

import pytest

from inspkit.data.augment import augment_samples
from inspkit.data.crop import crop_samples
from inspkit.data.label import label_from_folders
from inspkit.errors import InputError
from inspkit.store.check import check_workspace
from tests.conftest import write_png

OPS = ("perspective", "color", "noise")


def _labelled(ws, tmp_path, n=3):
    for i in range(n):
        write_png(tmp_path / "lab" / ("ok" if i % 2 else "ng/lump") / f"p{i}.png", i, size=32)
    label_from_folders(ws, tmp_path / "lab")


def test_each_sample_gets_factor_children_that_inherit_label_and_split(ws, tmp_path) -> None:
    _labelled(ws, tmp_path)
    ws.conn.execute("UPDATE samples SET split = 'train' WHERE part_serial = 'p0'")
    ws.conn.execute("UPDATE samples SET split = 'test' WHERE part_serial = 'p1'")
    ws.conn.execute("UPDATE samples SET split = 'val' WHERE part_serial = 'p2'")
    report = augment_samples(ws, 3, OPS, ws.recipe.augment, seed=1)
    assert (report.sources, report.created, report.skipped_held_out) == (1, 3, 2)
    for child in ws.samples.select("source = 'augment'"):
        parent = ws.samples.get(child.parent_id)
        assert (child.label, child.defect_type, child.split) == (parent.label, parent.defect_type, parent.split)
        assert child.split == "train" and child.derivation["op"] == "augment"
    assert check_workspace(ws, deep=True).ok


def test_same_seed_repeats_exactly_and_another_seed_does_not(ws, tmp_path) -> None:
    _labelled(ws, tmp_path, n=2)
    augment_samples(ws, 2, OPS, ws.recipe.augment, seed=5)
    again = augment_samples(ws, 2, OPS, ws.recipe.augment, seed=5)
    assert (again.created, again.duplicates) == (0, 4)
    other = augment_samples(ws, 2, OPS, ws.recipe.augment, seed=6)
    assert other.created == 4


def test_crops_are_augmented_instead_of_their_frames(ws, tmp_path) -> None:
    _labelled(ws, tmp_path, n=2)
    crop_samples(ws, ws.recipe.roi.to_roi())
    augment_samples(ws, 1, ("color",), ws.recipe.augment, seed=0)
    parents = {ws.samples.get(c.parent_id).source for c in ws.samples.select("source = 'augment'")}
    assert parents == {"crop"}


def test_nothing_labelled_is_a_clear_error(ws) -> None:
    with pytest.raises(InputError, match="no labelled samples"):
        augment_samples(ws, 2, OPS, ws.recipe.augment, seed=0)
