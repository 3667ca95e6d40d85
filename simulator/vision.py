"""The line's legacy machine-vision station: a grey threshold and blob rules.

Before deep learning, the line was guarded by a rule-based station of the usual
kind, tuned once on the set-up days and then left alone: the ROI is reduced to
a small grey image, a threshold found by Otsu (scaled with the frame's mean
grey, the station's light compensation) splits part from background, and blob
measures (area, position, blobs, holes, outline, shape) must each lie in a band
learned from good parts. Nothing else adapts, so false calls (good parts
rejected) and escapes (defective parts passed) grow as the part's position,
the material colour and the focus drift away from the set-up days.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from inspkit.data.crop import crop_array, roi_window
from inspkit.types import Roi, Verdict

#: What the station measures on the binary working image, in this order: the
#: part's share of the image; its centroid's offset from the ROI centre (working
#: pixels); blobs and holes (specks skipped); the largest blob's share of blob
#: area; the largest hole's centroid offset from the part's centroid (working
#: pixels); part pixels touching background; elongation (0 round, 1 a line).
FEATURES = ("area_frac", "dx_px", "dy_px", "blobs", "largest_share", "holes",
            "hole_offset_px", "edge_px", "elongation")

#: Blobs and holes smaller than this many working pixels are noise, not structure.
MIN_BLOB_PX = 3
#: Bands start at these quantiles of the good parts; the searched tolerance widens them.
BAND_QUANTILES = (0.01, 0.99)
#: Histogram smoothing (grey levels) before looking for the valley between two classes.
_VALLEY_SMOOTH_LEVELS = 3.0
_GREY_WEIGHTS = np.full((1, 3), 1.0 / 3.0)
_SQUARE = np.ones((3, 3), np.uint8)


@dataclass(frozen=True)
class VisionRules:
    """The tuned station: fixed threshold, ROI, working size and feature bands.

    Attributes:
        roi: Where the station looks, frame pixels.
        threshold: Fixed grey threshold (0..255) found by Otsu on the tuning OK frames.
        side_px: The ROI is reduced to ``side_px`` x ``side_px`` grey before measuring.
        features: Names of the measured features (see :data:`FEATURES`).
        low: Lowest accepted value of each feature.
        high: Highest accepted value of each feature.
        dark_part: True when the part is darker than its background, so the
            foreground is ``grey <= threshold`` instead of ``grey > threshold``.
        tolerance: The searched widening of the OK bands, in band spreads.
        tuned_false_call: False-call rate on the tuning OK frames.
        tuned_escape: Escape rate on the tuning NG frames (None without any).
        reference_grey: Mean ROI grey of the tuning OK frames; the threshold follows
            each frame's mean relative to it (the station's light compensation).
    """

    roi: Roi
    threshold: int
    side_px: int
    features: tuple[str, ...]
    low: tuple[float, ...]
    high: tuple[float, ...]
    dark_part: bool = False
    tolerance: float = 0.0
    tuned_false_call: float = 0.0
    tuned_escape: float | None = None
    reference_grey: float = 0.0

    def __post_init__(self) -> None:
        if not 0 <= self.threshold <= 255:
            raise ValueError(f"threshold must be a grey level in 0..255, got {self.threshold}")
        if self.side_px < 8:
            raise ValueError(f"side_px must be at least 8, got {self.side_px}")
        if not len(self.features) == len(self.low) == len(self.high):
            raise ValueError(f"features, low and high need one value each, got lengths "
                             f"{len(self.features)}, {len(self.low)}, {len(self.high)}")
        unknown = set(self.features) - set(FEATURES)
        if unknown:
            raise ValueError(f"unknown features {sorted(unknown)}; known: {list(FEATURES)}")


class LegacyVision:
    """A rule-based station that applies fixed :class:`VisionRules` to raw frames."""

    def __init__(self, rules: VisionRules) -> None:
        self.rules = rules
        self._window = roi_window(rules.roi)
        self._order = [FEATURES.index(name) for name in rules.features]
        self._low = np.asarray(rules.low, np.float64)
        self._high = np.asarray(rules.high, np.float64)

    def features(self, image: np.ndarray) -> np.ndarray:
        """The measured feature vector of a raw frame, in ``rules.features`` order."""
        grey = working_grey(image, self.rules.roi, self.rules.side_px, self._window)
        threshold = compensated(grey, self.rules.threshold, self.rules.reference_grey)
        return measure(grey, threshold, self.rules.dark_part)[self._order]

    def inspect(self, image: np.ndarray) -> Verdict:
        """OK when every feature lies inside its band, else NG.

        Args:
            image: H x W x 3 uint8 RGB frame (H x W grey is accepted too).
        """
        values = self.features(image)
        inside = (values >= self._low) & (values <= self._high)
        return Verdict.OK if bool(inside.all()) else Verdict.NG

    def inspect_batch(self, images: Sequence[np.ndarray]) -> list[Verdict]:
        """:meth:`inspect` for each frame, in order."""
        return [self.inspect(image) for image in images]

    def failed_rules(self, image: np.ndarray) -> tuple[str, ...]:
        """Names of the features outside their band (empty for an OK verdict)."""
        values = self.features(image)
        outside = (values < self._low) | (values > self._high)
        return tuple(name for name, out in zip(self.rules.features, outside) if out)


def tune_vision(images: Sequence[np.ndarray], labels: Sequence[str], roi: Roi,
                target_false_call: float = 0.02, side_px: int = 64) -> VisionRules:
    """Tune the station once on labelled set-up frames.

    The threshold comes from Otsu on the grey histogram of the OK frames:
    the plain two-class split and a second split inside each of its classes
    are the candidates, each moved to the emptiest grey level between its two
    classes. For each candidate the OK bands are widened by one scalar until
    about ``target_false_call`` of the OK frames fail; when there are NG
    frames, the candidate that catches most of them is kept, as an engineer
    trying thresholds at set-up would.

    Args:
        images: Raw frames, H x W x 3 uint8 RGB (or H x W grey).
        labels: "OK" or "NG", one per frame.
        roi: Where the station looks.
        target_false_call: Wanted share of OK tuning frames that fail, in [0, 1).
        side_px: Working size of the reduced ROI.

    Raises:
        ValueError: lengths differ, a label is not OK/NG (multiclass products
            are not supported), there is no OK frame, or an argument is out of range.
    """
    names = [str(getattr(label, "value", label)) for label in labels]  # Verdicts welcome too
    _check_tuning_args(images, names, target_false_call, side_px)
    window = roi_window(roi)
    greys = [working_grey(image, roi, side_px, window) for image in images]
    ok = [g for g, name in zip(greys, names) if name == "OK"]
    ng = [g for g, name in zip(greys, names) if name == "NG"]
    tuned = [_fit_rules(ok, ng, roi, threshold, target_false_call, side_px)
             for threshold in threshold_candidates(_histogram(ok))]
    # Without NG frames every candidate ties and the plain Otsu split (first) stays.
    return min(tuned, key=lambda rules: rules.tuned_escape or 0.0)


def working_grey(image: np.ndarray, roi: Roi, side_px: int,
                 window: tuple[int, int, int, int] | None = None) -> np.ndarray:
    """The ROI reduced to ``side_px`` x ``side_px`` uint8 grey.

    Grey is the plain mean of R, G and B. ``window`` is ``roi_window(roi)``,
    passed in by callers that inspect many frames.
    """
    if image.dtype != np.uint8 or not (image.ndim == 2 or (image.ndim == 3 and image.shape[2] == 3)):
        raise ValueError(f"expected an H x W x 3 (or H x W) uint8 image, got shape "
                         f"{image.shape} and dtype {image.dtype}")
    x0, y0, x1, y1 = window or roi_window(roi)
    height, width = image.shape[:2]
    # A view costs nothing; only a ROI that leaves the frame needs a padded copy.
    inside = x0 >= 0 and y0 >= 0 and x1 <= width and y1 <= height
    pixels = image[y0:y1, x0:x1] if inside else crop_array(image, roi)
    small = _reduce(pixels, side_px)
    return small if small.ndim == 2 else cv2.transform(small, _GREY_WEIGHTS)


def _reduce(pixels: np.ndarray, side_px: int) -> np.ndarray:
    """Shrink to ``side_px`` square, averaging every pixel, within the time budget.

    OpenCV's INTER_AREA is fast only for halving (a fractional 176 -> 64
    costs ~150 us, half the station's budget; thirds cost ~90 us). So the ROI
    is halved by 2 x 2 block means while it stays at least twice ``side_px``,
    and a bilinear step of less than 2x, which still blends every pixel, finishes.
    """
    while min(pixels.shape[:2]) >= 2 * side_px:
        height, width = pixels.shape[:2]
        pixels = pixels[height % 2:, width % 2:]  # whole 2 x 2 blocks only
        pixels = cv2.resize(pixels, (width // 2, height // 2), interpolation=cv2.INTER_AREA)
    if pixels.shape[:2] == (side_px, side_px):
        return pixels
    return cv2.resize(pixels, (side_px, side_px), interpolation=cv2.INTER_LINEAR)


def measure(grey: np.ndarray, threshold: int, dark_part: bool) -> np.ndarray:
    """All :data:`FEATURES` of one working grey image, as float64."""
    mode = cv2.THRESH_BINARY_INV if dark_part else cv2.THRESH_BINARY
    fg = cv2.threshold(grey, threshold, 1, mode)[1]
    moments = cv2.moments(fg, binaryImage=True)
    area = moments["m00"]
    centre = (grey.shape[0] - 1) / 2.0
    cx, cy = (moments["m10"] / area, moments["m01"] / area) if area else (centre, centre)
    blobs, largest_share, holes, hole_offset = _outline_stats(fg, cx, cy)
    # Foreground pixels that touch background: a gap, a lump or a void adds outline.
    edge = cv2.countNonZero(cv2.subtract(fg, cv2.erode(fg, _SQUARE)))
    return np.array([area / fg.size, cx - centre, cy - centre, blobs, largest_share, holes,
                     hole_offset, edge, _elongation(moments)], np.float64)


def threshold_candidates(hist: np.ndarray) -> list[int]:
    """Otsu thresholds of a 256-bin histogram, each moved into its valley.

    The plain Otsu split comes first, then Otsu inside its upper and its
    lower class (where those have two grey levels to split); duplicates are dropped.
    """
    first = _otsu(hist, 0, 255)
    if first is None:
        raise ValueError("the OK tuning frames are one flat grey level; nothing to threshold")
    candidates = [_valley(hist, first, 0, 255)]
    for lo, hi in ((first + 1, 255), (0, first)):
        split = _otsu(hist, lo, hi)
        if split is not None:
            candidates.append(_valley(hist, split, lo, hi))
    return list(dict.fromkeys(candidates))


def _check_tuning_args(images: Sequence[np.ndarray], labels: list[str],
                       target_false_call: float, side_px: int) -> None:
    if len(images) != len(labels):
        raise ValueError(f"images and labels must have the same length, got "
                         f"{len(images)} images and {len(labels)} labels")
    odd = sorted({str(label) for label in labels} - {"OK", "NG"})
    if odd:
        raise ValueError(f"the vision station inspects ok-ng products only; labels must be "
                         f"'OK' or 'NG', got {odd[:5]} (multiclass products are not supported)")
    if "OK" not in labels:
        raise ValueError("tuning needs at least one 'OK' frame; the bands are learned from good parts")
    if not 0.0 <= target_false_call < 1.0:
        raise ValueError(f"target_false_call must be in [0, 1), got {target_false_call}")
    if side_px < 8:
        raise ValueError(f"side_px must be at least 8, got {side_px}")


def _fit_rules(ok: list[np.ndarray], ng: list[np.ndarray], roi: Roi, threshold: int,
               target_false_call: float, side_px: int) -> VisionRules:
    """Bands for one threshold, widened to the target false-call rate on ``ok``."""
    dark_part = _is_dark_part(ok, threshold)
    reference = float(np.mean([g.mean() for g in ok]))
    ok_values = np.stack([measure(g, compensated(g, threshold, reference), dark_part) for g in ok])
    low, high, tolerance = _bands(ok_values, target_false_call)
    escape = None
    if ng:
        ng_values = np.stack([measure(g, compensated(g, threshold, reference), dark_part) for g in ng])
        escape = float(_inside(ng_values, low, high).mean())
    return VisionRules(roi, threshold, side_px, FEATURES, tuple(low.tolist()), tuple(high.tolist()), dark_part,
                       tolerance, float(1.0 - _inside(ok_values, low, high).mean()), escape, reference)


def compensated(grey: np.ndarray, threshold: int, reference_grey: float) -> int:
    """The threshold scaled by the frame's mean grey against the tuning mean (0: no compensation)."""
    if reference_grey <= 0:
        return threshold
    return int(np.clip(round(threshold * float(grey.mean()) / reference_grey), 1, 254))


def _bands(values: np.ndarray, target_false_call: float) -> tuple[np.ndarray, np.ndarray, float]:
    """Quantile bands widened by the one tolerance that fails about the target share.

    Each frame needs some tolerance (in band spreads) for all its features to
    pass; the tolerance chosen is the smallest that passes all but
    ``floor(target * n)`` frames, so the search is exact rather than stepped.
    """
    q_low, q_high = np.quantile(values, BAND_QUANTILES, axis=0)
    # A feature that never varied (a blob count) still gets a hair of width.
    floor = 1e-3 * np.maximum(np.abs(np.median(values, axis=0)), 1.0)
    spread = np.maximum(q_high - q_low, floor)
    need = np.maximum((q_low - values) / spread, (values - q_high) / spread).max(axis=1)
    allowed = math.floor(target_false_call * len(values) + 1e-9)
    tolerance = max(float(np.sort(need)[len(need) - 1 - allowed]), 0.0)
    return q_low - tolerance * spread, q_high + tolerance * spread, tolerance


def _inside(values: np.ndarray, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    return ((values >= low) & (values <= high)).all(axis=1)


def _is_dark_part(greys: list[np.ndarray], threshold: int) -> bool:
    """The part is dark when most of the ROI's border (background) is above the threshold."""
    border = np.concatenate([np.concatenate([g[0], g[-1], g[1:-1, 0], g[1:-1, -1]]) for g in greys])
    return bool(np.count_nonzero(border > threshold) * 2 > border.size)


def _histogram(greys: list[np.ndarray]) -> np.ndarray:
    return np.bincount(np.concatenate([g.ravel() for g in greys]), minlength=256).astype(np.float64)


def _otsu(hist: np.ndarray, lo: int, hi: int) -> int | None:
    """Otsu split of grey levels ``lo..hi``: the last level of the lower class.

    None when fewer than two levels in the range are populated.
    """
    counts = hist[lo:hi + 1]
    if np.count_nonzero(counts) < 2:
        return None
    levels = np.arange(lo, hi + 1, dtype=np.float64)
    w0 = np.cumsum(counts)[:-1]
    m0 = np.cumsum(counts * levels)[:-1]
    total, mass = counts.sum(), (counts * levels).sum()
    w1 = total - w0
    with np.errstate(divide="ignore", invalid="ignore"):
        between = np.where((w0 > 0) & (w1 > 0), (mass * w0 - m0 * total) ** 2 / (w0 * w1), -1.0)
    return lo + int(np.argmax(between))


def _valley(hist: np.ndarray, split: int, lo: int, hi: int) -> int:
    """The emptiest (smoothed) grey level between the means of Otsu's two classes.

    Otsu's split can sit right at the foot of a class peak, where a few grey
    levels of light drift flip many pixels; the valley leaves room both ways.
    """
    levels = np.arange(256, dtype=np.float64)
    below, above = hist[lo:split + 1], hist[split + 1:hi + 1]
    mean_below = float((below * levels[lo:split + 1]).sum() / below.sum())
    mean_above = float((above * levels[split + 1:hi + 1]).sum() / above.sum())
    smooth = cv2.GaussianBlur(hist.reshape(1, -1), (0, 0), _VALLEY_SMOOTH_LEVELS).ravel()
    a, b = math.ceil(mean_below), math.floor(mean_above)
    if b <= a:
        return split
    return a + int(np.argmin(smooth[a:b + 1]))


def _outline_stats(fg: np.ndarray, cx: float, cy: float) -> tuple[int, float, int, float]:
    """Blob and hole measures from the outline tree of a binary image.

    One ``findContours`` pass costs a third of labelling foreground and
    background. Outlines at even depth bound blobs, at odd depth holes; a
    region's own pixels are its outline's filled area less its children's,
    so a hole ring around an inner part is measured as a ring. Outlines
    enclosing less than :data:`MIN_BLOB_PX` are noise and not counted.

    Returns:
        Blobs; the largest blob's share of all blob area; holes; and the
        largest hole's centroid offset from the part's centroid (a
        concentricity check: a slipped inner part or a gap in a ring moves
        the ring-shaped hole's centroid, but hardly the whole part's).
    """
    contours, hierarchy = cv2.findContours(fg, cv2.RETR_TREE, cv2.CHAIN_APPROX_SIMPLE)
    if hierarchy is None:
        return 0, 0.0, 0, 0.0
    # Plain lists: a handful of outlines is far cheaper than numpy's per-call cost.
    parents = hierarchy[0][:, 3].tolist()
    filled = [cv2.contourArea(c) for c in contours]
    own = filled.copy()
    for child, parent in enumerate(parents):
        if parent >= 0:
            own[parent] -= filled[child]
    blob_areas, hole, holes = [], -1, 0
    for i in range(len(parents)):
        if filled[i] < MIN_BLOB_PX:
            continue
        if _depth(parents, i) % 2 == 0:
            blob_areas.append(own[i])
            continue
        holes += 1
        hole = i if hole < 0 or own[i] > own[hole] else hole
    total = sum(blob_areas)
    share = max(blob_areas) / total if total > 0 else 0.0
    return len(blob_areas), share, holes, _hole_offset(contours, parents, hole, cx, cy)


def _depth(parents: list[int], index: int) -> int:
    depth = 0
    while parents[index] >= 0:
        index, depth = parents[index], depth + 1
    return depth


def _hole_offset(contours: Sequence[np.ndarray], parents: list[int], hole: int,
                 cx: float, cy: float) -> float:
    """Distance from ``(cx, cy)`` to the centroid of hole ``hole``'s own pixels (0 for none).

    The outline's filled moments less its children's (the blobs sitting in
    the hole); contour moments are dear, so only these few are taken.
    """
    if hole < 0:
        return 0.0
    m = cv2.moments(contours[hole])
    area, m10, m01 = m["m00"], m["m10"], m["m01"]
    for child in (i for i, parent in enumerate(parents) if parent == hole):
        m = cv2.moments(contours[child])
        area, m10, m01 = area - m["m00"], m10 - m["m10"], m01 - m["m01"]
    return math.hypot(m10 / area - cx, m01 / area - cy) if area > 0 else 0.0


def _elongation(moments: dict[str, float]) -> float:
    """0 for a round (or square) foreground, towards 1 for a line."""
    mu20, mu02, mu11 = moments["mu20"], moments["mu02"], moments["mu11"]
    spread = mu20 + mu02
    return math.sqrt((mu20 - mu02) ** 2 + 4.0 * mu11 ** 2) / spread if spread > 0 else 0.0
