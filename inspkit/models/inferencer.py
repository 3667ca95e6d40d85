"""The inferencer: load a stored version, pre-process, forward, post-process.

This is what the edge service and the simulator call. It never imports
training code: only the registry (to rebuild the architecture), the shared
pre-processing and the store's verified weights.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from inspkit.models.preprocess import normalise, prepare, stack_uint8
from inspkit.models.store import ModelStore, refuse_generator
from inspkit.models.types import InspectionResult, ModelMeta
from inspkit.types import Box, Verdict

# Detector boxes below this confidence are dropped; those between it and the
# NG threshold are kept so doubtful parts can be reviewed.
BOX_FLOOR = 0.05


class Inferencer:
    """A loaded model version, ready to inspect raw frames.

    Use :meth:`load`; ``predict`` takes one H x W x 3 uint8 RGB frame,
    ``predict_batch`` several.
    """

    def __init__(self, meta: ModelMeta, model: Any, device: str) -> None:
        self.meta = meta
        self.model = model
        self.device = device

    @classmethod
    def load(cls, models_dir: Path, version: str | None = None, device: str = "auto") -> Inferencer:
        """Load ``version`` (default: production) from a workspace's model store.

        Raises:
            ModelError: missing, damaged or changed version; no production model.
        """
        from inspkit.models.device import resolve_device

        store = ModelStore(models_dir)
        version = store.resolve(version)
        meta = store.meta(version)
        refuse_generator(meta)
        weights = store.weights_path(version)
        device = resolve_device(device)
        model = _load_detector(weights, device) if meta.task == "detect" else _load_classifier(meta, weights, device)
        return cls(meta, model, device)

    @property
    def version(self) -> str:
        """The loaded version id."""
        return self.meta.version

    def preprocess(self, image: np.ndarray) -> np.ndarray:
        """The model's view of a raw frame: ROI crop and resize."""
        return prepare(image, self.meta.input_size, self.meta.roi)

    def predict(self, image: np.ndarray) -> InspectionResult:
        """Inspect one frame."""
        return self.predict_batch([image])[0]

    def predict_batch(self, images: Sequence[np.ndarray]) -> list[InspectionResult]:
        """Inspect several frames in one forward pass."""
        if not images:
            return []
        started = time.perf_counter()
        if self.meta.task == "detect":
            results = self.detect_prepared([self.preprocess_detector(i) for i in images])
        else:
            results = [self._classify_one(p) for p in self.probs_prepared([self.preprocess(i) for i in images])]
        per_image_ms = (time.perf_counter() - started) * 1000 / len(images)
        return [_with_latency(r, per_image_ms) for r in results]

    def probs_prepared(self, prepared: Sequence[np.ndarray]) -> np.ndarray:
        """Class probabilities ``(N, classes)`` of already prepared S x S images."""
        import torch

        batch = stack_uint8(list(prepared)).to(self.device)
        with torch.inference_mode():
            return torch.softmax(self.model(normalise(batch)).float(), dim=1).cpu().numpy()

    def detect_prepared(self, crops: Sequence[np.ndarray]) -> list[InspectionResult]:
        """Detector results for ROI crops (boxes moved back to frame pixels)."""
        from inspkit.models.yolo import predict_boxes

        found = predict_boxes(self.model, list(crops), self.meta.input_size, BOX_FLOOR, self.meta.classes)
        return [self._detection_result(self._to_frame(boxes)) for boxes in found]

    def _classify_one(self, probs: np.ndarray) -> InspectionResult:
        classes = self.meta.classes
        if classes == ("NG", "OK"):
            p_ok = float(probs[1])
            verdict = Verdict.OK if p_ok >= self.meta.thresholds["ok"] else Verdict.NG
            return InspectionResult(p_ok, verdict, verdict.value, max(p_ok, 1 - p_ok))
        k = int(probs.argmax())
        return InspectionResult(None, None, classes[k], float(probs[k]))

    def preprocess_detector(self, image: np.ndarray) -> np.ndarray:
        """A detector sees the ROI crop at its own size (Ultralytics letterboxes it)."""
        from inspkit.data.crop import crop_array

        return crop_array(image, self.meta.roi) if self.meta.roi is not None else image

    def _to_frame(self, boxes: tuple[Box, ...]) -> tuple[Box, ...]:
        if self.meta.roi is None:
            return boxes
        x0, y0, _, _ = self.meta.roi.corners()
        return tuple(b.shifted(x0, y0) for b in boxes)

    def _detection_result(self, boxes: tuple[Box, ...]) -> InspectionResult:
        top = max((b.confidence for b in boxes), default=0.0)
        verdict = Verdict.NG if top >= self.meta.thresholds["box"] else Verdict.OK
        return InspectionResult(1.0 - top, verdict, verdict.value, top if verdict is Verdict.NG else 1.0 - top, boxes)


def _with_latency(result: InspectionResult, latency_ms: float) -> InspectionResult:
    return replace(result, latency_ms=latency_ms)


def _load_classifier(meta: ModelMeta, weights: Path, device: str) -> Any:
    from safetensors.torch import load_file

    from inspkit.models.registry import create_model

    model = create_model(meta.architecture, num_classes=len(meta.classes))
    model.load_state_dict(load_file(str(weights)))
    return model.eval().to(device)


def _load_detector(weights: Path, device: str) -> Any:
    # Ultralytics checkpoints are pickles: this path comes from the workspace's
    # own store, verified against the hash recorded when it was stored.
    from inspkit.models.yolo import load_detector

    return load_detector(weights, device)
