"""Navigation icons: 20-class classification of car-navigation software icons.

Each frame shows one icon tile (64 x 64 of a 96 x 96 frame): a white glyph on
a rounded square of the material colour. Glyphs are written once in unit
coordinates (-1..1, y down) as a short list of drawing operations and scaled
to design pixels at import.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from simulator.products.base import (
    RGB, Appearance, Frame, Pose, Product, circle, ellipse, fill_poly, polyline,
    register_product,
)

GLYPH_RGB: RGB = (246, 246, 246)
TILE_HALF_PX = 32.0
GLYPH_HALF_PX = 24.0
TILE_CORNER_PX = 9.0


class _Op(NamedTuple):
    """One drawing operation of a glyph, in unit coordinates."""

    kind: str                 # fill | line | loop | disc | ring | arc
    pts: np.ndarray           # (N, 2) points; the centre for disc/ring/arc
    radius: float = 0.0
    width: float = 0.0        # stroke width for line/loop/ring/arc
    arc_deg: tuple[float, float] = (0.0, 360.0)
    fg: bool = True           # False = cut out in the tile colour


def _p(*xy: float) -> np.ndarray:
    """Flat ``x0, y0, x1, y1, ...`` as an ``(N, 2)`` array."""
    return np.asarray(xy, np.float64).reshape(-1, 2)


def fill(*xy: float, fg: bool = True) -> _Op:
    """Filled polygon through the points ``x0, y0, x1, y1, ...``."""
    return _Op("fill", _p(*xy), fg=fg)


def rect(x0: float, y0: float, x1: float, y1: float, fg: bool = True) -> _Op:
    """Filled axis-aligned rectangle."""
    return fill(x0, y0, x1, y0, x1, y1, x0, y1, fg=fg)


def line(width: float, *xy: float, closed: bool = False) -> _Op:
    """Stroke through the points; ``closed`` joins the last to the first."""
    return _Op("loop" if closed else "line", _p(*xy), width=width)


def disc(x: float, y: float, r: float, fg: bool = True) -> _Op:
    """Filled circle."""
    return _Op("disc", _p(x, y), radius=r, fg=fg)


def arc(x: float, y: float, r: float, width: float, a0: float = 0.0, a1: float = 360.0) -> _Op:
    """Circular stroke from angle ``a0`` to ``a1`` degrees (0 = +x, 90 = down)."""
    return _Op("arc", _p(x, y), radius=r, width=width, arc_deg=(a0, a1))


def _star(n_points: int, outer: float, inner: float) -> _Op:
    """A filled star, first point up, alternating ``outer`` and ``inner`` radii."""
    angles = np.radians(np.arange(2 * n_points) * 180.0 / n_points - 90.0)
    radii = np.where(np.arange(2 * n_points) % 2 == 0, outer, inner)
    return fill(*np.stack([radii * np.cos(angles), radii * np.sin(angles)], 1).ravel())


def _rotate(ops: list[_Op], deg: float) -> list[_Op]:
    """The glyph rotated by ``deg`` degrees about its centre."""
    c, s = math.cos(math.radians(deg)), math.sin(math.radians(deg))
    turn = np.array([[c, s], [-s, c]])
    return [op._replace(pts=op.pts @ turn, arc_deg=(op.arc_deg[0] + deg, op.arc_deg[1] + deg))
            for op in ops]


_ARROW_UP = [rect(-0.2, -0.1, 0.2, 0.9), fill(-0.65, -0.05, 0.65, -0.05, 0.0, -0.9)]
_GEAR = [disc(0, 0, 0.62)] + [op for k in range(8)
                              for op in _rotate([rect(-0.15, -0.95, 0.15, -0.5)], 45.0 * k)]
_CHECKS = [rect(-0.5 + 0.3 * i, -0.85 + 0.35 * j, -0.2 + 0.3 * i, -0.5 + 0.35 * j, fg=False)
           for i in range(4) for j in range(2) if (i + j) % 2 == 0]

GLYPHS: dict[str, list[_Op]] = {
    "arrow_up": _ARROW_UP,
    "arrow_right": _rotate(_ARROW_UP, 90.0),
    "arrow_down": _rotate(_ARROW_UP, 180.0),
    "arrow_left": _rotate(_ARROW_UP, 270.0),
    "u_turn": [arc(0, -0.1, 0.45, 0.28, 180, 360), line(0.28, -0.45, -0.1, -0.45, 0.9),
               line(0.28, 0.45, -0.1, 0.45, 0.3), fill(0.1, 0.3, 0.8, 0.3, 0.45, 0.85)],
    "roundabout": [arc(0, 0, 0.42, 0.18), line(0.24, 0.0, 0.45, 0.0, 1.0),
                   line(0.14, -0.45, 0.0, -0.95, 0.0), line(0.14, 0.45, 0.0, 0.95, 0.0),
                   fill(0.22, -0.3, 0.68, -0.3, 0.45, -0.72)],
    "fuel": [rect(-0.65, -0.8, 0.2, 0.9), rect(-0.5, -0.62, 0.05, -0.2, fg=False),
             line(0.12, 0.2, -0.35, 0.58, -0.1, 0.58, 0.55, 0.4, 0.65),
             rect(-0.8, 0.75, 0.35, 0.9)],
    "parking": [rect(-0.5, -0.8, -0.2, 0.85), arc(-0.05, -0.38, 0.3, 0.26, -90, 90),
                line(0.26, -0.3, -0.68, -0.05, -0.68), line(0.26, -0.3, -0.08, -0.05, -0.08)],
    "home": [fill(-0.95, 0.0, 0.0, -0.85, 0.95, 0.0), rect(-0.6, -0.05, 0.6, 0.85),
             rect(-0.15, 0.3, 0.15, 0.85, fg=False)],
    "destination_flag": [line(0.12, -0.6, -0.9, -0.6, 0.92), rect(-0.54, -0.85, 0.7, -0.15)]
    + [op._replace(pts=op.pts + (-0.04, 0.0)) for op in _CHECKS],
    "hospital": [arc(0, 0, 0.82, 0.13), rect(-0.17, -0.58, 0.17, 0.58),
                 rect(-0.58, -0.17, 0.58, 0.17)],
    "restaurant": [line(0.08, -0.65, -0.85, -0.65, -0.3), line(0.08, -0.45, -0.85, -0.45, -0.3),
                   line(0.08, -0.25, -0.85, -0.25, -0.3), line(0.1, -0.65, -0.3, -0.25, -0.3),
                   line(0.15, -0.45, -0.3, -0.45, 0.9),
                   fill(0.3, -0.9, 0.6, -0.6, 0.6, 0.1, 0.48, 0.1, 0.48, 0.9, 0.3, 0.9)],
    "airport": [rect(-0.1, -0.8, 0.1, 0.75), disc(0, -0.8, 0.1),
                fill(-0.9, 0.15, 0.0, -0.35, 0.9, 0.15, 0.9, 0.32, 0.0, 0.05, -0.9, 0.32),
                fill(-0.4, 0.85, 0.0, 0.6, 0.4, 0.85, 0.4, 0.95, -0.4, 0.95)],
    "ev_charging": [fill(0.15, -0.95, -0.55, 0.1, -0.05, 0.1, -0.2, 0.95, 0.55, -0.15,
                         0.05, -0.15)],
    "warning": [line(0.14, 0.0, -0.82, 0.88, 0.72, -0.88, 0.72, closed=True),
                line(0.17, 0.0, -0.35, 0.0, 0.2), disc(0.0, 0.45, 0.1)],
    "location_pin": [disc(0, -0.3, 0.56), fill(-0.49, -0.05, 0.49, -0.05, 0.0, 0.92),
                     disc(0, -0.3, 0.22, fg=False)],
    "star": [_star(5, 0.95, 0.4)],
    "search": [arc(-0.2, -0.2, 0.48, 0.17), line(0.24, 0.15, 0.15, 0.8, 0.8)],
    "traffic_light": [rect(-0.38, -0.95, 0.38, 0.95), disc(0, -0.58, 0.21, fg=False),
                      disc(0, 0.0, 0.21, fg=False), disc(0, 0.58, 0.21, fg=False)],
    "settings": _GEAR + [disc(0, 0, 0.27, fg=False)],
}


def _to_design_px(ops: list[_Op]) -> list[_Op]:
    """Unit-coordinate operations scaled to design pixels of the glyph area."""
    k = GLYPH_HALF_PX
    return [op._replace(pts=op.pts * k, radius=op.radius * k, width=op.width * k) for op in ops]


def _rounded_square(half: float, corner: float) -> np.ndarray:
    """Outline ``(N, 2)`` of a square with rounded corners."""
    pts = []
    for cx, cy, start in ((1, 1, 0), (-1, 1, 90), (-1, -1, 180), (1, -1, 270)):
        t = np.radians(start + np.linspace(0.0, 90.0, 5))
        pts.append(np.stack([cx * (half - corner) + corner * np.cos(t),
                             cy * (half - corner) + corner * np.sin(t)], 1))
    return np.concatenate(pts)


_GLYPHS_PX = {name: _to_design_px(ops) for name, ops in GLYPHS.items()}
_TILE = _rounded_square(TILE_HALF_PX, TILE_CORNER_PX)


def _draw_op(img: np.ndarray, pose: Pose, op: _Op, color: RGB) -> None:
    """Draw one glyph operation at ``pose``."""
    if op.kind == "fill":
        fill_poly(img, pose, op.pts, color)
    elif op.kind in ("line", "loop"):
        polyline(img, pose, op.pts, color, op.width, closed=op.kind == "loop")
    elif op.kind == "disc":
        circle(img, pose, *op.pts[0], op.radius, color)
    else:
        ellipse(img, pose, tuple(op.pts[0]), (op.radius, op.radius), 0.0, color, op.width,
                op.arc_deg)


@register_product("nav_icons")
class NavIcons(Product):
    """Twenty navigation icons; material = the tile colour."""

    label_kind = "multiclass"
    classes = tuple(GLYPHS)
    default_frame_hw = (96, 96)
    default_material: RGB = (36, 92, 196)
    default_background: RGB = (28, 30, 34)
    half_extent_px = (TILE_HALF_PX, TILE_HALF_PX)

    def render(self, rng: np.random.Generator, appearance: Appearance,
               defect: str | None) -> Frame:
        """Draw the icon of class ``defect``; see :meth:`Product.render`."""
        self.check_defect(defect)
        pose = self.sample_pose(rng, appearance, size_variation=0.02)
        tile = self.material(appearance)
        img = self.canvas(appearance)
        fill_poly(img, pose, _TILE, tile)
        for op in _GLYPHS_PX[str(defect)]:
            _draw_op(img, pose, op, GLYPH_RGB if op.fg else tile)
        return self.finish(img, rng, appearance, pose, defect, self.empty_mask())
