"""Small typed values shared across inspkit and the simulator.

This module imports nothing heavy (no numpy, no torch) so the simulator and
the CLI can use it freely.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Verdict(str, enum.Enum):
    """Outcome of an inspection: the paper's OK (1) and NG (0)."""

    OK = "OK"
    NG = "NG"


class Goal(str, enum.Enum):
    """What the edge model is for (paper 3.2.1).

    FP_REDUCTION: the model re-checks only parts the vision station called NG.
    TP_IMPROVEMENT: the model re-checks only parts the vision station called OK.
    REPLACEMENT: the vision station only takes pictures; the model decides.
    """

    FP_REDUCTION = "fp-reduction"
    TP_IMPROVEMENT = "tp-improvement"
    REPLACEMENT = "replacement"


class Split(str, enum.Enum):
    """Dataset split a sample belongs to."""

    TRAIN = "train"
    VAL = "val"
    TEST = "test"


@dataclass(frozen=True)
class Roi:
    """A region of interest ``b = {cx, cy, H, W}`` in pixel coordinates.

    Attributes:
        cx: Centre x (column) in pixels.
        cy: Centre y (row) in pixels.
        h: Height in pixels.
        w: Width in pixels.
    """

    cx: float
    cy: float
    h: float
    w: float

    def corners(self) -> tuple[int, int, int, int]:
        """Integer ``(x0, y0, x1, y1)``, half-open, rounded to whole pixels."""
        x0 = int(round(self.cx - self.w / 2))
        y0 = int(round(self.cy - self.h / 2))
        return x0, y0, x0 + int(round(self.w)), y0 + int(round(self.h))

    def loosened(self, margin: float) -> Roi:
        """The ROI grown by ``margin`` (a fraction of its size) on every side."""
        return Roi(self.cx, self.cy, self.h * (1 + 2 * margin), self.w * (1 + 2 * margin))

    def to_dict(self) -> dict[str, float]:
        """Plain dict for JSON storage."""
        return {"cx": self.cx, "cy": self.cy, "h": self.h, "w": self.w}

    @classmethod
    def from_dict(cls, d: dict[str, float]) -> Roi:
        """Inverse of :meth:`to_dict`."""
        return cls(float(d["cx"]), float(d["cy"]), float(d["h"]), float(d["w"]))


@dataclass(frozen=True)
class Box:
    """A labelled box, ``{cx, cy, H, W}`` in pixels, with an optional confidence.

    Attributes:
        cx: Centre x in pixels.
        cy: Centre y in pixels.
        h: Height in pixels.
        w: Width in pixels.
        label: Defect type (or class) the box marks.
        confidence: Detector confidence; 1.0 for ground truth and human labels.
    """

    cx: float
    cy: float
    h: float
    w: float
    label: str
    confidence: float = 1.0

    def to_dict(self) -> dict[str, float | str]:
        """Plain dict for JSON storage."""
        return {
            "cx": self.cx, "cy": self.cy, "h": self.h, "w": self.w,
            "label": self.label, "confidence": self.confidence,
        }

    @classmethod
    def from_dict(cls, d: dict[str, float | str]) -> Box:
        """Inverse of :meth:`to_dict`."""
        return cls(
            float(d["cx"]), float(d["cy"]), float(d["h"]), float(d["w"]),
            str(d["label"]), float(d.get("confidence", 1.0)),
        )

    def shifted(self, dx: float, dy: float) -> Box:
        """The same box moved by ``(dx, dy)`` pixels (used when cropping)."""
        return Box(self.cx + dx, self.cy + dy, self.h, self.w, self.label, self.confidence)


@dataclass(frozen=True)
class Appearance:
    """How a camera station makes a product look; drift moves these values.

    Used by the recipe (``product.appearance``) and by the simulator's
    product generators.

    The defaults describe a well set-up station.

    Attributes:
        illum_gain: Multiplies intensity.
        illum_offset: Added to intensity, in 0..255 units.
        gamma: Tone curve exponent on normalised intensity (> 1 darkens mid-tones).
        color_cast: R, G, B multipliers.
        position_jitter_px: Standard deviation of the product centre offset, pixels.
        rotation_jitter_deg: Standard deviation of the product rotation, degrees.
        position_offset_px: Systematic (x, y) shift of the product centre, pixels
            (a worn jig or a moved camera).
        scale: Product size factor.
        blur_sigma: Defocus as a Gaussian sigma, pixels (0 = sharp).
        noise_sigma: Sensor noise standard deviation, 0..255 units.
        material_color: RGB of the product's main material; None = product default.
        background: RGB of the background; None = product default.
        tilt_deg: Perspective tilt of the camera about the frame's horizontal
            axis, degrees (0 = looking straight down; > 0 shows the top edge smaller).
    """

    illum_gain: float = 1.0
    illum_offset: float = 0.0
    gamma: float = 1.0
    color_cast: tuple[float, float, float] = (1.0, 1.0, 1.0)
    position_jitter_px: float = 2.0
    rotation_jitter_deg: float = 1.0
    position_offset_px: tuple[float, float] = (0.0, 0.0)
    scale: float = 1.0
    blur_sigma: float = 0.0
    noise_sigma: float = 2.0
    material_color: tuple[int, int, int] | None = None
    background: tuple[int, int, int] | None = None
    tilt_deg: float = 0.0

    def __post_init__(self) -> None:
        if self.gamma <= 0 or self.scale <= 0:
            raise ValueError(f"gamma and scale must be > 0, got {self.gamma}, {self.scale}")
        if min(self.blur_sigma, self.noise_sigma, self.position_jitter_px) < 0:
            raise ValueError("blur_sigma, noise_sigma and position_jitter_px must be >= 0")
        if len(self.position_offset_px) != 2:
            raise ValueError(f"position_offset_px needs 2 values (x, y), got {self.position_offset_px}")
        if len(self.color_cast) != 3:
            raise ValueError(f"color_cast needs 3 values (R, G, B), got {self.color_cast}")
