"""``crop``: cut the product ROI ``b = {cx, cy, H, W}`` out of raw frames (paper 3.1.2).

Strict ROIs suit parts held still in a jig; a margin loosens the ROI for parts
that move. A ROI that leaves the frame is padded with black and counted, or
refused with ``strict``. Crops are new samples linked to their parent; labels,
boxes and ground truth move with them into crop coordinates.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from inspkit.data.collect import collect_images
from inspkit.data.imageio import decode_mask, encode_mask, encode_png, read_image
from inspkit.errors import InputError
from inspkit.store.samples import Sample, Truth
from inspkit.store.workspace import NewImage, Workspace
from inspkit.types import Box, Roi


@dataclass
class CropReport:
    """What a crop run did.

    Attributes:
        created: New crop samples.
        duplicates: Crops whose pixels were already stored (e.g. cropped before).
        padded: Crops whose ROI left the frame and were padded.
        warnings: Storage-guard warnings.
    """

    created: int = 0
    duplicates: int = 0
    padded: int = 0
    warnings: list[str] = field(default_factory=list)


def roi_window(roi: Roi) -> tuple[int, int, int, int]:
    """Integer ``(x0, y0, x1, y1)`` of a ROI, at least one pixel each way."""
    x0, y0, x1, y1 = roi.corners()
    return x0, y0, max(x1, x0 + 1), max(y1, y0 + 1)


def leaves_frame(roi: Roi, height: int, width: int) -> bool:
    """True when part of the ROI lies outside a ``height`` x ``width`` frame."""
    x0, y0, x1, y1 = roi_window(roi)
    return x0 < 0 or y0 < 0 or x1 > width or y1 > height


def crop_array(image: np.ndarray, roi: Roi) -> np.ndarray:
    """The ROI's pixels; parts outside the frame are zero (black).

    The result always has the ROI's size, whatever its position.
    """
    x0, y0, x1, y1 = roi_window(roi)
    out = np.zeros((y1 - y0, x1 - x0) + image.shape[2:], dtype=image.dtype)
    h, w = image.shape[:2]
    sx0, sy0, sx1, sy1 = max(x0, 0), max(y0, 0), min(x1, w), min(y1, h)
    if sx0 < sx1 and sy0 < sy1:
        out[sy0 - y0:sy1 - y0, sx0 - x0:sx1 - x0] = image[sy0:sy1, sx0:sx1]
    return out


def crop_boxes(boxes: Sequence[Box], x0: int, y0: int, h: int, w: int) -> tuple[Box, ...]:
    """Boxes moved into crop coordinates and clipped to it; boxes left outside are dropped."""
    out = []
    for b in boxes:
        bx0, by0 = max(b.cx - b.w / 2 - x0, 0.0), max(b.cy - b.h / 2 - y0, 0.0)
        bx1, by1 = min(b.cx + b.w / 2 - x0, float(w)), min(b.cy + b.h / 2 - y0, float(h))
        if bx1 - bx0 >= 1 and by1 - by0 >= 1:
            out.append(Box((bx0 + bx1) / 2, (by0 + by1) / 2, by1 - by0, bx1 - bx0, b.label, b.confidence))
    return tuple(out)


def raw_frames(ws: Workspace) -> list[Sample]:
    """The workspace's raw frames (samples with no parent).

    Raises:
        InputError: there are none.
    """
    # Generated images (augment --gan) have no parent but are no camera frames.
    frames = list(ws.samples.select("parent_id IS NULL AND source != 'augment'"))
    if not frames:
        raise InputError("the workspace has no raw frames to crop; run 'inspkit collect' first")
    return frames


def crop_samples(
    ws: Workspace, roi: Roi, strict: bool = False,
    on_progress: Callable[[int], None] | None = None, rois: Mapping[int, Roi] | None = None,
) -> CropReport:
    """Crop every raw frame of the workspace.

    Args:
        ws: The workspace.
        roi: The ROI for every frame (the recipe's, or the command line's).
        strict: Refuse a ROI that leaves a frame instead of padding it.
        on_progress: Called with the number of frames handled.
        rois: Per-frame ROIs by sample id (e.g. placed by a detector); others use ``roi``.

    Raises:
        InputError: with ``strict``, a ROI leaves some frame; nothing is written.
    """
    frames = raw_frames(ws)
    rois = rois or {}
    roi_of = {s.id: rois.get(s.id, roi) for s in frames}
    outside = [s for s in frames if leaves_frame(roi_of[s.id], s.height, s.width)]
    if strict and outside:
        raise InputError(
            f"ROI {roi_window(roi_of[outside[0].id])} leaves the {outside[0].width}x{outside[0].height} frame of "
            f"{len(outside)} sample(s) (first: id {outside[0].id}); fix the ROI or drop --strict to pad"
        )
    stored = collect_images(ws, (_crop_one(ws, s, roi_of[s.id]) for s in frames), on_progress)
    return CropReport(stored.added, stored.duplicates, len(outside), stored.warnings)


def _crop_one(ws: Workspace, parent: Sample, roi: Roi) -> NewImage:
    x0, y0, x1, y1 = roi_window(roi)
    h, w = y1 - y0, x1 - x0
    pixels = crop_array(read_image(ws.path(parent.image_path)), roi)
    truth, mask_png = _crop_truth(ws, parent.truth, roi, (x0, y0, h, w))
    child = Sample(
        content_hash="", image_path="", width=w, height=h, source="crop",
        line=parent.line, station=parent.station, part_serial=parent.part_serial,
        captured_at=parent.captured_at, label=parent.label, defect_type=parent.defect_type,
        boxes=crop_boxes(parent.boxes, x0, y0, h, w), split=parent.split, parent_id=parent.id,
        derivation={"op": "crop", "x0": x0, "y0": y0, "h": h, "w": w,
                    "padded": leaves_frame(roi, parent.height, parent.width)},
        truth=truth,
    )
    return NewImage(data=encode_png(pixels), ext=".png", sample=child, mask_png=mask_png)


def _crop_truth(
    ws: Workspace, truth: Truth | None, roi: Roi, window: tuple[int, int, int, int]
) -> tuple[Truth | None, bytes | None]:
    if truth is None:
        return None, None
    x0, y0, h, w = window
    mask_png = None
    if truth.mask_path:
        mask = crop_array(decode_mask(ws.path(truth.mask_path).read_bytes()), roi)
        mask_png = encode_mask(mask) if mask.any() else None
    moved_roi = Roi(truth.roi.cx - x0, truth.roi.cy - y0, truth.roi.h, truth.roi.w) if truth.roi else None
    return replace(truth, boxes=crop_boxes(truth.boxes, x0, y0, h, w), roi=moved_roi, mask_path=None), mask_png
