"""Shared pieces of the synthetic product generators: values, drawing, registry.

A product draws a raw camera frame larger than itself (so ROI cropping
matters) and returns it with its ground truth as a :class:`Frame`. Geometry is
drawn straight at the jittered pose, which is cheaper than warping; the
station's look is then applied by :func:`apply_appearance`. What does not
depend on the frame's generator (canvases, tone curves, the noise bank) is
made once and reused.
"""

from __future__ import annotations

import abc
import functools
import math
import zlib
from dataclasses import dataclass
from typing import Callable, TypeVar

import cv2
import numpy as np

from inspkit.types import Appearance, Box, Roi  # noqa: F401  (Appearance re-exported)

# Generation is parallelised by processes; OpenCV's own thread pool would only
# oversubscribe the cores.
cv2.setNumThreads(1)

# Drawing helpers live in render.py; products import them from here too.
from simulator.products.render import (  # noqa: F401  (re-exported)
    RGB, SHIFT_BITS, Pose, boxes_from_mask, circle, ellipse, fill_poly, polyline, rect_poly, shade, tilt,
)

#: Distinct start offsets into the noise bank; each frame picks one.
NOISE_OFFSETS = 1 << 18

_MAX_CACHED_CANVASES = 16


@dataclass(frozen=True, eq=False)
class Frame:
    """One raw camera frame with its ground truth.

    Attributes:
        image: H x W x 3 uint8 RGB image.
        label: "OK" / "NG" for ok-ng products; the class name for multiclass ones.
        defect_type: The defect drawn, or None for OK parts and multiclass products.
        mask: H x W bool, True on defect pixels (all False when there is none).
        boxes: One box per defect region, labelled with the defect type, frame coords.
        roi: Where the product actually is in this frame (after jitter and scale).
    """

    image: np.ndarray
    label: str
    defect_type: str | None
    mask: np.ndarray
    boxes: tuple[Box, ...]
    roi: Roi


@functools.lru_cache(maxsize=64)
def tone_lut(gain: float, offset: float, gamma: float,
             cast: tuple[float, float, float]) -> np.ndarray | None:
    """Gain, offset, gamma and colour cast as one 1 x 256 x 3 table (None = identity)."""
    if gain == 1.0 and offset == 0.0 and gamma == 1.0 and tuple(cast) == (1.0, 1.0, 1.0):
        return None
    levels = np.clip(np.arange(256, dtype=np.float64) * gain + offset, 0.0, 255.0)
    toned = 255.0 * (levels / 255.0) ** gamma
    lut = np.clip(np.rint(toned[:, None] * np.asarray(cast, np.float64)[None, :]), 0, 255)
    return lut.astype(np.uint8).reshape(1, 256, 3)


@functools.lru_cache(maxsize=8)
def noise_bank(n_values: int, seed: int) -> np.ndarray:
    """Standard-normal float32 values, made once per size and seed and shared.

    A frame reads a window at a random offset: far cheaper than fresh normals.
    """
    bank = np.random.default_rng(seed).standard_normal(n_values, dtype=np.float32)
    bank.flags.writeable = False
    return bank


def apply_appearance(img: np.ndarray, appearance: Appearance, rng: np.random.Generator,
                     bank: np.ndarray) -> np.ndarray:
    """Tone (one LUT), defocus, then sensor noise, in place; returns ``img``."""
    lut = tone_lut(appearance.illum_gain, appearance.illum_offset, appearance.gamma,
                   tuple(appearance.color_cast))
    # In place throughout: a fresh 196 kB buffer per step costs more than the step.
    if lut is not None:
        cv2.LUT(img, lut, dst=img)
    if appearance.blur_sigma > 0:
        cv2.GaussianBlur(img, (0, 0), appearance.blur_sigma, dst=img)
    # Always draw the offset so the stream does not depend on noise_sigma.
    start = int(rng.integers(0, bank.size - img.size + 1))
    if appearance.noise_sigma > 0:
        noise = bank[start:start + img.size].reshape(img.shape)
        cv2.addWeighted(img, 1.0, noise, appearance.noise_sigma, 0.0, dst=img, dtype=cv2.CV_8U)
    return img


class Product(abc.ABC):
    """A synthetic product: draws raw frames with ground truth.

    Subclasses set the class attributes, register with :func:`register_product`
    and implement :meth:`render`. Geometry is written in design pixels of
    ``default_frame_hw``; another ``frame_hw`` scales it to fit.

    Attributes:
        name: Registry name.
        label_kind: "ok-ng" or "multiclass".
        classes: Defect types (ok-ng) or class names (multiclass).
        frame_hw: Raw frame (height, width) in pixels.
        nominal_roi: Where the product sits with zero jitter.
    """

    name: str = ""
    label_kind: str = "ok-ng"
    classes: tuple[str, ...] = ()
    default_frame_hw: tuple[int, int] = (256, 256)
    default_material: RGB = (128, 128, 128)
    default_background: RGB = (0, 0, 0)
    #: Product half extent (width, height) in design pixels, around its centre.
    half_extent_px: tuple[float, float] = (64.0, 64.0)
    #: Product centre offset from the frame centre, design pixels.
    centre_offset_px: tuple[float, float] = (0.0, 0.0)

    def __init__(self, frame_hw: tuple[int, int] | None = None) -> None:
        h, w = frame_hw or self.default_frame_hw
        if h < 16 or w < 16:
            raise ValueError(f"frame_hw must be at least 16 x 16 pixels, got {(h, w)}")
        self.frame_hw = (int(h), int(w))
        self.size_factor = min(h / self.default_frame_hw[0], w / self.default_frame_hw[1])
        self._centre = (w / 2 + self.centre_offset_px[0] * self.size_factor,
                        h / 2 + self.centre_offset_px[1] * self.size_factor)
        self._canvases: dict[RGB, np.ndarray] = {}
        self._bank = noise_bank(h * w * 3 + NOISE_OFFSETS, zlib.crc32(self.name.encode()))
        self.nominal_roi = self._roi(Pose(*self._centre, 0.0, self.size_factor))

    @abc.abstractmethod
    def render(self, rng: np.random.Generator, appearance: Appearance,
               defect: str | None) -> Frame:
        """Draw one frame with ``rng`` (the frame's own generator).

        ``defect``: ok-ng: None for an OK part, else one of ``classes``;
        multiclass: the class name (required).
        """

    def check_defect(self, defect: str | None) -> None:
        """Raise ValueError unless ``defect`` is valid for :meth:`render`."""
        allowed_none = self.label_kind == "ok-ng"
        if (defect is None and allowed_none) or defect in self.classes:
            return
        expected = list(self.classes) + ([None] if allowed_none else [])
        raise ValueError(f"{self.name}: unknown defect/class {defect!r}; "
                         f"expected one of {expected}")

    def material(self, appearance: Appearance) -> RGB:
        """The material colour in effect for ``appearance``."""
        return tuple(appearance.material_color or self.default_material)  # type: ignore

    def sample_pose(self, rng: np.random.Generator, appearance: Appearance,
                    size_variation: float = 0.0) -> Pose:
        """Jittered placement; ``size_variation`` is a relative part-to-part size std."""
        dx, dy, rot, size = rng.standard_normal(4).tolist()
        jitter = appearance.position_jitter_px
        scale = appearance.scale * self.size_factor * (1.0 + size_variation * size)
        off_x, off_y = appearance.position_offset_px
        return Pose(self._centre[0] + off_x + jitter * dx, self._centre[1] + off_y + jitter * dy,
                    appearance.rotation_jitter_deg * rot, scale)

    def canvas(self, appearance: Appearance) -> np.ndarray:
        """A fresh frame filled with the background colour."""
        rgb = tuple(appearance.background or self.default_background)
        template = self._canvases.get(rgb)  # type: ignore[arg-type]
        if template is None:
            if len(self._canvases) >= _MAX_CACHED_CANVASES:
                self._canvases.clear()
            template = np.empty((*self.frame_hw, 3), np.uint8)
            template[:] = rgb
            self._canvases[rgb] = template  # type: ignore[index]
        return template.copy()

    def empty_mask(self) -> np.ndarray:
        """An all-zero uint8 mask of the frame size (draw defects on it with value 1)."""
        return np.zeros(self.frame_hw, np.uint8)

    def finish(self, img: np.ndarray, rng: np.random.Generator, appearance: Appearance,
               pose: Pose, defect: str | None, mask: np.ndarray,
               boxes: tuple[Box, ...] = ()) -> Frame:
        """Apply the station look to ``img`` and pack it with its ground truth.

        ``defect`` is the defect type (ok-ng) or class (multiclass); ``mask`` is
        uint8 0/1; ``pose`` gives the ROI. A camera tilt warps the drawn frame
        and its ground truth together, before the sensor's tone and noise.
        """
        roi = self._roi(pose)
        if appearance.tilt_deg != 0.0:
            background = tuple(appearance.background or self.default_background)
            img, mask, boxes, roi_cxcyhw = tilt(img, mask, boxes, (roi.cx, roi.cy, roi.h, roi.w),
                                                appearance.tilt_deg, background)  # type: ignore[arg-type]
            roi = Roi(*roi_cxcyhw)
        image = apply_appearance(img, appearance, rng, self._bank)
        if self.label_kind == "multiclass":
            label, defect_type = str(defect), None
        else:
            label, defect_type = ("OK", None) if defect is None else ("NG", defect)
        return Frame(image, label, defect_type, mask.view(np.bool_), boxes, roi)

    def _roi(self, pose: Pose) -> Roi:
        """Axis-aligned bounds of the rotated, scaled product, clipped to the frame."""
        half_w, half_h = self.half_extent_px
        angle = math.radians(pose.angle_deg)
        c, s = abs(math.cos(angle)), abs(math.sin(angle))
        ext_x = pose.scale * (c * half_w + s * half_h)
        ext_y = pose.scale * (s * half_w + c * half_h)
        h, w = self.frame_hw
        x0, x1 = max(0.0, pose.cx_px - ext_x), min(float(w), pose.cx_px + ext_x)
        y0, y1 = max(0.0, pose.cy_px - ext_y), min(float(h), pose.cy_px + ext_y)
        return Roi((x0 + x1) / 2, (y0 + y1) / 2, y1 - y0, x1 - x0)


_P = TypeVar("_P", bound=type[Product])
_REGISTRY: dict[str, type[Product]] = {}


def register_product(name: str) -> Callable[[_P], _P]:
    """Class decorator that registers a :class:`Product` subclass under ``name``."""
    def decorate(cls: _P) -> _P:
        if name in _REGISTRY:
            raise ValueError(f"product {name!r} is already registered")
        cls.name = name
        _REGISTRY[name] = cls
        return cls
    return decorate


def list_products() -> list[str]:
    """Registered product names, sorted."""
    return sorted(_REGISTRY)


def create_product(name: str, frame_hw: tuple[int, int] | None = None) -> Product:
    """Build product ``name`` for frames of ``frame_hw`` (None = its default size).

    Raises:
        KeyError: ``name`` is not registered (the message lists the known names).
    """
    if name not in _REGISTRY:
        raise KeyError(f"unknown product {name!r}; known products: {', '.join(list_products())}")
    return _REGISTRY[name](frame_hw)


def generate(product: Product, seed: int, index: int, appearance: Appearance = Appearance(),
             defect_rate: float = 0.5, defect: str | None = None) -> Frame:
    """Frame ``index`` of stream ``seed``, reproducible on its own.

    The frame's generator is seeded by ``[seed, index]``, so frames can be made
    in any order and in parallel processes.

    Args:
        product: The product to draw.
        seed: Stream seed.
        index: Frame number in the stream.
        appearance: Station look and placement.
        defect_rate: ok-ng: probability of NG (defect type uniform over classes).
        defect: Force this defect type (ok-ng) or class (multiclass; else uniform).
    """
    if not 0.0 <= defect_rate <= 1.0:
        raise ValueError(f"defect_rate must be in [0, 1], got {defect_rate}")
    rng = np.random.default_rng([seed, index])
    # Draw both choices always so a forced defect leaves the rest of the frame as is.
    is_ng = rng.random() < defect_rate
    pick = product.classes[int(rng.integers(len(product.classes)))]
    if defect is None:
        defect = pick if (is_ng or product.label_kind == "multiclass") else None
    product.check_defect(defect)
    return product.render(rng, appearance, defect)
