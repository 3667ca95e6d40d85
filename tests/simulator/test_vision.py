"""Behaviour of the legacy rule-based vision station."""

from __future__ import annotations

from dataclasses import replace

import cv2
import numpy as np
import pytest

from inspkit.types import Appearance, Roi, Verdict
from simulator.products import Frame, create_product, generate
from simulator.vision import FEATURES, LegacyVision, VisionRules, tune_vision

# The cylinder-bonding recipe's station: its ROI and its look.
ROI = Roi(128, 128, 176, 176)
BASE = Appearance(position_jitter_px=2.0, rotation_jitter_deg=2.0, noise_sigma=2.0)
N_TUNE, N_EVAL = 160, 240


def _frames(seed: int, n: int, appearance: Appearance, defect_rate: float) -> list[Frame]:
    product = create_product("cylinder_bonding")
    return [generate(product, seed, i, appearance, defect_rate) for i in range(n)]


def _rates(station: LegacyVision, frames: list[Frame]) -> tuple[float, float]:
    """(false-call rate, escape rate) of the station on labelled frames."""
    ng_called = np.array([v is Verdict.NG for v in station.inspect_batch([f.image for f in frames])])
    ok = np.array([f.label == "OK" for f in frames])
    return float(ng_called[ok].mean()), float(1.0 - ng_called[~ok].mean())


@pytest.fixture(scope="module")
def tuning() -> list[Frame]:
    return _frames(1, N_TUNE, BASE, 0.1)


@pytest.fixture(scope="module")
def station(tuning: list[Frame]) -> LegacyVision:
    return LegacyVision(tune_vision([f.image for f in tuning], [f.label for f in tuning], ROI))


@pytest.fixture(scope="module")
def base_rates(station: LegacyVision) -> tuple[float, float]:
    return _rates(station, _frames(2, N_EVAL, BASE, 0.5))


def test_tuned_station_has_few_false_calls_and_catches_most_defects(
        base_rates: tuple[float, float]) -> None:
    false_call, escape = base_rates
    assert false_call <= 0.12
    assert escape <= 0.5


def test_tuning_hits_the_target_false_call_rate_on_its_own_frames(station: LegacyVision) -> None:
    assert station.rules.tuned_false_call <= 0.02
    assert station.rules.features == FEATURES
    assert all(lo <= hi for lo, hi in zip(station.rules.low, station.rules.high))


@pytest.mark.parametrize("drift", [
    {"position_offset_px": (8.0, 0.0)},
    {"position_offset_px": (12.0, 0.0)},
])
def test_drift_raises_the_false_call_rate(station: LegacyVision, base_rates: tuple[float, float],
                                          drift: dict[str, object]) -> None:
    # Same seed and indices as the base: only the drift differs.
    drifted, _ = _rates(station, _frames(2, N_EVAL, replace(BASE, **drift), 0.5))
    assert drifted >= base_rates[0] + 0.3


def test_same_inputs_give_the_same_rules(tuning: list[Frame], station: LegacyVision) -> None:
    again = tune_vision([f.image for f in tuning], [f.label for f in tuning], ROI)
    assert again == station.rules


def test_features_are_one_value_per_named_feature(station: LegacyVision, tuning: list[Frame]) -> None:
    values = station.features(tuning[0].image)
    assert values.shape == (len(FEATURES),) and values.dtype == np.float64
    assert station.inspect_batch([f.image for f in tuning[:5]]) == [
        station.inspect(f.image) for f in tuning[:5]]


def test_failed_rules_name_the_features_out_of_band(station: LegacyVision) -> None:
    blank = np.zeros((256, 256, 3), np.uint8)
    assert station.inspect(blank) is Verdict.NG
    assert "area_frac" in station.failed_rules(blank)


def test_a_roi_leaving_the_frame_is_padded_not_refused(tuning: list[Frame]) -> None:
    images, labels = [f.image for f in tuning[:40]], [f.label for f in tuning[:40]]
    rules = tune_vision(images, labels, Roi(40, 128, 176, 176))
    assert LegacyVision(rules).inspect(images[0]) in (Verdict.OK, Verdict.NG)


def _disc(centre_x: int, broken: bool) -> np.ndarray:
    """A dark disc on a bright background; ``broken`` bites a bright notch out of it."""
    img = np.full((96, 96, 3), 200, np.uint8)
    cv2.circle(img, (centre_x, 48), 26, (40, 40, 40), -1)
    if broken:
        cv2.rectangle(img, (centre_x - 6, 20), (centre_x + 6, 48), (200, 200, 200), -1)
    return img


def test_a_dark_part_on_a_bright_background_is_found() -> None:
    images = [_disc(47 + i % 3, False) for i in range(30)] + [_disc(48, True)] * 3
    labels = ["OK"] * 30 + ["NG"] * 3
    rules = tune_vision(images, labels, Roi(48, 48, 80, 80), side_px=32)
    station = LegacyVision(rules)
    assert rules.dark_part
    assert station.inspect(_disc(48, False)) is Verdict.OK
    assert station.inspect(_disc(48, True)) is Verdict.NG


def test_no_ok_frame_is_refused(tuning: list[Frame]) -> None:
    ng = [f for f in tuning if f.label == "NG"]
    with pytest.raises(ValueError, match="at least one 'OK' frame"):
        tune_vision([f.image for f in ng], [f.label for f in ng], ROI)


def test_images_and_labels_of_different_lengths_are_refused(tuning: list[Frame]) -> None:
    with pytest.raises(ValueError, match="same length.*3 images and 2 labels"):
        tune_vision([f.image for f in tuning[:3]], ["OK", "OK"], ROI)


def test_multiclass_labels_are_refused() -> None:
    icons = create_product("nav_icons")
    frames = [generate(icons, 1, i) for i in range(4)]
    with pytest.raises(ValueError, match="ok-ng products only"):
        tune_vision([f.image for f in frames], [f.label for f in frames], icons.nominal_roi)


def test_bad_arguments_and_images_are_refused(tuning: list[Frame], station: LegacyVision) -> None:
    images, labels = [f.image for f in tuning[:4]], ["OK"] * 4
    with pytest.raises(ValueError, match="target_false_call"):
        tune_vision(images, labels, ROI, target_false_call=1.0)
    with pytest.raises(ValueError, match="side_px"):
        tune_vision(images, labels, ROI, side_px=4)
    with pytest.raises(ValueError, match="uint8"):
        station.inspect(images[0].astype(np.float32))


def test_rules_with_mismatched_bands_are_refused(station: LegacyVision) -> None:
    with pytest.raises(ValueError, match="one value each"):
        replace(station.rules, low=station.rules.low[:-1])
    with pytest.raises(ValueError, match="unknown features"):
        VisionRules(ROI, 100, 64, ("colour",), (0.0,), (1.0,))


def test_light_compensation_keeps_a_dimmer_lamp_from_flooding_false_calls(
        station: LegacyVision, base_rates: tuple[float, float]) -> None:
    dimmer, _ = _rates(station, _frames(2, N_EVAL, replace(BASE, illum_gain=0.85), 0.5))
    assert dimmer <= base_rates[0] + 0.1
