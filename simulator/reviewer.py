"""The simulated reviewer of the managing stage's two-stage check (paper 3.3.2, Eq. 6–7).

Stage 1: is the model's prediction right? The simulated person knows the
ground truth but errs with a set chance; an erring reviewer gives the wrong
label too. Stage 2, only for samples called right: does the Grad-CAM look at
the right place? A CAM-on-target share below the threshold stands in for the
"Training FAIL" button. Failed samples are D̄(t) = D_f ∪ D_g.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from inspkit.explain import roi_mask
from inspkit.models.preprocess import prepare
from inspkit.types import Roi
from simulator.products import Frame


@dataclass(frozen=True)
class ReviewItem:
    """One sample shown to the reviewer.

    Attributes:
        key: The sample's id.
        truth: Its ground-truth label (the simulator knows it; a person looks at the part).
        predicted: The model's label.
        p_ok: The model's p(OK).
        cam_score: CAM-on-target share of the prediction, ``None`` (or NaN) when unknown.
    """

    key: str
    truth: str
    predicted: str
    p_ok: float
    cam_score: float | None


@dataclass(frozen=True)
class ReviewOutcome:
    """What the reviewer decided about one sample.

    Attributes:
        key: The sample's id.
        said_correct: Stage 1: the reviewer called the prediction right.
        label: The label the reviewer gives the sample (used to train on it).
        attention_fail: Stage 2: "Training FAIL", the model looked elsewhere (D_g).
        failed: In D̄(t): called wrong (D_f) or attention failed (D_g).
    """

    key: str
    said_correct: bool
    label: str
    attention_fail: bool
    failed: bool


class Reviewer:
    """A person with a known error rate who checks predictions and heatmaps.

    Args:
        error_rate: Chance that the stage-1 answer (right / wrong) is flipped.
        cam_threshold: Stage 2 fails a sample whose CAM-on-target share is below this.
        seed: Seeds the reviewer's mistakes.
    """

    def __init__(self, error_rate: float, cam_threshold: float, seed: int) -> None:
        if not 0.0 <= error_rate <= 1.0:
            raise ValueError(f"reviewer error rate is {error_rate}; expected 0 to 1")
        self.error_rate = error_rate
        self.cam_threshold = cam_threshold
        self._rng = np.random.default_rng(seed)

    def review(self, items: Sequence[ReviewItem]) -> list[ReviewOutcome]:
        """Both stages for each item, in order (one random draw per item)."""
        return [self._one(item, bool(self._rng.random() < self.error_rate)) for item in items]

    def _one(self, item: ReviewItem, errs: bool) -> ReviewOutcome:
        right = item.predicted == item.truth
        said_correct = right != errs
        if said_correct:
            label = item.predicted
        else:
            label = _other(item.predicted) if errs else item.truth
        attention_fail = said_correct and _below(item.cam_score, self.cam_threshold)
        return ReviewOutcome(item.key, said_correct, label, attention_fail, not said_correct or attention_fail)


def _other(label: str) -> str:
    """The opposite OK/NG label: what an erring reviewer writes for a right prediction."""
    return "NG" if label == "OK" else "OK"


def _below(score: float | None, threshold: float) -> bool:
    return score is not None and not math.isnan(score) and score < threshold


def model_view(frame: Frame, input_size: int, roi: Roi | None) -> tuple[np.ndarray, np.ndarray]:
    """The image the model sees and where it should look, both ``input_size`` square.

    The target is the defect mask for an NG frame and the product's own ROI
    for an OK frame (as ``inspkit.explain_samples.target_mask``), cropped and
    resized like the image. An NG mask is widened by an eighth of the ROI's
    side: a person calls a heatmap "Well-trained" when it sits on the defect's
    part of the bonding, not only when it hits the defect's few pixels (at
    32 px a defect is 6–60 pixels, and a right model's CAM share on the bare
    mask stays near 0.1).

    Returns:
        ``(S, S, 3)`` uint8 image and ``(S, S)`` bool target.
    """
    image = prepare(frame.image, input_size, roi)
    if frame.label == "NG":
        full = _widened(frame.mask.astype(np.uint8), frame.roi)
    else:
        full = roi_mask(frame.image.shape[:2], frame.roi)
    target = prepare(full.astype(np.uint8) * 255, input_size, roi)
    return image, target > 127


def _widened(mask: np.ndarray, roi: Roi | None) -> np.ndarray:
    """The defect mask dilated by an eighth of the product ROI's shorter side."""
    side = min(roi.h, roi.w) if roi is not None else min(mask.shape)
    r = max(1, round(side / 8))
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))
    return cv2.dilate(mask, kernel) > 0
