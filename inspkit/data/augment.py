"""``augment``: new training samples by perspective, colour and noise (paper 3.1.2, Table 1).

Each labelled sample that is not itself an augmentation, and has not been
cropped (its crops are augmented instead), gets ``factor`` children. Children
join their source's split and never a test split; each draw is seeded by
``(seed, source id, k)`` so a run can be repeated exactly.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

import cv2
import numpy as np

from inspkit.data.augment_ops import augment, warp_boxes
from inspkit.data.collect import collect_images
from inspkit.data.imageio import decode_mask, encode_mask, encode_png, read_image
from inspkit.data.views import BASE_SAMPLES
from inspkit.errors import InputError
from inspkit.recipe_augment import AugmentRanges
from inspkit.store.samples import Sample, Truth
from inspkit.store.workspace import NewImage, Workspace
from inspkit.types import Box, Roi


@dataclass
class AugmentReport:
    """What an augmentation run did.

    Attributes:
        sources: Samples augmented.
        created: New augmented samples.
        duplicates: Children whose pixels were already stored (a repeated run).
        skipped_held_out: Validation and test samples left alone (training never
            sees their augmentations, and the test split must stay real images).
        warnings: Storage-guard warnings.
    """

    sources: int = 0
    created: int = 0
    duplicates: int = 0
    skipped_held_out: int = 0
    warnings: list[str] = field(default_factory=list)


def augment_samples(
    ws: Workspace, factor: int, ops: Sequence[str], ranges: AugmentRanges, seed: int,
    on_progress: Callable[[int], None] | None = None,
) -> AugmentReport:
    """Add ``factor`` augmented children to every augmentable sample.

    ``on_progress`` counts children stored.

    Raises:
        InputError: there is no labelled sample to augment.
    """
    candidates = list(ws.samples.select(BASE_SAMPLES))
    sources = [s for s in candidates if s.split not in ("val", "test")]
    if not sources:
        raise InputError("no labelled samples outside the val and test splits to augment; run 'inspkit label' first")
    children = (i for s in sources for i in _children(ws, s, factor, ops, ranges, seed))
    stored = collect_images(ws, children, on_progress)
    return AugmentReport(len(sources), stored.added, stored.duplicates, len(candidates) - len(sources), stored.warnings)


def _children(
    ws: Workspace, parent: Sample, factor: int, ops: Sequence[str], ranges: AugmentRanges, seed: int
) -> list[NewImage]:
    image = read_image(ws.path(parent.image_path))
    mask = decode_mask(ws.path(parent.truth.mask_path).read_bytes()) if _has_mask(parent) else None
    out = []
    for k in range(factor):
        rng = np.random.default_rng([seed, parent.id, k])
        aug = augment(image, parent.boxes, ops, ranges, rng)
        truth, mask_png = _warped_truth(parent.truth, mask, aug.params, image.shape[:2])
        child = Sample(
            content_hash="", image_path="", width=image.shape[1], height=image.shape[0],
            source="augment", line=parent.line, station=parent.station,
            part_serial=parent.part_serial, captured_at=parent.captured_at, label=parent.label,
            defect_type=parent.defect_type, boxes=aug.boxes, split=parent.split,
            parent_id=parent.id, derivation={"op": "augment", "k": k, "seed": seed, "params": aug.params},
            truth=truth,
        )
        out.append(NewImage(encode_png(aug.image), ".png", child, mask_png))
    return out


def _has_mask(sample: Sample) -> bool:
    return sample.truth is not None and sample.truth.mask_path is not None


def _warped_truth(
    truth: Truth | None, mask: np.ndarray | None, params: dict, hw: tuple[int, int]
) -> tuple[Truth | None, bytes | None]:
    """Ground truth moved by the same perspective warp as the pixels."""
    if truth is None:
        return None, None
    warp = params.get("perspective")
    if not warp:
        return replace(truth, mask_path=None), encode_mask(mask) if mask is not None else None
    homography = np.asarray(warp["homography"])
    mask_png = None
    if mask is not None:
        # Constant border: reflecting the mask would invent defects at the edges.
        moved = cv2.warpPerspective(mask.astype(np.uint8), homography, (hw[1], hw[0]), flags=cv2.INTER_NEAREST)
        mask_png = encode_mask(moved > 0) if moved.any() else None
    roi = None
    if truth.roi is not None:
        r = warp_boxes([Box(truth.roi.cx, truth.roi.cy, truth.roi.h, truth.roi.w, "roi")], homography, hw)
        roi = Roi(r[0].cx, r[0].cy, r[0].h, r[0].w) if r else None
    return replace(truth, boxes=warp_boxes(truth.boxes, homography, hw), roi=roi, mask_path=None), mask_png
