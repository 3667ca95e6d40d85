"""How labels move from a sample to the samples derived from it."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from inspkit.store.samples import Sample
from inspkit.types import Box


def derive_boxes(child: Sample, boxes: Sequence[Box]) -> tuple[Box, ...]:
    """The parent's boxes in the child's coordinates, following its derivation."""
    from inspkit.data.augment_ops import warp_boxes
    from inspkit.data.crop import crop_boxes

    d = child.derivation or {}
    if d.get("op") == "crop":
        return crop_boxes(boxes, d["x0"], d["y0"], d["h"], d["w"])
    warp = (d.get("params") or {}).get("perspective")
    if d.get("op") == "augment" and warp:
        return warp_boxes(boxes, np.asarray(warp["homography"]), (child.height, child.width))
    return tuple(boxes)
