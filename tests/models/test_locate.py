"""Detector-placed ROIs: each frame is cropped where the detector found its part."""

from __future__ import annotations

from inspkit.cli._sim import sim_images
from inspkit.data.collect import collect_images
from inspkit.data.crop import crop_samples, raw_frames
from inspkit.models.locate import locate_parts
from inspkit.models.types import InspectionResult
from inspkit.types import Box, Roi, Verdict


class _PartFinder:
    """Stands in for a detector: finds the part where the ground truth says it is."""

    def __init__(self, ws, confidence: float) -> None:
        self.truth = {s.content_hash: s.truth.roi for s in raw_frames(ws)}
        self.confidence = confidence
        self.ws = ws

    def predict(self, image) -> InspectionResult:
        import hashlib

        from inspkit.data.imageio import encode_png

        roi = self.truth.get(hashlib.sha256(encode_png(image)).hexdigest())
        boxes = (Box(roi.cx, roi.cy, roi.h, roi.w, "part", self.confidence),) if roi else ()
        return InspectionResult(None, Verdict.OK, "OK", 1.0, boxes)


def test_detector_rois_follow_a_moving_part(ws) -> None:
    collect_images(ws, sim_images(ws.recipe, 6, seed=2, start=0))
    frames = raw_frames(ws)
    found = locate_parts(ws, _PartFinder(ws, 0.9), frames, margin=0.1, min_confidence=0.8)
    assert len(found.rois) == 6 and not found.fallback
    report = crop_samples(ws, Roi(0, 0, 8, 8), rois=found.rois)
    assert report.created == 6
    for crop in ws.samples.select("source = 'crop'"):
        part = ws.samples.get(crop.parent_id).truth.roi
        assert abs(crop.width - round(part.w * 1.2)) <= 1 and abs(crop.height - round(part.h * 1.2)) <= 1


def test_frames_without_a_confident_box_keep_the_recipe_roi(ws) -> None:
    collect_images(ws, sim_images(ws.recipe, 3, seed=2, start=0))
    found = locate_parts(ws, _PartFinder(ws, 0.3), raw_frames(ws), margin=0.0, min_confidence=0.8)
    assert not found.rois and len(found.fallback) == 3
