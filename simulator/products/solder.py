"""Soldered pin: side view of a pin lead standing on a pad with a solder fillet.

The component body runs along the top of the frame, the board along the
bottom; the inspected pin stands in the middle with a neighbour on each side
(needed for solder bridges). The solder is drawn blue, as in the paper's
figures; the material colour is the solder's.
"""

from __future__ import annotations

import numpy as np

from simulator.products.base import (
    RGB, Appearance, Frame, Pose, Product, boxes_from_mask, ellipse, fill_poly, polyline,
    rect_poly, register_product, shade,
)

BODY_RGB: RGB = (30, 30, 33)
BOARD_RGB: RGB = (40, 88, 52)
PAD_RGB: RGB = (196, 132, 74)
LEAD_RGB: RGB = (188, 190, 197)

# Local design pixels; the product centre is the middle of the inspected joint.
BODY_BOTTOM_Y = -82.0
BOARD_TOP_Y = 74.0
PITCH_PX = 92.0
LEAD_HALF_W_PX = 7.0
PAD_HALF_W_PX = 27.0
FILLET_H_PX = 38.0
FILLET_FOOT_PX = 24.0  # half width of the fillet at the board

_T = np.linspace(0.0, 1.0, 9)
_BODY = rect_poly(-400.0, -400.0, 400.0, BODY_BOTTOM_Y)
_BODY_EDGE = rect_poly(-400.0, BODY_BOTTOM_Y - 3.0, 400.0, BODY_BOTTOM_Y)
_BOARD = rect_poly(-400.0, BOARD_TOP_Y, 400.0, 400.0)
_PADS = np.stack([rect_poly(x - PAD_HALF_W_PX, BOARD_TOP_Y - 4.0, x + PAD_HALF_W_PX,
                            BOARD_TOP_Y + 1.0) for x in (-PITCH_PX, 0.0, PITCH_PX)])
_LEAD = rect_poly(-LEAD_HALF_W_PX, BODY_BOTTOM_Y - 1.0, LEAD_HALF_W_PX, BOARD_TOP_Y - 2.0)
_LEAD_GLINT = rect_poly(-3.5, BODY_BOTTOM_Y, -1.0, BOARD_TOP_Y - 4.0)
# Where a lead and its solder should be; masks of lead-related defects use it.
_LEAD_ZONE = rect_poly(-LEAD_HALF_W_PX, BODY_BOTTOM_Y, LEAD_HALF_W_PX, BOARD_TOP_Y)
_LEAD_COLUMN = rect_poly(-LEAD_HALF_W_PX, -400.0, LEAD_HALF_W_PX, 400.0)


def fillet_poly(x0: float, heights: tuple[float, float], feet: tuple[float, float],
                power: float = 2.0) -> np.ndarray:
    """Outline of a fillet around the lead at ``x0``: left and right meniscus curves.

    ``power`` > 1 gives the concave meniscus of a good joint, < 1 a convex blob.
    """
    n = len(_T)
    rise = (1.0 - _T) ** power
    out = np.empty((2 * n, 2))
    out[:n, 0] = x0 - LEAD_HALF_W_PX - (feet[0] - LEAD_HALF_W_PX) * _T[::-1]
    out[:n, 1] = BOARD_TOP_Y - heights[0] * rise[::-1]
    out[n:, 0] = x0 + LEAD_HALF_W_PX + (feet[1] - LEAD_HALF_W_PX) * _T
    out[n:, 1] = BOARD_TOP_Y - heights[1] * rise
    return out


class _Joint:
    """Per-frame shape of one joint: fillet heights and feet per side."""

    def __init__(self, rng: np.random.Generator, x0: float) -> None:
        u = rng.random(4) - 0.5
        self.x0 = x0
        self.heights = (FILLET_H_PX * (1 + 0.2 * u[0]), FILLET_H_PX * (1 + 0.2 * u[1]))
        self.feet = (FILLET_FOOT_PX * (1 + 0.16 * u[2]), FILLET_FOOT_PX * (1 + 0.16 * u[3]))

    def outline(self, height_factors: tuple[float, float] = (1.0, 1.0),
                power: float = 2.0) -> np.ndarray:
        """Fillet outline with each side's height scaled."""
        heights = (self.heights[0] * height_factors[0], self.heights[1] * height_factors[1])
        return fillet_poly(self.x0, heights, self.feet, power)


def _draw_lead(img: np.ndarray, pose: Pose, x0: float) -> None:
    """A lead from the body down into the joint, with a specular stripe."""
    fill_poly(img, pose, _LEAD + (x0, 0.0), LEAD_RGB)
    fill_poly(img, pose, _LEAD_GLINT + (x0, 0.0), shade(LEAD_RGB, 1.2))


def _draw_solder(img: np.ndarray, pose: Pose, outline: np.ndarray, solder: RGB) -> None:
    """Fill a solder outline and put a highlight along its surface."""
    fill_poly(img, pose, outline, solder)
    polyline(img, pose, outline[2:-2] + (0.0, 2.5), shade(solder, 1.35), 1.5)


@register_product("soldered_pin")
class SolderedPin(Product):
    """Side view of a soldered pin; material = the solder colour."""

    classes = ("missing_lead", "deformed_solder", "insufficient_solder", "solder_bridge")
    default_material: RGB = (58, 96, 210)
    default_background: RGB = (34, 36, 44)
    half_extent_px = (PAD_HALF_W_PX + 17.0, 82.0)
    centre_offset_px = (0.0, -6.0)

    def render(self, rng: np.random.Generator, appearance: Appearance,
               defect: str | None) -> Frame:
        """Draw one pin joint; see :meth:`Product.render`."""
        self.check_defect(defect)
        pose = self.sample_pose(rng, appearance, size_variation=0.01)
        solder = self.material(appearance)
        img = self.canvas(appearance)
        self._draw_scene(img, pose)
        for x0 in (-PITCH_PX, PITCH_PX):
            _draw_lead(img, pose, x0)
            _draw_solder(img, pose, _Joint(rng, x0).outline(), solder)
        mask = self.empty_mask()
        joint = _Joint(rng, 0.0)
        if defect == "missing_lead":
            _missing_lead(img, mask, rng, pose, joint, solder)
        else:
            _draw_lead(img, pose, 0.0)
            self._draw_main_solder(img, mask, rng, pose, joint, solder, defect)
        boxes = boxes_from_mask(mask, defect) if defect else ()
        return self.finish(img, rng, appearance, pose, defect, mask, boxes)

    @staticmethod
    def _draw_scene(img: np.ndarray, pose: Pose) -> None:
        """Component body, board and the three pads."""
        fill_poly(img, pose, _BODY, BODY_RGB)
        fill_poly(img, pose, _BODY_EDGE, shade(BODY_RGB, 1.8))
        fill_poly(img, pose, _BOARD, BOARD_RGB)
        fill_poly(img, pose, _PADS, PAD_RGB)

    @staticmethod
    def _draw_main_solder(img: np.ndarray, mask: np.ndarray, rng: np.random.Generator,
                          pose: Pose, joint: _Joint, solder: RGB, defect: str | None) -> None:
        """The inspected joint's solder, good or with a solder defect."""
        if defect == "insufficient_solder":
            _insufficient(img, mask, rng, pose, joint, solder)
        elif defect == "deformed_solder":
            _deformed(img, mask, rng, pose, joint, solder)
        else:
            _draw_solder(img, pose, joint.outline(), solder)
        if defect == "solder_bridge":
            _bridge(img, mask, rng, pose, joint, solder)


def _missing_lead(img: np.ndarray, mask: np.ndarray, rng: np.random.Generator, pose: Pose,
                  joint: _Joint, solder: RGB) -> None:
    """No lead: only a low dome of solder on the pad; the mask is where the lead should be."""
    dome_h = 5.0 + 7.0 * rng.random()
    axes = (joint.feet[0] * (0.8 + 0.2 * rng.random()), dome_h)
    ellipse(img, pose, (0.0, BOARD_TOP_Y), axes, 0.0, solder, arc_deg=(180.0, 360.0))
    ellipse(img, pose, (-axes[0] * 0.3, BOARD_TOP_Y - dome_h * 0.6), (axes[0] * 0.3, 1.2), 0.0,
            shade(solder, 1.35))
    fill_poly(mask, pose, _LEAD_ZONE, 1)
    fill_poly(mask, pose, joint.outline(), 1)


def _insufficient(img: np.ndarray, mask: np.ndarray, rng: np.random.Generator, pose: Pose,
                  joint: _Joint, solder: RGB) -> None:
    """Fillet only 15-45 % of its height, on one side or both; mask = the missing solder."""
    low = tuple((0.15 + 0.3 * rng.random(2)).tolist())
    factors = low if rng.random() < 0.5 else ((low[0], 1.0) if rng.random() < 0.5
                                              else (1.0, low[1]))
    fill_poly(mask, pose, joint.outline(), 1)
    actual = joint.outline(factors)  # type: ignore[arg-type]
    fill_poly(mask, pose, actual, 0)
    fill_poly(mask, pose, _LEAD_COLUMN, 0)
    _draw_solder(img, pose, actual, solder)


def _deformed(img: np.ndarray, mask: np.ndarray, rng: np.random.Generator, pose: Pose,
              joint: _Joint, solder: RGB) -> None:
    """A convex, lopsided fillet with one or two lumps on it; mask = the solder drawn."""
    u = rng.random(6).tolist()
    factors = (0.6 + 0.7 * u[0], 0.6 + 0.7 * u[1])
    outline = joint.outline(factors, power=0.35 + 0.45 * u[2])
    n_lumps = 1 + int(u[3] < 0.5)
    picks = rng.integers(2, len(outline) - 2, n_lumps).tolist()
    fill_poly(img, pose, outline, solder)
    fill_poly(mask, pose, outline, 1)
    for i in picks:
        r = 5.0 + 6.0 * u[4]
        ellipse(img, pose, tuple(outline[i]), (r, r * (0.6 + 0.4 * u[5])), 0.0, solder)
        ellipse(mask, pose, tuple(outline[i]), (r, r * (0.6 + 0.4 * u[5])), 0.0, 1)
    polyline(img, pose, outline[2:-2] + (0.0, 2.5), shade(solder, 1.35), 1.5)
    _draw_lead(img, pose, 0.0)
    fill_poly(mask, pose, _LEAD_COLUMN, 0)


def _bridge(img: np.ndarray, mask: np.ndarray, rng: np.random.Generator, pose: Pose,
            joint: _Joint, solder: RGB) -> None:
    """A sagging band of solder from this joint to a neighbour's fillet."""
    side = 1.0 if rng.random() < 0.5 else -1.0
    thick, lift, sag = (rng.random(3) * (8.0, 12.0, 6.0) + (6.0, 0.0, 0.0)).tolist()
    y = BOARD_TOP_Y - thick / 2 - lift
    foot = joint.feet[1] if side > 0 else joint.feet[0]
    xs = np.linspace(foot - 10.0, PITCH_PX - FILLET_FOOT_PX + 10.0, 7)
    ys = y + sag * np.sin(np.linspace(0.0, np.pi, 7))
    band = np.stack([side * xs, ys], axis=1)
    polyline(img, pose, band, solder, thick)
    polyline(img, pose, band - (0.0, thick * 0.3), shade(solder, 1.35), 1.5)
    polyline(mask, pose, band, 1, thick)
