"""Tests of the pure augmentation operations (paper Table 1)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from inspkit.data.augment_ops import (
    OPS,
    Augmented,
    augment,
    color,
    noise,
    parse_ops,
    perspective,
    warp_boxes,
)
from inspkit.recipe_augment import AugmentRanges, ColorRange, NoiseRange, PerspectiveRange
from inspkit.types import Box

NO_COLOR = ColorRange(rgb_shift=0, hue_deg=0, saturation=0, value=0, contrast=0)
NO_NOISE = NoiseRange(salt_pepper=0, gaussian_sigma=0, poisson_peak=0)


def _rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)


def _textured(h: int = 48, w: int = 64, gray: bool = False) -> np.ndarray:
    """A random image, so every op has something to change."""
    shape = (h, w) if gray else (h, w, 3)
    return _rng(1234).integers(0, 256, shape, dtype=np.uint8)


def _square(size: int = 64, lo: int = 24, hi: int = 40) -> np.ndarray:
    """Black RGB image with a white square ``[lo, hi)`` in both axes."""
    image = np.zeros((size, size, 3), np.uint8)
    image[lo:hi, lo:hi] = 255
    return image


# --- whole pipeline ----------------------------------------------------------


@pytest.mark.parametrize("gray", [False, True])
def test_augment_keeps_shape_and_dtype(gray: bool) -> None:
    image = _textured(gray=gray)
    out = augment(image, [], OPS, AugmentRanges(), _rng(0))
    assert isinstance(out, Augmented)
    assert out.image.shape == image.shape and out.image.dtype == np.uint8
    assert list(out.params) == list(OPS)


def test_same_seed_same_result_and_other_seed_differs() -> None:
    image, boxes = _textured(), [Box(30, 20, 10, 12, "scratch")]
    first = augment(image, boxes, OPS, AugmentRanges(), _rng(7))
    again = augment(image, boxes, OPS, AugmentRanges(), _rng(7))
    other = augment(image, boxes, OPS, AugmentRanges(), _rng(8))
    assert np.array_equal(first.image, again.image)
    assert first.boxes == again.boxes and first.params == again.params
    assert not np.array_equal(first.image, other.image)
    assert first.params != other.params


def test_params_are_json_serialisable() -> None:
    out = augment(_textured(), [Box(30, 20, 10, 12, "x")], OPS, AugmentRanges(), _rng(3))
    assert json.loads(json.dumps(out.params)) == out.params


def test_augment_applies_ops_in_given_order_and_moves_boxes_only_geometrically() -> None:
    image, boxes = _textured(), (Box(30, 20, 10, 12, "dent"),)
    photometric = augment(image, boxes, ("noise", "color"), AugmentRanges(), _rng(0))
    assert list(photometric.params) == ["noise", "color"]
    assert photometric.boxes == boxes
    warped = augment(image, boxes, ("perspective",), AugmentRanges(), _rng(0))
    assert warped.boxes != boxes and warped.boxes[0].label == "dent"


def test_augment_with_no_ops_returns_an_unaliased_copy() -> None:
    image = _textured()
    out = augment(image, [], (), AugmentRanges(), _rng(0))
    assert np.array_equal(out.image, image) and out.image is not image


def test_input_image_is_never_modified() -> None:
    image = _textured()
    before = image.copy()
    augment(image, [], OPS, AugmentRanges(), _rng(0))
    assert np.array_equal(image, before)


# --- identities --------------------------------------------------------------


def test_zero_ranges_are_identity() -> None:
    image = _textured()
    out, params = color(image, NO_COLOR, _rng(0))
    assert np.array_equal(out, image)
    out, params = noise(image, NO_NOISE, _rng(0))
    assert np.array_equal(out, image) and params == {"kind": "none"}
    out, homography, _ = perspective(image, PerspectiveRange(0.0), _rng(0))
    assert np.abs(out.astype(int) - image).max() <= 1
    np.testing.assert_allclose(homography, np.eye(3), atol=1e-9)


def test_hsv_round_trip_loses_at_most_one_level() -> None:
    # A zero range skips the HSV conversion, so force it with a negligible
    # hue range: the float round trip alone must not shift colours.
    ranges = ColorRange(rgb_shift=0, hue_deg=1e-9, saturation=0, value=0, contrast=0)
    image = _textured()
    out, _ = color(image, ranges, _rng(0))
    assert np.abs(out.astype(int) - image).max() <= 1


# --- perspective -------------------------------------------------------------


def _bright_box_fraction(image: np.ndarray, box: Box) -> float:
    """Fraction of bright pixels whose centres fall inside ``box``."""
    ys, xs = np.nonzero(image[..., 0] > 127)
    inside = (np.abs(xs + 0.5 - box.cx) <= box.w / 2) & (np.abs(ys + 0.5 - box.cy) <= box.h / 2)
    return float(inside.mean())


@pytest.mark.parametrize("seed", range(5))
def test_perspective_moves_the_square_and_its_box(seed: int) -> None:
    image, square_box = _square(), Box(32, 32, 16, 16, "square")
    out, homography, params = perspective(image, PerspectiveRange(0.15), _rng(seed))
    assert len(params["corners"]) == 4
    assert np.count_nonzero(out != image) > 50
    (box,) = warp_boxes([square_box], homography, out.shape[:2])
    assert box != square_box
    assert _bright_box_fraction(out, box) >= 0.97
    # The box is tight: the warped square fills most of it.
    assert np.count_nonzero(out[..., 0] > 127) >= 0.6 * box.w * box.h


def test_perspective_reflects_the_border_instead_of_black() -> None:
    image = np.full((32, 32, 3), 200, np.uint8)
    out, _, _ = perspective(image, PerspectiveRange(0.2), _rng(0))
    assert out.min() >= 199


def test_perspective_rejects_folding_shifts() -> None:
    with pytest.raises(ValueError, match="max_corner_shift"):
        perspective(_textured(), PerspectiveRange(0.3), _rng(0))


def test_warp_boxes_identity_translation_clip_and_drop() -> None:
    boxes = [Box(10, 10, 4, 6, "a", 0.9), Box(60, 40, 10, 10, "edge"), Box(200, 200, 5, 5, "far")]
    assert warp_boxes(boxes[:1], np.eye(3), (48, 64)) == (boxes[0],)
    shift = np.array([[1.0, 0, 5], [0, 1, -3], [0, 0, 1]])
    moved, edge = warp_boxes(boxes, shift, (48, 64))
    assert (moved.cx, moved.cy, moved.h, moved.w) == pytest.approx((15, 7, 4, 6))
    assert (moved.label, moved.confidence) == ("a", 0.9)
    # The edge box (x 55..65 -> 60..70) is clipped at the right border, x = 64.
    assert (edge.cx, edge.w, edge.h) == pytest.approx((62, 4, 10))
    assert warp_boxes([], shift, (48, 64)) == ()


def test_warp_boxes_drops_sliver_under_one_pixel() -> None:
    # x 63.9..67.9 clips to 63.9..64: 0.1 px wide, so 5 px tall is 0.5 px^2.
    sliver, taller = Box(65.9, 20, 5, 4, "sliver"), Box(65.9, 20, 20, 4, "taller")
    (kept,) = warp_boxes([sliver, taller], np.eye(3), (48, 64))
    assert kept.label == "taller" and kept.w * kept.h == pytest.approx(2.0)


# --- colour ------------------------------------------------------------------


def test_rgb_shift_adds_the_drawn_offsets() -> None:
    image = np.full((8, 8, 3), 100, np.uint8)
    out, params = color(image, ColorRange(20, 0, 0, 0, 0), _rng(5))
    expected = np.round(100 + np.array(params["rgb_shift"]))
    assert np.array_equal(out[0, 0], expected)


def test_contrast_scales_around_the_mean() -> None:
    image = np.zeros((8, 8, 3), np.uint8)
    image[:, :4], image[:, 4:] = 100, 150
    out, params = color(image, ColorRange(0, 0, 0, 0, 0.5), _rng(2))
    factor = params["contrast"]
    assert out[0, 0, 0] == pytest.approx(125 - 25 * factor, abs=0.51)
    assert out[0, 7, 0] == pytest.approx(125 + 25 * factor, abs=0.51)


@pytest.mark.parametrize("seed", range(12))
def test_hue_rotation_of_red_wraps_instead_of_jumping(seed: int) -> None:
    red = np.zeros((4, 4, 3), np.uint8)
    red[..., 0] = 255
    out, params = color(red, ColorRange(0, 20, 0, 0, 0), _rng(seed))
    r, g, b = (int(c) for c in out[0, 0])
    leak = round(255 * abs(params["hue_deg"]) / 60)  # hue sector ramps 60 deg
    assert r == 255
    if params["hue_deg"] >= 0:  # towards yellow
        assert b == 0 and abs(g - leak) <= 1
    else:  # wrapped past 360 towards magenta, not to cyan
        assert g == 0 and abs(b - leak) <= 1


def test_hue_draws_cover_both_directions() -> None:
    hues = [color(_textured(4, 4), ColorRange(0, 20, 0, 0, 0), _rng(s))[1]["hue_deg"]
            for s in range(20)]
    assert min(hues) < 0 < max(hues) and max(map(abs, hues)) <= 20


def test_color_on_grayscale_shifts_and_scales_the_level() -> None:
    image = np.full((6, 6), 100, np.uint8)
    out, params = color(image, ColorRange(10, 30, 0.5, 0.2, 0), _rng(4))
    expected = (100 + params["rgb_shift"][0]) * params["value"]
    assert np.all(np.abs(out.astype(float) - expected) <= 0.51)


# --- noise -------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(4))
def test_salt_and_pepper_hits_the_drawn_fraction(seed: int) -> None:
    image = np.full((128, 128, 3), 128, np.uint8)
    out, params = noise(image, NoiseRange(0.2, 0, 0), _rng(seed))
    assert params["kind"] == "salt_pepper"
    changed = np.any(out != 128, axis=2)
    assert changed.mean() == pytest.approx(params["fraction"], abs=0.015)
    values = out[changed]
    assert set(np.unique(values)) <= {0, 255}
    # Whole pixels flip (all channels), about half to white.
    assert np.all(values == values[:, :1])
    if changed.sum() > 200:
        assert (values[:, 0] == 255).mean() == pytest.approx(0.5, abs=0.1)


def test_gaussian_noise_has_the_drawn_sigma() -> None:
    image = np.full((128, 128, 3), 128, np.uint8)
    out, params = noise(image, NoiseRange(0, 20, 0), _rng(1))
    assert params["kind"] == "gaussian"
    residual = out.astype(float) - 128
    assert abs(residual.mean()) < 0.2
    assert residual.std() == pytest.approx(params["sigma"], rel=0.05, abs=0.3)


@pytest.mark.parametrize("seed", range(4))
def test_poisson_variance_grows_with_brightness(seed: int) -> None:
    image = np.zeros((128, 128, 3), np.uint8)
    image[:, :64], image[:, 64:] = 40, 200
    out, params = noise(image, NoiseRange(0, 0, 200), _rng(seed))
    assert params["kind"] == "poisson" and params["peak"] >= 200
    dark, bright = out[:, :64].astype(float), out[:, 64:].astype(float)
    # ">=" because a huge drawn peak leaves both halves noiseless (0 >= 0).
    assert bright.var() >= 4 * dark.var()
    # Shot noise: variance in grey levels is level * 255 / peak; rounding to
    # whole levels adds up to 1/12.
    for half, level in ((dark, 40), (bright, 200)):
        expected = level * 255 / params["peak"]
        assert half.mean() == pytest.approx(level, abs=0.5)
        assert half.var() == pytest.approx(expected, rel=0.15, abs=0.1)


def test_noise_picks_only_enabled_kinds_uniformly() -> None:
    image = _textured(8, 8)
    all_kinds = [noise(image, NoiseRange(0.1, 5, 50), _rng(s))[1]["kind"] for s in range(300)]
    counts = {kind: all_kinds.count(kind) for kind in ("salt_pepper", "gaussian", "poisson")}
    assert all(70 <= n <= 130 for n in counts.values()), counts
    two = {noise(image, NoiseRange(0, 5, 50), _rng(s))[1]["kind"] for s in range(40)}
    assert two == {"gaussian", "poisson"}


# --- errors ------------------------------------------------------------------


def test_parse_ops() -> None:
    assert parse_ops("perspective,color") == ("perspective", "color")
    assert parse_ops(" noise , perspective ") == ("noise", "perspective")
    with pytest.raises(ValueError, match="'blur'.*perspective, color, noise"):
        parse_ops("color,blur")
    for empty in ("", " , "):
        with pytest.raises(ValueError, match="no augmentation ops"):
            parse_ops(empty)
    with pytest.raises(ValueError, match="repeated: color"):
        parse_ops("color,noise,color")


def test_bad_inputs_are_rejected() -> None:
    with pytest.raises(ValueError, match="unknown augmentation op"):
        augment(_textured(), [], ["warp"], AugmentRanges(), _rng(0))
    for bad in (np.zeros((8, 8, 3), np.float32), np.zeros((8, 8, 4), np.uint8)):
        with pytest.raises(ValueError, match="uint8 image"):
            augment(bad, [], OPS, AugmentRanges(), _rng(0))
    with pytest.raises(ValueError, match="colour ranges"):
        color(_textured(), ColorRange(rgb_shift=-1), _rng(0))
    with pytest.raises(ValueError, match="noise ranges"):
        noise(_textured(), NoiseRange(salt_pepper=1.5), _rng(0))


# --- property ----------------------------------------------------------------

_ranges = st.builds(
    AugmentRanges,
    perspective=st.builds(PerspectiveRange, st.floats(0, 0.249)),
    color=st.builds(
        ColorRange, st.floats(0, 255), st.floats(0, 360), st.floats(0, 2),
        st.floats(0, 2), st.floats(0, 2),
    ),
    noise=st.builds(NoiseRange, st.floats(0, 1), st.floats(0, 100), st.floats(0, 1e4)),
)


@settings(max_examples=30, deadline=None)
@given(
    h=st.integers(1, 24), w=st.integers(1, 24), gray=st.booleans(),
    ranges=_ranges, seed=st.integers(0, 2**32 - 1),
)
def test_every_op_keeps_uint8_and_shape(
    h: int, w: int, gray: bool, ranges: AugmentRanges, seed: int
) -> None:
    image = _rng(seed).integers(0, 256, (h, w) if gray else (h, w, 3), dtype=np.uint8)
    box = Box(w / 2, h / 2, h / 2 + 1, w / 2 + 1, "p")  # may stick out of the image
    for op in OPS:
        out = augment(image, [box], (op,), ranges, _rng(seed))
        assert out.image.shape == image.shape and out.image.dtype == np.uint8
        json.dumps(out.params)
        if op != "perspective":
            assert out.boxes == (box,)
            continue
        for kept in out.boxes:  # warped boxes are clipped and at least 1 px^2
            assert -1e-9 <= kept.cx - kept.w / 2 and kept.cx + kept.w / 2 <= w + 1e-9
            assert -1e-9 <= kept.cy - kept.h / 2 and kept.cy + kept.h / 2 <= h + 1e-9
            assert kept.w * kept.h >= 1.0 - 1e-9
