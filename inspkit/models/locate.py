"""Placing ROIs with a trained detector, for parts that move (paper 3.1.2).

The detector's most confident box on a raw frame becomes that frame's ROI,
loosened by the margin. Frames where it finds nothing confident keep the
recipe's ROI, and are counted.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from inspkit.data.imageio import read_image
from inspkit.models.inferencer import Inferencer
from inspkit.store.samples import Sample
from inspkit.store.workspace import Workspace
from inspkit.types import Roi


@dataclass
class Located:
    """ROIs found per sample id, and the frames left to the recipe ROI."""

    rois: dict[int, Roi] = field(default_factory=dict)
    fallback: list[int] = field(default_factory=list)


def locate_parts(
    ws: Workspace, detector: Inferencer, frames: Sequence[Sample], margin: float, min_confidence: float,
    on_progress: Callable[[int], None] | None = None,
) -> Located:
    """Run the detector on each frame; its top box (≥ ``min_confidence``) is the ROI."""
    found = Located()
    for sample in frames:
        result = detector.predict(read_image(ws.path(sample.image_path)))
        top = max(result.boxes, key=lambda b: b.confidence, default=None)
        if top is not None and top.confidence >= min_confidence:
            found.rois[sample.id] = Roi(top.cx, top.cy, top.h, top.w).loosened(margin)
        else:
            found.fallback.append(sample.id)
        if on_progress:
            on_progress(1)
    return found
