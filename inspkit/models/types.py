"""Typed values at the model boundary: what a prediction returns, what a version records."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

from inspkit.types import Box, Roi, Verdict


class Stage(str, enum.Enum):
    """Where a model version stands."""

    CANDIDATE = "candidate"
    PRODUCTION = "production"
    RETIRED = "retired"


@dataclass(frozen=True)
class InspectionResult:
    """One prediction.

    Attributes:
        p_ok: Probability the part is OK. Classifier: softmax of the OK class.
            Detector: 1 − the highest box confidence (1.0 with no box).
            ``None`` for multiclass models.
        verdict: OK / NG (``None`` for multiclass models).
        label: Predicted label: "OK"/"NG", or the class name.
        confidence: Probability of the predicted label.
        boxes: Detector boxes (any confidence above the detector's floor), frame pixels.
        latency_ms: Pre-process + forward + post-process time for this image
            (for a batch: the batch time divided by its size).
    """

    p_ok: float | None
    verdict: Verdict | None
    label: str
    confidence: float
    boxes: tuple[Box, ...] = ()
    latency_ms: float = 0.0


@dataclass(frozen=True)
class ModelMeta:
    """What a stored model version is; written once, never changed.

    Attributes:
        version: Version id, e.g. ``v0003``.
        task: ``classify``, ``detect``, or ``generate`` (an image generator; never inspects).
        architecture: Registry name, e.g. ``timm:resnet18`` or ``yolo:yolov8n``.
        input_size: Side of the square model input, pixels.
        classes: Output classes in index order (``("NG", "OK")`` for OK/NG classifiers).
        roi: ROI the inferencer crops from a raw frame first (``None``: use the whole image).
        thresholds: ``ok`` (classifier, p(OK) ≥ ok → OK) and ``box`` (detector, NG when a
            box has confidence ≥ box).
        metrics: Test-split metrics (accuracy, loss, auroc or map50, latency…).
        train_seconds: Wall time of training.
        data_hash: Hash of the training data snapshot (samples, labels, splits).
        parent: Version this one was fine-tuned from, if any.
        created_at: ISO 8601 UTC.
        weights_file: File name of the weights inside the version folder.
        weights_sha256: Hash of that file; loading refuses a mismatch.
        extra: Anything else worth keeping (training settings, seed).
    """

    version: str
    task: str
    architecture: str
    input_size: int
    classes: tuple[str, ...]
    roi: Roi | None
    thresholds: dict[str, float]
    metrics: dict[str, float]
    train_seconds: float
    data_hash: str
    parent: str | None
    created_at: str
    weights_file: str
    weights_sha256: str
    extra: dict[str, Any] = field(default_factory=dict)
