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
