"""PCB MCU: top view of a quad flat package (dark body, pins on four sides) on a board.

Its defects are small and local, the case for a detector rather than a
classifier: a hair across the pins, a few dust specks, a solder short between
two neighbouring pins. Boxes cover each defect tightly. The material colour is
the chip body's.
"""

from __future__ import annotations

import math

import numpy as np

from simulator.products.base import (
    RGB, Appearance, Frame, Pose, Product, boxes_from_mask, circle, ellipse, fill_poly,
    polyline, rect_poly, register_product, shade,
)

PIN_RGB: RGB = (200, 201, 206)
PAD_RGB: RGB = (206, 170, 96)
HAIR_RGB: RGB = (34, 26, 20)
DUST_RGB: RGB = (214, 210, 198)

# Local design pixels around the chip centre (256 x 256 default frame).
BODY_HALF_PX = 52.0
PINS_PER_SIDE = 12
PIN_PITCH_PX = 8.0
PIN_HALF_W_PX = 2.2
PIN_END_PX = 68.0
PAD_END_PX = 72.0

_ALONG = (np.arange(PINS_PER_SIDE) - (PINS_PER_SIDE - 1) / 2) * PIN_PITCH_PX
_SIDE_DEG = (0.0, 90.0, 180.0, 270.0)


def _rotated(points: np.ndarray, angle_deg: float) -> np.ndarray:
    """``points (..., 2)`` rotated about the origin by ``angle_deg`` (image axes)."""
    c, s = math.cos(math.radians(angle_deg)), math.sin(math.radians(angle_deg))
    out = np.empty_like(points)
    out[..., 0] = c * points[..., 0] - s * points[..., 1]
    out[..., 1] = s * points[..., 0] + c * points[..., 1]
    return out


def _ring_of(x0: float, x1: float, half_w: float) -> np.ndarray:
    """One rectangle per pin position, ``(4 * PINS_PER_SIDE, 4, 2)``, on all four sides.

    Each spans ``x0..x1`` outward from the centre and ``2 * half_w`` along the side.
    """
    side = np.stack([rect_poly(x0, a - half_w, x1, a + half_w) for a in _ALONG])
    return np.concatenate([_rotated(side, deg) for deg in _SIDE_DEG])


_PINS = _ring_of(BODY_HALF_PX - 1.0, PIN_END_PX, PIN_HALF_W_PX)
_PADS = _ring_of(BODY_HALF_PX + 3.0, PAD_END_PX, PIN_HALF_W_PX + 0.8)
# Every other pin has a trace running out to the frame edge.
_TRACES = np.concatenate([
    _rotated(np.array([[[PAD_END_PX, a], [PAD_END_PX + 18.0, a],
                        [PAD_END_PX + 30.0, a * 1.3], [160.0, a * 1.3]]
                       for a in _ALONG[::2]]), deg)
    for deg in _SIDE_DEG])
_BODY = rect_poly(-BODY_HALF_PX, -BODY_HALF_PX, BODY_HALF_PX, BODY_HALF_PX)
_BODY_TOP = rect_poly(-BODY_HALF_PX + 3.0, -BODY_HALF_PX + 3.0,
                      BODY_HALF_PX - 3.0, BODY_HALF_PX - 3.0)


@register_product("pcb_mcu")
class PcbMcu(Product):
    """A QFP chip on a green board; material = the chip body colour."""

    classes = ("hair", "dust", "short")
    default_material: RGB = (32, 32, 37)
    default_background: RGB = (34, 110, 56)
    half_extent_px = (PAD_END_PX + 1.0, PAD_END_PX + 1.0)

    def render(self, rng: np.random.Generator, appearance: Appearance,
               defect: str | None) -> Frame:
        """Draw one chip; see :meth:`Product.render`."""
        self.check_defect(defect)
        pose = self.sample_pose(rng, appearance, size_variation=0.005)
        body = self.material(appearance)
        board = tuple(appearance.background or self.default_background)
        img = self.canvas(appearance)
        polyline(img, pose, _TRACES, shade(board, 1.3), 2.0)  # type: ignore[arg-type]
        fill_poly(img, pose, _PADS, PAD_RGB)
        # Pins sit slightly off their nominal places, a few tenths of a pixel each.
        fill_poly(img, pose, _PINS + rng.normal(0.0, 0.3, (len(_PINS), 1, 2)), PIN_RGB)
        fill_poly(img, pose, _BODY, shade(body, 1.7))
        fill_poly(img, pose, _BODY_TOP, body)
        circle(img, pose, -BODY_HALF_PX + 12.0, -BODY_HALF_PX + 12.0, 4.0, shade(body, 2.4))
        mask = self.empty_mask()
        if defect == "hair":
            _hair(img, mask, rng, pose)
        elif defect == "dust":
            _dust(img, mask, rng, pose)
        elif defect == "short":
            _short(img, mask, rng, pose)
        boxes = boxes_from_mask(mask, defect) if defect else ()
        return self.finish(img, rng, appearance, pose, defect, mask, boxes)


def _hair(img: np.ndarray, mask: np.ndarray, rng: np.random.Generator, pose: Pose) -> None:
    """A thin dark curve, 24-54 px long, lying across the pins near the body edge."""
    side, along, out, length, phi, bend1, bend2, thin = rng.random(8).tolist()
    centre = _rotated(np.array([46.0 + 38.0 * out, 140.0 * (along - 0.5)]), 90.0 * int(4 * side))
    length = 24.0 + 30.0 * length
    direction = np.array([math.cos(2 * math.pi * phi), math.sin(2 * math.pi * phi)])
    normal = np.array([-direction[1], direction[0]])
    p0, p3 = centre - direction * length / 2, centre + direction * length / 2
    p1 = centre - direction * length / 6 + normal * length * (bend1 - 0.5)
    p2 = centre + direction * length / 6 + normal * length * (bend2 - 0.5)
    t = np.linspace(0.0, 1.0, 14)[:, None]
    curve = ((1 - t) ** 3 * p0 + 3 * (1 - t) ** 2 * t * p1 + 3 * (1 - t) * t ** 2 * p2
             + t ** 3 * p3)
    thickness = 1.0 if thin < 0.7 else 2.0
    polyline(img, pose, curve, HAIR_RGB, thickness)
    polyline(mask, pose, curve, 1, thickness)


def _dust(img: np.ndarray, mask: np.ndarray, rng: np.random.Generator, pose: Pose) -> None:
    """A cluster of 2-6 small light specks anywhere on the part."""
    cx, cy = (rng.random(2) * 2 * PAD_END_PX - PAD_END_PX).tolist()
    n = int(rng.integers(2, 7))
    offsets = rng.normal(0.0, 4.0, (n, 2)).tolist()
    radii = (0.8 + rng.random(n)).tolist()
    for (dx, dy), r in zip(offsets, radii):
        tone = shade(DUST_RGB, 0.9 + 0.15 * r)
        circle(img, pose, cx + dx, cy + dy, r, tone)
        circle(mask, pose, cx + dx, cy + dy, r, 1)


def _short(img: np.ndarray, mask: np.ndarray, rng: np.random.Generator, pose: Pose) -> None:
    """A solder blob bridging pin ``i`` and ``i + 1`` on one side."""
    side = int(rng.integers(4))
    i = int(rng.integers(PINS_PER_SIDE - 1))
    out, half_along, half_out = (rng.random(3) * (9.0, 2.0, 2.5) + (57.0, 5.5, 2.5)).tolist()
    along = (_ALONG[i] + _ALONG[i + 1]) / 2
    centre = tuple(_rotated(np.array([out, along]), _SIDE_DEG[side]).tolist())
    axes = (half_out, half_along)
    ellipse(img, pose, centre, axes, _SIDE_DEG[side], shade(PIN_RGB, 1.08))
    ellipse(img, pose, centre, (half_out * 0.4, half_along * 0.5), _SIDE_DEG[side],
            shade(PIN_RGB, 1.22))
    ellipse(mask, pose, centre, axes, _SIDE_DEG[side], 1)
