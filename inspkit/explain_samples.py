"""``explain``: heatmap overlays for stored samples, and the CAM-on-target score.

The score is the share of CAM energy inside the product ROI (OK samples) or
inside the defect mask (NG samples whose mask is known). A low score means the
model looked somewhere else — the reviewer's "Training FAIL" (paper Eq. 7).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from inspkit.data.imageio import decode_mask, encode_png, read_image
from inspkit.errors import InputError
from inspkit.explain import cam_on_target, default_target_layer, eigen_cam, grad_cam, overlay, roi_mask
from inspkit.models.inferencer import Inferencer
from inspkit.models.preprocess import normalise, prepare, stack_uint8
from inspkit.store.atomic import atomic_write_bytes
from inspkit.store.samples import Sample
from inspkit.store.workspace import Workspace

# Samples a model inspects: not augmentations, and crops instead of cropped frames.
INSPECTED = (
    "source != 'augment' AND NOT EXISTS "
    "(SELECT 1 FROM samples c WHERE c.parent_id = samples.id AND c.source = 'crop')"
)
_VIEW_PX = 256  # overlays are enlarged to this side so a person can see them


@dataclass(frozen=True)
class Explanation:
    """One heatmap.

    Attributes:
        sample_id: The sample explained.
        path: The overlay PNG.
        label: Its stored label, if any.
        prediction: What the model said (label), and ``p_ok`` its p(OK).
        score: CAM-on-target share, ``None`` when the target is unknown.
        target: ``roi`` or ``mask`` — what the score measured against.
    """

    sample_id: int
    path: Path
    label: str | None
    prediction: str
    p_ok: float | None
    score: float | None
    target: str | None


def model_input(inf: Inferencer, ws: Workspace, sample: Sample) -> np.ndarray:
    """The S x S uint8 image the model sees for a stored sample (crops are already ROI)."""
    image = read_image(ws.path(sample.image_path))
    return prepare(image, inf.meta.input_size, None if sample.source == "crop" else inf.meta.roi)


def cam_for(inf: Inferencer, image: np.ndarray) -> tuple[np.ndarray, str, float | None]:
    """Heatmap of a prepared image, with the prediction it explains."""
    layer = default_target_layer(inf.model, inf.meta.architecture)
    if inf.meta.task == "detect":
        import torch

        x = torch.from_numpy(image.transpose(2, 0, 1)[None].astype(np.float32) / 255.0).to(inf.device)
        (r,) = inf.detect_prepared([image])
        return eigen_cam(inf.model.model, x, layer), r.label, r.p_ok
    probs = inf.probs_prepared([image])[0]
    k = int(probs.argmax())
    x = normalise(stack_uint8([image])).to(inf.device)
    p_ok = float(probs[1]) if inf.meta.classes == ("NG", "OK") else None
    return grad_cam(inf.model, x, layer, k), inf.meta.classes[k], p_ok


def target_mask(inf: Inferencer, ws: Workspace, sample: Sample) -> tuple[np.ndarray | None, str | None]:
    """Where the model should look, in model-input pixels: defect mask (NG) or product ROI (OK)."""
    truth = sample.truth
    if truth is None:
        return None, None
    shape = (sample.height, sample.width)
    if truth.label == "NG" and truth.mask_path:
        full, kind = decode_mask(ws.path(truth.mask_path).read_bytes()), "mask"
    elif truth.label != "NG" and truth.roi is not None:
        full, kind = roi_mask(shape, truth.roi), "roi"
    else:
        return None, None
    small = prepare(full.astype(np.uint8) * 255, inf.meta.input_size, None if sample.source == "crop" else inf.meta.roi)
    return small > 127, kind


def explain_samples(ws: Workspace, inf: Inferencer, samples: Sequence[Sample], out_dir: Path) -> list[Explanation]:
    """Write one overlay PNG per sample and score each against its target."""
    if not samples:
        raise InputError("no samples to explain; give sample ids or use --doubtful N on inspected samples")
    out = []
    for sample in samples:
        image = model_input(inf, ws, sample)
        cam, prediction, p_ok = cam_for(inf, image)
        target, kind = target_mask(inf, ws, sample)
        score = cam_on_target(cam, target) if target is not None and target.any() else None
        path = out_dir / f"{sample.id:06d}-{(sample.label or 'unlabelled')}-pred-{prediction}.png"
        big = cv2.resize(overlay(image, cam), (_VIEW_PX, _VIEW_PX), interpolation=cv2.INTER_NEAREST)
        atomic_write_bytes(path, encode_png(big))
        out.append(Explanation(sample.id, path, sample.label, prediction, p_ok, score, kind if score is not None else None))
    return out


def most_doubtful(ws: Workspace, inf: Inferencer, n: int, batch: int = 64) -> list[Sample]:
    """The ``n`` inspected samples whose p(OK) is closest to 0.5 (|p − 0.5| smallest)."""
    if inf.meta.classes != ("NG", "OK") and inf.meta.task != "detect":
        raise InputError("--doubtful needs an OK/NG model; give sample ids for multiclass models")
    samples = list(ws.samples.select(INSPECTED))
    p_ok: list[float] = []
    for start in range(0, len(samples), batch):
        images = [model_input(inf, ws, s) for s in samples[start:start + batch]]
        if inf.meta.task == "detect":
            p_ok.extend(r.p_ok for r in inf.detect_prepared(images))
        else:
            p_ok.extend(float(p) for p in inf.probs_prepared(images)[:, 1])
    order = sorted(range(len(samples)), key=lambda i: (abs(p_ok[i] - 0.5), samples[i].id))
    return [samples[i] for i in order[:n]]
