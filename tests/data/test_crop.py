"""crop: pixels, padding, strict refusal, ground truth moved into the crop."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from inspkit.data.crop import crop_array, crop_boxes, crop_samples, roi_window
from inspkit.data.imageio import decode_mask, read_image
from inspkit.errors import InputError
from inspkit.store.check import check_workspace
from inspkit.types import Box, Roi
from tests.conftest import write_png


@settings(max_examples=80, deadline=None)
@given(
    h=st.integers(1, 40), w=st.integers(1, 40),
    cx=st.floats(-30, 70), cy=st.floats(-30, 70), rh=st.floats(1, 60), rw=st.floats(1, 60),
)
def test_crop_is_always_the_roi_size_and_matches_the_padded_frame(h, w, cx, cy, rh, rw) -> None:
    frame = np.random.default_rng(0).integers(1, 256, (h, w, 3), dtype=np.uint8)
    roi = Roi(cx, cy, rh, rw)
    out = crop_array(frame, roi)
    x0, y0, x1, y1 = roi_window(roi)
    assert out.shape == (y1 - y0, x1 - x0, 3)
    pad = 64  # the frame inside a zero border wide enough for every ROI drawn here
    padded = np.zeros((h + 2 * pad + 80, w + 2 * pad + 80, 3), np.uint8)
    padded[pad:pad + h, pad:pad + w] = frame
    assert np.array_equal(out, padded[y0 + pad:y1 + pad, x0 + pad:x1 + pad])


def test_crop_boxes_moves_clips_and_drops() -> None:
    boxes = (Box(20, 20, 4, 4, "dust"), Box(11, 11, 4, 4, "hair"), Box(90, 90, 4, 4, "dust"))
    moved = crop_boxes(boxes, 10, 10, 30, 30)
    assert moved[0] == Box(10, 10, 4, 4, "dust")
    assert moved[1] == Box(1.5, 1.5, 3, 3, "hair")  # clipped at the crop's edge
    assert len(moved) == 2


def test_crop_samples_pads_and_counts_or_refuses_when_strict(ws, tmp_path) -> None:
    from inspkit.data.collect import collect_folder

    write_png(tmp_path / "src" / "a.png", 1, size=32)
    collect_folder(ws, tmp_path / "src")
    with pytest.raises(InputError, match="leaves the 32x32 frame"):
        crop_samples(ws, Roi(30, 16, 16, 16), strict=True)
    assert ws.samples.count() == 1
    report = crop_samples(ws, Roi(30, 16, 16, 16))
    assert (report.created, report.padded) == (1, 1)
    (child,) = ws.samples.select("source = 'crop'")
    assert (child.width, child.height, child.derivation["padded"]) == (16, 16, True)
    assert crop_samples(ws, Roi(30, 16, 16, 16)).duplicates == 1  # cropping twice adds nothing
    assert check_workspace(ws, deep=True).ok


def test_cropping_a_simulated_frame_keeps_its_ground_truth(ws) -> None:
    from inspkit.cli._sim import sim_images
    from inspkit.data.collect import collect_images

    recipe = ws.recipe
    collect_images(ws, sim_images(recipe, 12, seed=3, start=0))
    crop_samples(ws, recipe.roi.to_roi())
    for child in ws.samples.select("source = 'crop' AND truth_label = 'NG'"):
        parent = ws.samples.get(child.parent_id)
        assert child.truth.defect_type == parent.truth.defect_type
        if child.truth.mask_path:
            full = decode_mask(ws.path(parent.truth.mask_path).read_bytes())
            assert decode_mask(ws.path(child.truth.mask_path).read_bytes()).sum() == crop_array(full, recipe.roi.to_roi()).sum()
        assert read_image(ws.path(child.image_path)).shape[:2] == (44, 44)
