"""Cylinder bonding: top view of a glue bead around a part seated in a metal cylinder.

From the outside in: the cylinder wall (material colour) with an alignment
notch, the recess floor, the glue bead (an annulus) and the inner part with
its centre hole. The bead is what is inspected.
"""

from __future__ import annotations

import math

import numpy as np

from simulator.products.base import (
    RGB, Appearance, Frame, Pose, Product, boxes_from_mask, circle, ellipse, fill_poly,
    rect_poly, register_product, shade,
)

GLUE_RGB: RGB = (214, 168, 62)
BUBBLE_RGB: RGB = (250, 246, 228)

# Design radii, pixels in the default 256 x 256 frame (cylinder ~66 % of it).
CYLINDER_R_PX = 84.0
RECESS_R_PX = 70.0
PART_R_PX = 36.0
HOLE_R_PX = 12.0
BEAD_W_PX = 11.0

_NOTCH = rect_poly(CYLINDER_R_PX - 9.0, -3.0, CYLINDER_R_PX + 0.5, 3.0)


class _Bead:
    """The bead geometry of one frame (local design pixels)."""

    def __init__(self, rng: np.random.Generator, centre: tuple[float, float]) -> None:
        u = rng.random(4).tolist()
        self.centre = centre
        self.width = BEAD_W_PX * (0.9 + 0.2 * u[0])
        radius = PART_R_PX + self.width / 2 + (u[1] - 0.5)
        ecc = 0.03 * u[2]  # small out-of-roundness of a dispensed bead
        self.axes = (radius * (1 + ecc), radius * (1 - ecc))
        self.angle_deg = 360.0 * u[3]

    def point(self, phi_deg: float, radial_px: float) -> tuple[float, float]:
        """Local point at bead angle ``phi_deg``, ``radial_px`` out from the bead centreline."""
        r = self.axes[0] + radial_px
        phi = math.radians(phi_deg)
        return self.centre[0] + r * math.cos(phi), self.centre[1] + r * math.sin(phi)

    def arc(self, img: np.ndarray, pose: Pose, color: RGB | int, width: float,
            radial_px: float = 0.0, arc_deg: tuple[float, float] = (0.0, 360.0)) -> None:
        """Draw (part of) the bead annulus, optionally shifted outward by ``radial_px``."""
        axes = (self.axes[0] + radial_px, self.axes[1] + radial_px)
        ellipse(img, pose, self.centre, axes, self.angle_deg, color, width, arc_deg)


@register_product("cylinder_bonding")
class CylinderBonding(Product):
    """Glue bead bonding a part into a metal cylinder; material = the cylinder metal."""

    classes = ("broken_bead", "lump", "insufficient_glue", "air_bubbles", "slipped_part")
    default_material: RGB = (176, 178, 184)
    default_background: RGB = (38, 40, 46)
    half_extent_px = (CYLINDER_R_PX + 1.0, CYLINDER_R_PX + 1.0)

    def render(self, rng: np.random.Generator, appearance: Appearance,
               defect: str | None) -> Frame:
        """Draw one cylinder; see :meth:`Product.render`."""
        self.check_defect(defect)
        pose = self.sample_pose(rng, appearance, size_variation=0.01)
        metal = self.material(appearance)
        img = self.canvas(appearance)
        self._draw_cylinder(img, pose, metal)
        centre = self._part_centre(rng) if defect == "slipped_part" else (0.0, 0.0)
        bead = _Bead(rng, centre)
        mask = self.empty_mask()
        bead.arc(img, pose, GLUE_RGB, bead.width)
        bead.arc(img, pose, shade(GLUE_RGB, 1.12), 2.0, radial_px=-0.2 * bead.width)
        if defect == "broken_bead":
            _break_bead(img, mask, rng, pose, bead, shade(metal, 0.62))
        elif defect == "insufficient_glue":
            _thin_bead(img, mask, rng, pose, bead, shade(metal, 0.62))
        _draw_part(img, pose, metal, centre)
        if defect == "lump":
            _add_lump(img, mask, rng, pose, bead)
        elif defect == "air_bubbles":
            _add_bubbles(img, mask, rng, pose, bead)
        elif defect == "slipped_part":
            circle(mask, pose, *centre, bead.axes[0] + bead.width / 2, 1)
        split = defect in ("broken_bead", "air_bubbles")
        boxes = boxes_from_mask(mask, defect, split) if defect else ()
        return self.finish(img, rng, appearance, pose, defect, mask, boxes)

    @staticmethod
    def _draw_cylinder(img: np.ndarray, pose: Pose, metal: RGB) -> None:
        """Wall, rim edge, alignment notch and recess floor."""
        circle(img, pose, 0.0, 0.0, CYLINDER_R_PX, metal)
        circle(img, pose, 0.0, 0.0, CYLINDER_R_PX - 1.5, shade(metal, 0.75), 3.0)
        fill_poly(img, pose, _NOTCH, shade(metal, 0.35))
        circle(img, pose, 0.0, 0.0, RECESS_R_PX, shade(metal, 0.62))
        circle(img, pose, 0.0, 0.0, RECESS_R_PX, shade(metal, 0.88), 2.0)

    @staticmethod
    def _part_centre(rng: np.random.Generator) -> tuple[float, float]:
        """Where a slipped part ended up: 6-13 design pixels off centre."""
        dist, phi = 6.0 + 7.0 * rng.random(), 2 * math.pi * rng.random()
        return dist * math.cos(phi), dist * math.sin(phi)


def _draw_part(img: np.ndarray, pose: Pose, metal: RGB, centre: tuple[float, float]) -> None:
    """The inner part: a slightly brighter disc with a chamfer ring and a centre hole."""
    circle(img, pose, *centre, PART_R_PX, shade(metal, 1.05))
    circle(img, pose, *centre, PART_R_PX - 3.0, shade(metal, 0.9), 2.0)
    circle(img, pose, *centre, HOLE_R_PX, shade(metal, 0.25))


def _break_bead(img: np.ndarray, mask: np.ndarray, rng: np.random.Generator, pose: Pose,
                bead: _Bead, floor: RGB) -> None:
    """One or two gaps of 12-40 degrees where no glue was laid."""
    n_gaps = 1 if rng.random() < 0.7 else 2
    for start in (rng.random(n_gaps) * 360.0).tolist():
        arc = (start, start + 12.0 + 28.0 * rng.random())
        bead.arc(img, pose, floor, bead.width + 3.0, arc_deg=arc)
        bead.arc(mask, pose, 1, bead.width, arc_deg=arc)


def _thin_bead(img: np.ndarray, mask: np.ndarray, rng: np.random.Generator, pose: Pose,
               bead: _Bead, floor: RGB) -> None:
    """Over a 60-300 degree arc only 15-60 % of the bead width is left (outer side missing)."""
    start, span, kept = (rng.random(3) * (360.0, 240.0, 0.45) + (0.0, 60.0, 0.15)).tolist()
    removed = bead.width * (1.0 - kept)
    radial = bead.width / 2 - removed / 2
    arc = (start, start + span)
    # Over-paint outward a little so no glue fringe survives the rounding of edges.
    bead.arc(img, pose, floor, removed + 2.0, radial_px=radial + 1.0, arc_deg=arc)
    bead.arc(mask, pose, 1, removed, radial_px=radial, arc_deg=arc)


def _add_lump(img: np.ndarray, mask: np.ndarray, rng: np.random.Generator, pose: Pose,
              bead: _Bead) -> None:
    """A blob of excess glue sitting on the bead, partly spilling over."""
    phi, radial, size, aspect, tilt = rng.random(5).tolist()
    centre = bead.point(360.0 * phi, bead.width * (0.6 * radial - 0.1))
    a = bead.width * (0.65 + 0.5 * size)
    axes = (a, a * (0.6 + 0.4 * aspect))
    ellipse(img, pose, centre, axes, 180.0 * tilt, shade(GLUE_RGB, 0.86))
    ellipse(mask, pose, centre, axes, 180.0 * tilt, 1)
    glint = (centre[0] - 0.3 * axes[0], centre[1] - 0.3 * axes[1])
    circle(img, pose, *glint, 0.25 * axes[1], shade(GLUE_RGB, 1.18))


def _add_bubbles(img: np.ndarray, mask: np.ndarray, rng: np.random.Generator, pose: Pose,
                 bead: _Bead) -> None:
    """3-8 small bright round voids inside the bead, each with a dark rim."""
    n = int(rng.integers(3, 9))
    params = rng.random((n, 3)).tolist()
    for phi, radial, size in params:
        x, y = bead.point(360.0 * phi, bead.width * 0.5 * (radial - 0.5))
        r = 1.2 + 1.4 * size
        circle(img, pose, x, y, r + 0.8, shade(GLUE_RGB, 0.55))
        circle(img, pose, x, y, r, BUBBLE_RGB)
        circle(mask, pose, x, y, r + 0.8, 1)
