"""Pure image augmentation operations of the paper's Table 1 (section 3.1.2).

Each op draws its parameters uniformly within the recipe's ranges from a
caller-owned ``numpy.random.Generator``, so the same state gives the same result:

- ``perspective``: an 8-DOF perspective transform (each image corner moved),
  with ``warp_boxes`` carrying labelled boxes along;
- ``color``: per-channel RGB shift, HSV jitter and contrast;
- ``noise``: one of salt-and-pepper, Gaussian or Poisson sensor noise.

Images are ``H x W x 3`` uint8 RGB or ``H x W`` uint8 grayscale; every op
returns a new uint8 array of the input's shape. Box coordinates are
continuous pixel coordinates in which pixel ``i`` covers ``[i, i + 1)`` (the
convention of ``Roi.corners``); homographies are in OpenCV's pixel-index
coordinates, in which pixel ``i``'s centre is at ``i``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from inspkit.recipe_augment import AugmentRanges, ColorRange, NoiseRange, PerspectiveRange
from inspkit.types import Box

OPS: tuple[str, ...] = ("perspective", "color", "noise")

Params = dict[str, object]

# From a quarter of the side on, a corner can reach the diagonal joining its
# neighbours and the quadrilateral folds over, which no camera tilt produces.
_MAX_CORNER_SHIFT = 0.25
_MIN_BOX_AREA_PX = 1.0
# Corners whose homogeneous w is this close to 0 map to infinity: box dropped.
_MIN_HOMOGENEOUS_W = 1e-9
# The Poisson strength is kept above this so the photon rate stays finite.
_MIN_POISSON_STRENGTH = 1e-3


@dataclass(frozen=True, eq=False)
class Augmented:
    """An augmented image with its boxes and a record of what was drawn.

    Attributes:
        image: The augmented uint8 image, same shape as the input.
        boxes: The input boxes carried through the geometric ops (boxes
            pushed out of the image are dropped).
        params: JSON-serialisable record of the drawn parameters, one entry
            per applied op, in the order applied.
    """

    image: np.ndarray
    boxes: tuple[Box, ...]
    params: dict[str, object]


def parse_ops(text: str) -> tuple[str, ...]:
    """Op names in the given order from ``"perspective, color"`` (spaces ignored).

    Raises:
        ValueError: If the list is empty, names an unknown op or repeats one.
    """
    names = tuple(part.strip() for part in text.split(",") if part.strip())
    if not names:
        raise ValueError(
            f"no augmentation ops given; expected a comma-separated subset of {', '.join(OPS)}"
        )
    _check_ops(names)
    return names


def augment(
    image: np.ndarray,
    boxes: Sequence[Box],
    ops: Sequence[str],
    ranges: AugmentRanges,
    rng: np.random.Generator,
) -> Augmented:
    """Apply ``ops`` to ``image`` in the given order.

    Args:
        image: ``H x W x 3`` uint8 RGB or ``H x W`` uint8 grayscale image.
        boxes: Labelled boxes on the image; geometric ops move them.
        ops: Op names from ``OPS``, each at most once.
        ranges: The recipe's augmentation ranges.
        rng: Source of all random draws.

    Returns:
        The augmented image, the carried boxes and the drawn parameters.

    Raises:
        ValueError: On an unknown or repeated op, a bad image or bad ranges.
    """
    _check_image(image)
    _check_ops(ops)
    out, kept = image, tuple(boxes)
    params: Params = {}
    for op in ops:
        if op == "perspective":
            out, homography, params[op] = perspective(out, ranges.perspective, rng)
            kept = warp_boxes(kept, homography, (out.shape[0], out.shape[1]))
        elif op == "color":
            out, params[op] = color(out, ranges.color, rng)
        else:
            out, params[op] = noise(out, ranges.noise, rng)
    # Every op returns a new array; copy only when none ran, so callers never alias.
    return Augmented(out if len(ops) else image.copy(), kept, params)


def perspective(
    image: np.ndarray, ranges: PerspectiveRange, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, Params]:
    """Warp ``image`` by moving each corner up to ``max_corner_shift`` x side.

    The border is filled by reflection (``BORDER_REFLECT_101``) so the result
    has no black wedges that a model could learn as a cue.

    Args:
        image: uint8 RGB or grayscale image.
        ranges: Largest corner move, as a fraction of the side (x of the
            width, y of the height); must be in ``[0, 0.25)``.
        rng: Source of the corner moves.

    Returns:
        The warped image, the 3x3 homography (pixel-index coordinates) and
        the drawn parameters.

    Raises:
        ValueError: If the image is not uint8 RGB/gray or the shift is out of range.
    """
    _check_image(image)
    max_shift = float(ranges.max_corner_shift)
    if not 0.0 <= max_shift < _MAX_CORNER_SHIFT:
        raise ValueError(f"max_corner_shift must be in [0, {_MAX_CORNER_SHIFT}), got {max_shift}")
    h, w = image.shape[:2]
    src = _image_corners(h, w)
    shift = rng.uniform(-max_shift, max_shift, size=(4, 2)) * np.array([w, h])
    dst = (src + shift).astype(np.float32)
    homography = cv2.getPerspectiveTransform(src, dst)
    if shift.any():
        out = cv2.warpPerspective(
            image, homography, (w, h), flags=cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_REFLECT_101,
        )
    else:
        out = image.copy()  # zero shift: skip a resampling that changes nothing
    params: Params = {"corners": dst.tolist(), "homography": homography.tolist()}
    return out, homography, params


def warp_boxes(
    boxes: Sequence[Box], homography: np.ndarray, hw: tuple[int, int]
) -> tuple[Box, ...]:
    """Map boxes through a homography as produced by ``perspective``.

    Each box's four corners are mapped, the axis-aligned bounding box of the
    mapped corners is clipped to the image, and boxes left with less than
    1 px of area (or mapped through infinity) are dropped.

    Args:
        boxes: Boxes in continuous pixel coordinates.
        homography: 3x3 homography in pixel-index coordinates.
        hw: Height and width of the warped image, in pixels.

    Returns:
        The mapped boxes, with labels and confidences kept.
    """
    if not boxes:
        return ()
    corners = np.array([_box_corners(box) for box in boxes], dtype=np.float64)
    # Box coordinates put pixel centres at i + 0.5, OpenCV at i.
    points = np.concatenate([corners - 0.5, np.ones((len(boxes), 4, 1))], axis=2)
    mapped = points @ np.asarray(homography, dtype=np.float64).T
    finite = (mapped[..., 2] > _MIN_HOMOGENEOUS_W).all(axis=1)
    xy = mapped[..., :2] / np.where(finite[:, None, None], mapped[..., 2:], 1.0) + 0.5
    limit = np.array([hw[1], hw[0]], dtype=np.float64)
    low = np.clip(xy.min(axis=1), 0.0, limit)
    high = np.clip(xy.max(axis=1), 0.0, limit)
    size = high - low
    keep = finite & (size[:, 0] * size[:, 1] >= _MIN_BOX_AREA_PX)
    centre = (low + high) / 2
    return tuple(
        Box(float(centre[i, 0]), float(centre[i, 1]), float(size[i, 1]), float(size[i, 0]),
            box.label, box.confidence)
        for i, box in enumerate(boxes) if keep[i]
    )


def _image_corners(h: int, w: int) -> np.ndarray:
    """The image's outer corners in pixel-index coordinates (clockwise from top-left)."""
    return np.array(
        [[-0.5, -0.5], [w - 0.5, -0.5], [w - 0.5, h - 0.5], [-0.5, h - 0.5]], dtype=np.float32
    )


def _box_corners(box: Box) -> list[list[float]]:
    """The four corners of ``box`` in continuous pixel coordinates."""
    x0, x1 = box.cx - box.w / 2, box.cx + box.w / 2
    y0, y1 = box.cy - box.h / 2, box.cy + box.h / 2
    return [[x0, y0], [x1, y0], [x1, y1], [x0, y1]]


def color(
    image: np.ndarray, ranges: ColorRange, rng: np.random.Generator
) -> tuple[np.ndarray, Params]:
    """Jitter colour: RGB shift, then HSV hue/saturation/value, then contrast.

    Values saturate at 0 and 255 after each stage, as a camera's would. On a
    grayscale image one shift is drawn, hue and saturation have no effect and
    value scales the gray level.

    Args:
        image: uint8 RGB or grayscale image.
        ranges: Colour jitter ranges (all must be >= 0).
        rng: Source of the jitter draws.

    Returns:
        The jittered image and the drawn parameters (``rgb_shift`` per
        channel; ``hue_deg``; ``saturation``, ``value`` and ``contrast`` as
        multiplicative factors).

    Raises:
        ValueError: If the image is not uint8 RGB/gray or a range is < 0.
    """
    _check_image(image)
    shift, hue_deg, saturation, value, contrast = _draw_color(ranges, image.ndim, rng)
    x = image.astype(np.float32)
    x += shift.astype(np.float32)
    np.clip(x, 0.0, 255.0, out=x)
    x = _jitter_hsv(x, hue_deg, saturation, value)
    np.clip(x, 0.0, 255.0, out=x)
    x = _scale_contrast(x, contrast)
    params: Params = {
        "rgb_shift": shift.tolist(), "hue_deg": hue_deg,
        "saturation": saturation, "value": value, "contrast": contrast,
    }
    return _to_uint8(x), params


def _draw_color(
    ranges: ColorRange, ndim: int, rng: np.random.Generator
) -> tuple[np.ndarray, float, float, float, float]:
    """Draw shift, hue and the saturation, value and contrast factors, in that order."""
    limits = (ranges.rgb_shift, ranges.hue_deg, ranges.saturation, ranges.value, ranges.contrast)
    if min(limits) < 0:
        raise ValueError(f"colour ranges must be >= 0, got {ranges}")
    shift = rng.uniform(-ranges.rgb_shift, ranges.rgb_shift, size=1 if ndim == 2 else 3)
    hue_deg = float(rng.uniform(-ranges.hue_deg, ranges.hue_deg))
    factors = 1.0 + rng.uniform(-1.0, 1.0, size=3) * np.array(limits[2:])
    return shift, hue_deg, float(factors[0]), float(factors[1]), float(factors[2])


def _jitter_hsv(x: np.ndarray, hue_deg: float, saturation: float, value: float) -> np.ndarray:
    """Rotate hue and scale saturation and value of a float 0..255 image, in place."""
    if x.ndim == 2:
        x *= value
        return x
    if hue_deg == 0.0 and saturation == 1.0 and value == 1.0:
        return x
    # Float HSV keeps hue in degrees (0..360) instead of uint8's 2-degree
    # steps; converting in place avoids fresh 0.8 MB buffers per 256 px image.
    x *= 1.0 / 255.0
    cv2.cvtColor(x, cv2.COLOR_RGB2HSV, dst=x)
    hue, sat = x[..., 0], x[..., 1]
    # Red sits at both ends of the hue circle, so rotate modulo 360; adding a
    # non-negative shift leaves one wrap to undo, cheaper than np.mod.
    hue += hue_deg % 360.0
    np.subtract(hue, 360.0, out=hue, where=hue >= 360.0)
    sat *= saturation
    np.clip(sat, 0.0, 1.0, out=sat)
    x[..., 2] *= value
    cv2.cvtColor(x, cv2.COLOR_HSV2RGB, dst=x)
    x *= 255.0
    return x


def _scale_contrast(x: np.ndarray, contrast: float) -> np.ndarray:
    """Scale distances from the image mean by ``contrast``, in place."""
    if contrast != 1.0:
        mean = float(x.mean())
        x *= contrast
        x += mean * (1.0 - contrast)
    return x


def noise(
    image: np.ndarray, ranges: NoiseRange, rng: np.random.Generator
) -> tuple[np.ndarray, Params]:
    """Add one kind of sensor noise, chosen uniformly among the enabled kinds.

    A kind is disabled when its range is 0; with all disabled the image is
    returned unchanged (``{"kind": "none"}``).

    Salt-and-pepper sets a fraction drawn in ``[0, salt_pepper]`` of pixels
    to black or white (half each). Gaussian draws sigma in
    ``[0, gaussian_sigma]``. Poisson draws a strength ``k`` in ``(0, 1]`` and
    uses ``poisson_peak / k**2`` photons at full scale, so its noise std grows
    linearly with ``k`` like Gaussian sigma, and the peak stays >= poisson_peak.

    Args:
        image: uint8 RGB or grayscale image.
        ranges: Noise ranges (all must be >= 0; salt_pepper <= 1).
        rng: Source of the kind choice and the noise.

    Returns:
        The noisy image and the drawn parameters (``kind`` and its value).

    Raises:
        ValueError: If the image is not uint8 RGB/gray or a range is invalid.
    """
    _check_image(image)
    limits = {
        "salt_pepper": ranges.salt_pepper, "gaussian": ranges.gaussian_sigma,
        "poisson": ranges.poisson_peak,
    }
    if min(limits.values()) < 0 or ranges.salt_pepper > 1:
        raise ValueError(f"noise ranges must be >= 0 (salt_pepper <= 1), got {ranges}")
    enabled = [kind for kind, limit in limits.items() if limit > 0]
    if not enabled:
        return image.copy(), {"kind": "none"}
    kind = enabled[int(rng.integers(len(enabled)))]
    return _NOISE_KINDS[kind](image, float(limits[kind]), rng)


def _salt_pepper(
    image: np.ndarray, max_fraction: float, rng: np.random.Generator
) -> tuple[np.ndarray, Params]:
    """Set a random fraction of pixels (all channels) to black or white."""
    fraction = float(rng.uniform(0.0, max_fraction))
    # One uniform draw per pixel decides both whether it is hit and how.
    u = rng.random(image.shape[:2], dtype=np.float32)
    out = image.copy()
    out[u < fraction / 2] = 0
    out[(u >= fraction / 2) & (u < fraction)] = 255
    return out, {"kind": "salt_pepper", "fraction": fraction}


def _gaussian(
    image: np.ndarray, max_sigma: float, rng: np.random.Generator
) -> tuple[np.ndarray, Params]:
    """Add zero-mean Gaussian noise, independent per pixel and channel."""
    sigma = float(rng.uniform(0.0, max_sigma))
    x = rng.standard_normal(image.shape, dtype=np.float32)
    x *= sigma
    x += image
    return _to_uint8(x), {"kind": "gaussian", "sigma": sigma}


def _poisson(
    image: np.ndarray, min_peak: float, rng: np.random.Generator
) -> tuple[np.ndarray, Params]:
    """Photon shot noise: scale to photon counts, draw Poisson, scale back."""
    strength = float(rng.uniform(_MIN_POISSON_STRENGTH, 1.0))
    peak = min_peak / strength**2
    photons_per_level = peak / 255.0
    photons = rng.poisson(image * photons_per_level)
    return _to_uint8(photons / photons_per_level), {"kind": "poisson", "peak": peak}


_NoiseKind = Callable[[np.ndarray, float, np.random.Generator], tuple[np.ndarray, Params]]
_NOISE_KINDS: dict[str, _NoiseKind] = {
    "salt_pepper": _salt_pepper, "gaussian": _gaussian, "poisson": _poisson,
}


def _check_image(image: np.ndarray) -> None:
    """Reject anything but ``H x W x 3`` or ``H x W`` uint8 arrays."""
    is_gray = image.ndim == 2
    is_rgb = image.ndim == 3 and image.shape[2] == 3
    if image.dtype != np.uint8 or not (is_gray or is_rgb) or image.size == 0:
        raise ValueError(
            f"expected an H x W x 3 or H x W uint8 image, got {image.shape} {image.dtype}"
        )


def _check_ops(ops: Sequence[str]) -> None:
    """Reject unknown or repeated op names, naming the valid ones."""
    unknown = [op for op in ops if op not in OPS]
    if unknown:
        raise ValueError(
            f"unknown augmentation op(s) {', '.join(map(repr, unknown))}; "
            f"valid ops are {', '.join(OPS)}"
        )
    repeated = sorted({op for op in ops if list(ops).count(op) > 1})
    if repeated:
        raise ValueError(f"augmentation op(s) repeated: {', '.join(repeated)}; give each once")


def _to_uint8(x: np.ndarray) -> np.ndarray:
    """Round and saturate a float image to uint8 (``x`` is overwritten)."""
    np.clip(x, 0.0, 255.0, out=x)
    x += 0.5  # astype truncates; +0.5 rounds the non-negative values
    return x.astype(np.uint8)
