"""Behaviour of the synthetic product generators."""

from __future__ import annotations

import re
from dataclasses import replace

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simulator.products import (
    Appearance, Frame, Product, create_product, generate, list_products, register_product,
)
from simulator.products import base
from simulator.products.render import tilt_homography

NAMES = ["cylinder_bonding", "nav_icons", "pcb_mcu", "soldered_pin"]
OK_NG = [n for n in NAMES if n != "nav_icons"]
# Still station: no jitter and no noise, so only what a test changes moves pixels.
STILL = Appearance(position_jitter_px=0.0, rotation_jitter_deg=0.0, noise_sigma=0.0)


@pytest.fixture(scope="module")
def products() -> dict[str, Product]:
    return {name: create_product(name) for name in NAMES}


def _cases() -> list[tuple[str, str]]:
    return [(n, d) for n in OK_NG for d in create_product(n).classes]


def _roi_inside(frame: Frame) -> bool:
    h, w = frame.image.shape[:2]
    r = frame.roi
    return (r.cx - r.w / 2 >= 0 and r.cy - r.h / 2 >= 0 and r.cx + r.w / 2 <= w
            and r.cy + r.h / 2 <= h and r.w > 0 and r.h > 0)


def _box_slices(box: base.Box) -> tuple[slice, slice]:
    x0, y0 = int(round(box.cx - box.w / 2)), int(round(box.cy - box.h / 2))
    return slice(y0, y0 + int(round(box.h))), slice(x0, x0 + int(round(box.w)))


def test_registry_lists_the_four_products() -> None:
    assert list_products() == NAMES


def test_unknown_product_is_a_key_error_listing_the_known_names() -> None:
    with pytest.raises(KeyError) as err:
        create_product("toaster")
    for name in NAMES:
        assert name in str(err.value)


def test_registering_a_name_twice_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(base, "_REGISTRY", dict(base._REGISTRY))
    with pytest.raises(ValueError):
        register_product("pcb_mcu")(type("Dup", (Product,), {"render": lambda *a: None}))


def test_product_attributes(products: dict[str, Product]) -> None:
    for name, product in products.items():
        assert product.name == name
        assert product.label_kind in ("ok-ng", "multiclass")
        assert all(re.fullmatch(r"[a-z][a-z0-9_]*", c) for c in product.classes)
        assert len(set(product.classes)) == len(product.classes)
        h, w = product.frame_hw
        roi = product.nominal_roi
        assert roi.w < w and roi.h < h, "the frame must be larger than the product"


@pytest.mark.parametrize(("name", "defect"), _cases())
def test_every_defect_renders_with_ground_truth(products: dict[str, Product], name: str,
                                                defect: str) -> None:
    product = products[name]
    for index in range(3):
        frame = generate(product, seed=11, index=index, defect=defect)
        h, w = product.frame_hw
        assert frame.image.shape == (h, w, 3) and frame.image.dtype == np.uint8
        assert frame.mask.shape == (h, w) and frame.mask.dtype == np.bool_
        assert (frame.label, frame.defect_type) == ("NG", defect)
        assert frame.mask.any() and frame.boxes
        covered = np.zeros_like(frame.mask)
        for box in frame.boxes:
            assert box.label == defect and box.w > 0 and box.h > 0
            assert box.cx - box.w / 2 >= 0 and box.cx + box.w / 2 <= w
            assert box.cy - box.h / 2 >= 0 and box.cy + box.h / 2 <= h
            covered[_box_slices(box)] = True
        assert not (frame.mask & ~covered).any(), "boxes must cover every defect pixel"
        assert _roi_inside(frame)


@pytest.mark.parametrize("name", OK_NG)
def test_ok_parts_have_empty_ground_truth_and_vary(products: dict[str, Product],
                                                   name: str) -> None:
    frames = [generate(products[name], 5, i, defect_rate=0.0) for i in range(4)]
    for frame in frames:
        assert (frame.label, frame.defect_type, frame.boxes) == ("OK", None, ())
        assert not frame.mask.any() and _roi_inside(frame)
    assert len({(f.roi.cx, f.roi.cy) for f in frames}) == len(frames)


def test_pcb_boxes_are_tight(products: dict[str, Product]) -> None:
    for defect in products["pcb_mcu"].classes:
        for index in range(5):
            frame = generate(products["pcb_mcu"], 3, index, defect=defect)
            (box,) = frame.boxes
            ys, xs = np.nonzero(frame.mask)
            assert (xs.min(), xs.max() + 1) == (box.cx - box.w / 2, box.cx + box.w / 2)
            assert (ys.min(), ys.max() + 1) == (box.cy - box.h / 2, box.cy + box.h / 2)
            assert box.w * box.h < 0.05 * frame.mask.size, "pcb defects are small and local"


def test_icons_have_twenty_distinct_classes(products: dict[str, Product]) -> None:
    icons = products["nav_icons"]
    assert icons.label_kind == "multiclass" and len(icons.classes) == 20
    assert icons.frame_hw == (96, 96)
    assert (icons.nominal_roi.cx, icons.nominal_roi.cy) == (48, 48)
    assert (icons.nominal_roi.h, icons.nominal_roi.w) == (64, 64)
    images = []
    for cls in icons.classes:
        frame = generate(icons, 0, 0, STILL, defect=cls)
        assert (frame.label, frame.defect_type, frame.boxes) == (cls, None, ())
        assert not frame.mask.any()
        images.append(frame.image.astype(np.int16))
    for i in range(len(images)):
        for j in range(i):
            diff = np.abs(images[i] - images[j]).max(axis=2) > 60
            assert diff.mean() > 0.03, (icons.classes[i], icons.classes[j])


def test_icons_need_a_class_and_defects_must_be_known(products: dict[str, Product]) -> None:
    with pytest.raises(ValueError):
        products["nav_icons"].render(np.random.default_rng(0), Appearance(), None)
    with pytest.raises(ValueError, match="broken_bead"):
        generate(products["cylinder_bonding"], 0, 0, defect="scratch")
    with pytest.raises(ValueError):
        generate(products["pcb_mcu"], 0, 0, defect_rate=1.5)


def test_icon_classes_are_drawn_uniformly(products: dict[str, Product]) -> None:
    labels = {generate(products["nav_icons"], 1, i).label for i in range(200)}
    assert labels == set(products["nav_icons"].classes)


@pytest.mark.parametrize("name", OK_NG)
def test_defect_rate_zero_and_one(products: dict[str, Product], name: str) -> None:
    product = products[name]
    assert {generate(product, 2, i, defect_rate=0.0).label for i in range(30)} == {"OK"}
    ng = [generate(product, 2, i, defect_rate=1.0) for i in range(60)]
    assert {f.label for f in ng} == {"NG"}
    assert {f.defect_type for f in ng} == set(product.classes)


def test_forcing_a_defect_keeps_the_placement(products: dict[str, Product]) -> None:
    product = products["soldered_pin"]
    free = generate(product, 4, 9, defect_rate=0.0)
    forced = generate(product, 4, 9, defect="solder_bridge")
    assert free.roi == forced.roi


def _pair(name: str, products: dict[str, Product], **changes: object) -> tuple[np.ndarray, ...]:
    before = generate(products[name], 8, 3, STILL, defect_rate=0.0).image
    after = generate(products[name], 8, 3, Appearance(**{**STILL.__dict__, **changes}),
                     defect_rate=0.0).image
    return before.astype(np.float64), after.astype(np.float64)


@pytest.mark.parametrize("name", NAMES)
def test_illumination_gain_brightens(products: dict[str, Product], name: str) -> None:
    before, after = _pair(name, products, illum_gain=1.3)
    assert after.mean() > before.mean() + 5


@pytest.mark.parametrize("name", NAMES)
def test_blur_removes_edges(products: dict[str, Product], name: str) -> None:
    before, after = _pair(name, products, blur_sigma=2.0)

    def edges(img: np.ndarray) -> float:
        return float(np.abs(cv2.Laplacian(img.astype(np.float32), cv2.CV_32F)).mean())

    assert edges(after) < 0.7 * edges(before)


@pytest.mark.parametrize("name", NAMES)
def test_color_cast_tints(products: dict[str, Product], name: str) -> None:
    before, after = _pair(name, products, color_cast=(1.2, 1.0, 0.8))
    assert after[..., 0].mean() > before[..., 0].mean()
    assert after[..., 2].mean() < before[..., 2].mean()
    assert np.array_equal(after[..., 1], before[..., 1])


@pytest.mark.parametrize("name", NAMES)
def test_material_and_background_take_effect(products: dict[str, Product], name: str) -> None:
    before, after = _pair(name, products, background=(200, 10, 10))
    assert np.all(after == (200, 10, 10), axis=2).mean() > 0.1
    assert not np.all(before == (200, 10, 10), axis=2).any()
    before, after = _pair(name, products, material_color=(250, 40, 160))
    x0, y0, x1, y1 = products[name].nominal_roi.corners()
    inside = np.abs(after - before)[y0:y1, x0:x1].max(axis=2) > 30
    assert inside.mean() > 0.03
    assert np.array_equal(after[-1, -1], before[-1, -1]), "the background stays as it was"


def test_noise_has_the_requested_spread(products: dict[str, Product]) -> None:
    clean = generate(products["pcb_mcu"], 6, 0, STILL).image.astype(np.float64)
    noisy_look = Appearance(position_jitter_px=0.0, rotation_jitter_deg=0.0, noise_sigma=5.0)
    noisy = generate(products["pcb_mcu"], 6, 0, noisy_look).image.astype(np.float64)
    assert 4.0 < float(np.std(noisy - clean)) < 6.0


def test_other_frame_sizes_scale_the_product() -> None:
    product = create_product("pcb_mcu", frame_hw=(128, 160))
    frame = generate(product, 0, 1, defect="short")
    assert frame.image.shape == (128, 160, 3) and frame.mask.any() and _roi_inside(frame)
    assert product.nominal_roi.h == pytest.approx(create_product("pcb_mcu").nominal_roi.h / 2)


def test_bad_appearance_is_refused() -> None:
    with pytest.raises(ValueError):
        Appearance(gamma=0.0)
    with pytest.raises(ValueError):
        Appearance(noise_sigma=-1.0)


@settings(max_examples=12, deadline=None)
@given(name=st.sampled_from(NAMES), seed=st.integers(0, 2**32 - 1),
       index=st.integers(0, 10**6))
def test_generation_is_deterministic(name: str, seed: int, index: int) -> None:
    product = create_product(name)
    first, again = generate(product, seed, index), generate(product, seed, index)
    assert first.image.tobytes() == again.image.tobytes()
    assert first.mask.tobytes() == again.mask.tobytes()
    assert (first.label, first.boxes, first.roi) == (again.label, again.boxes, again.roi)
    fresh = generate(create_product(name), seed, index)
    assert fresh.image.tobytes() == first.image.tobytes()
    other = generate(product, seed, index + 1)
    assert other.image.tobytes() != first.image.tobytes()


def _product_pixels(frame: Frame, background: tuple[int, int, int]) -> np.ndarray:
    """(y, x) of the pixels that differ visibly from the background."""
    diff = np.abs(frame.image.astype(int) - np.asarray(background)).max(axis=2)
    return np.argwhere(diff > 12)


@pytest.mark.parametrize("tilt_deg", [8.0, -8.0])
@pytest.mark.parametrize("name,defect", _cases())
def test_a_tilted_camera_keeps_image_mask_boxes_and_roi_together(
        products: dict[str, Product], name: str, defect: str, tilt_deg: float) -> None:
    product = products[name]
    straight = generate(product, 5, 2, STILL, defect=defect)
    tilted = generate(product, 5, 2, replace(STILL, tilt_deg=tilt_deg), defect=defect)
    homography = tilt_homography(product.frame_hw, tilt_deg)
    size = product.frame_hw[::-1]
    # Image and mask are the straight frame's, warped by one homography.
    expected = cv2.warpPerspective(straight.image, homography, size, borderValue=product.default_background)
    assert np.abs(expected.astype(int) - tilted.image.astype(int)).mean() < 1.0
    expected_mask = cv2.warpPerspective(straight.mask.astype(np.uint8), homography, size, flags=cv2.INTER_NEAREST)
    assert np.array_equal(expected_mask.view(np.bool_), tilted.mask) and tilted.mask.any()
    # Every defect pixel is inside a box, and every box holds defect pixels.
    covered = np.zeros_like(tilted.mask)
    for box in tilted.boxes:
        x0, y0 = int(np.floor(box.cx - box.w / 2)), int(np.floor(box.cy - box.h / 2))
        window = (slice(max(y0, 0), int(np.ceil(box.cy + box.h / 2)) + 1),
                  slice(max(x0, 0), int(np.ceil(box.cx + box.w / 2)) + 1))
        assert tilted.mask[window].any()
        covered[window] = True
    assert not (tilted.mask & ~covered).any()
    # The ROI holds the straight ROI's corners as the tilted camera sees them.
    r, s = tilted.roi, straight.roi
    corners = np.array([[[s.cx + dx * s.w / 2, s.cy + dy * s.h / 2] for dx in (-1, 1) for dy in (-1, 1)]])
    xs, ys = cv2.perspectiveTransform(corners, homography)[0].T
    assert _roi_inside(tilted)
    assert xs.min() >= r.cx - r.w / 2 - 1e-6 and xs.max() <= r.cx + r.w / 2 + 1e-6
    assert ys.min() >= r.cy - r.h / 2 - 1e-6 and ys.max() <= r.cy + r.h / 2 + 1e-6


@pytest.mark.parametrize("tilt_deg", [8.0, -8.0])
def test_a_tilted_roi_still_holds_the_whole_cylinder(products: dict[str, Product], tilt_deg: float) -> None:
    # The cylinder is the product whose every pixel off the background is the part.
    product = products["cylinder_bonding"]
    frame = generate(product, 5, 2, replace(STILL, tilt_deg=tilt_deg), defect="lump")
    r = frame.roi
    ys, xs = _product_pixels(frame, product.default_background).T
    assert xs.min() >= r.cx - r.w / 2 - 1 and xs.max() <= r.cx + r.w / 2 + 1
    assert ys.min() >= r.cy - r.h / 2 - 1 and ys.max() <= r.cy + r.h / 2 + 1


def test_a_positive_tilt_keeps_the_centre_and_shows_the_top_edge_smaller() -> None:
    homography = tilt_homography((64, 96), 10.0)
    corners = np.array([[[48, 32], [0, 0], [96, 0], [0, 64], [96, 64]]], np.float64)
    centre, tl, tr, bl, br = cv2.perspectiveTransform(corners, homography)[0]
    assert np.allclose(centre, [48, 32])
    assert tr[0] - tl[0] < 96 < br[0] - bl[0]
    assert tilt_homography((64, 96), 0.0) == pytest.approx(np.eye(3))
