"""Drawing in product-local coordinates: a pose, polygons, circles, boxes from masks.

Products are designed in the pixels of their default frame; a :class:`Pose`
maps those to the jittered, scaled frame, and the helpers draw with OpenCV's
fixed-point ``shift`` for sub-pixel placement.
"""

from __future__ import annotations

import functools
import math

import cv2
import numpy as np

from inspkit.types import Box

RGB = tuple[int, int, int]

#: Fractional bits used for sub-pixel drawing with OpenCV's ``shift`` argument.
SHIFT_BITS = 4
_FIXED_ONE = 1 << SHIFT_BITS


class Pose:
    """Maps product-local design pixels (of the default frame) to frame pixels.

    ``scale`` folds in the appearance scale and the actual/default frame ratio.
    """

    __slots__ = ("cx_px", "cy_px", "angle_deg", "scale", "_cos", "_sin", "_fixed_m", "_fixed_t")

    def __init__(self, cx_px: float, cy_px: float, angle_deg: float, scale: float) -> None:
        self.cx_px = cx_px
        self.cy_px = cy_px
        self.angle_deg = angle_deg
        self.scale = scale
        self._cos = math.cos(math.radians(angle_deg)) * scale
        self._sin = math.sin(math.radians(angle_deg)) * scale
        # Row-vector form with the fixed-point factor folded in: one matmul per polygon.
        self._fixed_m = np.array([[self._cos, self._sin], [-self._sin, self._cos]]) * _FIXED_ONE
        self._fixed_t = np.array([cx_px, cy_px]) * _FIXED_ONE

    def pt(self, x: float, y: float) -> tuple[int, int]:
        """Fixed-point frame position of ``(x, y)`` for OpenCV's ``shift`` argument."""
        fx = self.cx_px + self._cos * x - self._sin * y
        fy = self.cy_px + self._sin * x + self._cos * y
        return int(round(fx * _FIXED_ONE)), int(round(fy * _FIXED_ONE))

    def pts(self, local: np.ndarray) -> np.ndarray:
        """Fixed-point frame positions of points ``(..., 2)``, int32, same shape."""
        fixed = local @ self._fixed_m
        fixed += self._fixed_t
        return np.rint(fixed, out=fixed).astype(np.int32)

    def length(self, d: float) -> int:
        """Fixed-point frame length of a local length (radii, ellipse axes)."""
        return max(1, int(round(d * self.scale * _FIXED_ONE)))

    def thick(self, t: float) -> int:
        """Line thickness in whole frame pixels (at least 1) for a local thickness."""
        return max(1, int(round(t * self.scale)))


@functools.lru_cache(maxsize=1024)
def shade(rgb: RGB, factor: float) -> RGB:
    """``rgb`` scaled by ``factor`` and clipped, for darker or lighter tones of one material."""
    r, g, b = (int(min(255, max(0, round(c * factor)))) for c in rgb)
    return r, g, b


def fill_poly(img: np.ndarray, pose: Pose, local: np.ndarray, color: RGB | int) -> None:
    """Fill one polygon ``(N, 2)`` or several ``(K, N, 2)`` given in local coordinates."""
    fixed = pose.pts(local)
    polys = fixed if fixed.ndim == 3 else fixed[None]
    cv2.fillPoly(img, polys, color, cv2.LINE_8, SHIFT_BITS)


def polyline(img: np.ndarray, pose: Pose, local: np.ndarray, color: RGB | int,
             thickness: float, closed: bool = False) -> None:
    """Draw one open (or closed) polyline ``(N, 2)`` or several ``(K, N, 2)``.

    ``thickness`` is local, like every other length.
    """
    fixed = pose.pts(local)
    lines = fixed if fixed.ndim == 3 else fixed[None]
    cv2.polylines(img, lines, closed, color, pose.thick(thickness), cv2.LINE_8, SHIFT_BITS)


def circle(img: np.ndarray, pose: Pose, x: float, y: float, r: float, color: RGB | int,
           thickness: float = -1) -> None:
    """Draw a disc (``thickness < 0``) or a ring of local radius ``r`` at local ``(x, y)``."""
    t = -1 if thickness < 0 else pose.thick(thickness)
    cv2.circle(img, pose.pt(x, y), pose.length(r), color, t, cv2.LINE_8, SHIFT_BITS)


def ellipse(img: np.ndarray, pose: Pose, centre: tuple[float, float],
            axes: tuple[float, float], angle_deg: float, color: RGB | int,
            thickness: float = -1, arc_deg: tuple[float, float] = (0.0, 360.0)) -> None:
    """Draw an ellipse (or an arc of it) given in local coordinates.

    ``angle_deg`` and ``arc_deg`` are local; the pose's rotation is added here.
    """
    t = -1 if thickness < 0 else pose.thick(thickness)
    cv2.ellipse(img, pose.pt(*centre), (pose.length(axes[0]), pose.length(axes[1])),
                angle_deg + pose.angle_deg, arc_deg[0], arc_deg[1], color, t,
                cv2.LINE_8, SHIFT_BITS)


def rect_poly(x0: float, y0: float, x1: float, y1: float) -> np.ndarray:
    """Corners ``(4, 2)`` of the axis-aligned local rectangle ``[x0, x1] x [y0, y1]``."""
    return np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], np.float64)


def boxes_from_mask(mask: np.ndarray, label: str, split: bool = False) -> tuple[Box, ...]:
    """Tight boxes (frame coords) around the non-zero pixels of a uint8 mask.

    With ``split`` one box per 8-connected component, else one around all;
    empty when the mask is.
    """
    x, y, w, h = cv2.boundingRect(mask)
    if w == 0 or h == 0:
        return ()
    if not split:
        return (Box(x + w / 2, y + h / 2, float(h), float(w), label),)
    # Labelling only the bounding window keeps the cost proportional to the defect.
    _, _, stats, _ = cv2.connectedComponentsWithStats(mask[y:y + h, x:x + w], connectivity=8)
    return tuple(Box(x + sx + sw / 2, y + sy + sh / 2, float(sh), float(sw), label)
                 for sx, sy, sw, sh, _ in stats[1:].tolist())


@functools.lru_cache(maxsize=64)
def tilt_homography(frame_hw: tuple[int, int], tilt_deg: float) -> np.ndarray:
    """The 3 x 3 homography of a camera tilted by ``tilt_deg`` and still aimed at the frame centre.

    The camera swings about the frame's horizontal axis on a circle round the
    part's plane, at a distance equal to its focal length (the frame's larger
    side, a normal lens): the centre stays, rows shrink by cos(tilt), and the
    far (top, for a positive tilt) edge looks smaller.
    """
    h, w = frame_hw
    f = float(max(h, w))
    k = np.array([[f, 0.0, w / 2], [0.0, f, h / 2], [0.0, 0.0, 1.0]])
    a = math.radians(tilt_deg)
    # Columns: the plane's x and y axes in camera coordinates, and its centre at depth f.
    plane = np.array([[1.0, 0.0, 0.0], [0.0, math.cos(a), 0.0], [0.0, -math.sin(a), f]])
    to_centre = np.array([[1.0, 0.0, -w / 2], [0.0, 1.0, -h / 2], [0.0, 0.0, 1.0]])
    homography = k @ plane @ to_centre
    homography /= homography[2, 2]
    homography.flags.writeable = False
    return homography


def warp_bounds(homography: np.ndarray, cx: float, cy: float, h: float, w: float,
                frame_hw: tuple[int, int]) -> tuple[float, float, float, float]:
    """Axis-aligned ``(cx, cy, h, w)`` around a warped rectangle, clipped to the frame."""
    corners = np.array([[[cx - w / 2, cy - h / 2], [cx + w / 2, cy - h / 2],
                         [cx + w / 2, cy + h / 2], [cx - w / 2, cy + h / 2]]], np.float64)
    pts = cv2.perspectiveTransform(corners, homography)[0]
    x0, y0 = np.clip(pts.min(axis=0), 0.0, [frame_hw[1], frame_hw[0]]).tolist()
    x1, y1 = np.clip(pts.max(axis=0), 0.0, [frame_hw[1], frame_hw[0]]).tolist()
    return (x0 + x1) / 2, (y0 + y1) / 2, y1 - y0, x1 - x0


def tilt(img: np.ndarray, mask: np.ndarray, boxes: tuple[Box, ...], roi_cxcyhw: tuple[float, ...],
         tilt_deg: float, background: RGB) -> tuple[np.ndarray, np.ndarray, tuple[Box, ...], tuple[float, ...]]:
    """The frame, its mask, boxes and ROI ``(cx, cy, h, w)`` as a tilted camera sees them.

    Image and mask are warped with the same homography (the mask by nearest
    neighbour, so it stays 0/1); boxes and ROI become the bounds of their
    warped corners. What the tilt brings into view is background.
    """
    frame_hw = (img.shape[0], img.shape[1])
    homography = tilt_homography(frame_hw, tilt_deg)
    size = (frame_hw[1], frame_hw[0])
    warped = cv2.warpPerspective(img, homography, size, flags=cv2.INTER_LINEAR,
                                 borderMode=cv2.BORDER_CONSTANT, borderValue=tuple(int(v) for v in background))
    warped_mask = cv2.warpPerspective(mask, homography, size, flags=cv2.INTER_NEAREST,
                                      borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    new_boxes = []
    for box in boxes:
        cx, cy, h, w = warp_bounds(homography, box.cx, box.cy, box.h, box.w, frame_hw)
        if h > 0 and w > 0:
            new_boxes.append(Box(cx, cy, h, w, box.label, box.confidence))
    return warped, warped_mask, tuple(new_boxes), warp_bounds(homography, *roi_cxcyhw, frame_hw)
