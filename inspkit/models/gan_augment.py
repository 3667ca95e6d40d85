"""``augment --gan``: a conditional GAN learns a label's images and adds generated ones.

It learns from the labelled images outside the val and test splits (crops
when frames were cropped), conditioned on the defect type for NG (on the
class otherwise), at the recipe's image size. The generator is stored in the
model store like any model (task ``generate``; it can never be promoted to
inspect). The generated images become training-split samples with
``source = 'augment'`` and a derivation ``{"op": "gan", "generator": vNNNN,
…}`` that marks them as generated and names the version that made them.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import numpy as np

from inspkit.data.collect import collect_images, image_from_array
from inspkit.data.splits import assign_splits
from inspkit.data.views import BASE_SAMPLES
from inspkit.errors import InputError, LabelError
from inspkit.models.dataset import load_images
from inspkit.models.gan import ARCHITECTURE, GanConfig, check_size, generate, train_gan
from inspkit.models.store import ModelStore
from inspkit.models.types import ModelMeta
from inspkit.recipe import Task
from inspkit.store.samples import Sample
from inspkit.store.workspace import Workspace

Progress = Callable[[str, int, int], None]

# Fewer images than this and the generator only learns to copy them.
MIN_IMAGES = 10


@dataclass(frozen=True)
class GanRequest:
    """What to generate.

    Attributes:
        label: The label to learn and make, e.g. ``NG``.
        count: Images to add.
        defect_type: Make only this type (NG); ``None``: every type in proportion to the real ones.
        config: GAN training settings.
    """

    label: str
    count: int
    defect_type: str | None
    config: GanConfig


@dataclass
class GanReport:
    """What ``augment --gan`` did.

    Attributes:
        version: The generator's version in the model store.
        real: Real images learned from, per condition.
        made: Generated images per condition.
        created: New samples stored.
        seconds: GAN training wall time.
        sample_ids: Ids of the new samples.
        real_ids: Ids of the real samples learned from.
        warnings: Storage-guard warnings.
    """

    version: str
    real: dict[str, int]
    made: dict[str, int]
    created: int
    seconds: float
    sample_ids: list[int] = field(default_factory=list)
    real_ids: list[int] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def gan_augment(ws: Workspace, req: GanRequest, progress: Progress) -> GanReport:
    """Train the GAN, store the generator, add ``req.count`` generated training samples.

    Raises:
        InputError: count < 1, an image size the GAN cannot make, or too few real images.
        LabelError: an unknown label or defect type.
    """
    check_request(ws, req)
    real, conditions = learnable(ws, req)
    size, loaded = ws.recipe.image_size, [0]

    def step(n: int) -> None:
        loaded[0] += n
        progress("load", loaded[0], len(real))

    images = load_images(ws, real, size, step)
    index = {name: i for i, name in enumerate(conditions)}
    classes = _tensor([index[_condition(s)] for s in real])
    result = train_gan(images, classes, len(conditions), req.config, lambda done, total: progress("step", done, total))
    meta = _store_generator(ws, req, conditions, real, result)
    plan = _plan_counts(req, Counter(_condition(s) for s in real))
    wanted = _tensor([index[name] for name, n in plan.items() for _ in range(n)])
    # Noise seeded by the version too: a second run with the same seed adds new images.
    made = generate(result.generator, wanted, req.config.seed * 10_000 + int(meta.version[1:]), req.config.device)
    records = _records(ws, req, meta.version, [conditions[int(i)] for i in wanted], made)
    stored = collect_images(ws, records, lambda n: None)
    return GanReport(meta.version, dict(Counter(_condition(s) for s in real)), plan, stored.added,
                     result.seconds, stored.ids, [s.id for s in real], stored.warnings)


def check_request(ws: Workspace, req: GanRequest) -> None:
    """Check the request without writing anything.

    Raises:
        InputError, LabelError: as :func:`gan_augment`.
    """
    recipe = ws.recipe
    if recipe.task is not Task.CLASSIFY:
        raise InputError(f"augment --gan makes images for classifiers; this recipe's task is {recipe.task.value} "
                         "(a detector needs boxes, which generated images do not have)")
    if req.count < 1:
        raise InputError(f"--count must be 1 or more, not {req.count}")
    if req.label not in recipe.label_names():
        raise LabelError(f"label '{req.label}' is not one of: {', '.join(recipe.label_names())}")
    if req.defect_type is not None and (req.label != "NG" or req.defect_type not in recipe.taxonomy):
        known = ", ".join(recipe.taxonomy) if req.label == "NG" else "none (only NG images have defect types)"
        raise LabelError(f"unknown defect type '{req.defect_type}' for {req.label}; known types: {known}")
    try:
        check_size(recipe.image_size)
    except ValueError as exc:
        raise InputError(f"{exc}; the recipe's image_size is {recipe.image_size}") from None
    labelled = ws.samples.select(BASE_SAMPLES + " AND label = ?", (req.label,))
    _enough([s for s in labelled if s.split not in ("val", "test")], req.label)


def learnable(ws: Workspace, req: GanRequest) -> tuple[list[Sample], tuple[str, ...]]:
    """The real images to learn from and the condition names.

    Frames without a split get one first (as ``train`` would), so the GAN
    never learns from an image the classifier will be validated or tested on.

    Raises:
        InputError: too few images are left outside val and test.
    """
    recipe = ws.recipe
    # Idempotent: only frames without a split get one (the test split, once drawn, stays).
    assign_splits(ws, recipe.train.val_fraction, recipe.train.test_fraction, recipe.seed)
    real = [s for s in ws.samples.select(BASE_SAMPLES + " AND label = ?", (req.label,))
            if s.split not in ("val", "test")]
    _enough(real, req.label)
    conditions = tuple(sorted({_condition(s) for s in real}, key=_order(recipe.taxonomy)))
    if req.defect_type is not None and req.defect_type not in conditions:
        raise InputError(f"no {req.label} images of type '{req.defect_type}' to learn from; "
                         f"types with images: {', '.join(conditions)}")
    return real, conditions


def _enough(real: Sequence[Sample], label: str) -> None:
    if len(real) < MIN_IMAGES:
        raise InputError(f"a GAN needs at least {MIN_IMAGES} labelled {label} images outside the val and "
                         f"test splits to learn from; this workspace has {len(real)}; label more")


def _condition(sample: Sample) -> str:
    return sample.defect_type if sample.label == "NG" and sample.defect_type else str(sample.label)


def _order(taxonomy: Any) -> Callable[[str], tuple[int, str]]:
    names = list(taxonomy)
    return lambda name: (names.index(name) if name in names else len(names), name)


def _plan_counts(req: GanRequest, real: Counter) -> dict[str, int]:
    """Images to make per condition: all of one type, or in proportion to the real counts."""
    if req.defect_type is not None:
        return {req.defect_type: req.count}
    names = sorted(real, key=lambda n: -real[n])
    share = np.array([real[n] for n in names], dtype=float) / sum(real.values())
    counts = np.floor(share * req.count).astype(int)
    for i in range(req.count - int(counts.sum())):  # the rest to the largest types
        counts[i % len(names)] += 1
    return {n: int(c) for n, c in zip(names, counts) if c}


def _tensor(values: Sequence[int]) -> Any:
    import torch

    return torch.tensor(list(values), dtype=torch.int64)


def _store_generator(ws: Workspace, req: GanRequest, conditions: tuple[str, ...], real: Sequence[Sample],
                     result: Any) -> ModelMeta:
    from safetensors.torch import save

    state = {k: v.detach().cpu().contiguous() for k, v in result.generator.state_dict().items()}
    digest = hashlib.sha256("".join(sorted(f"{s.content_hash}:{_condition(s)}" for s in real)).encode())
    cfg = req.config
    meta = ModelMeta(
        version="", task="generate", architecture=ARCHITECTURE, input_size=ws.recipe.image_size,
        classes=conditions, roi=None, thresholds={}, metrics={"final_g_loss": result.history[-1]["g_loss"]},
        train_seconds=result.seconds, data_hash=digest.hexdigest(), parent=None,
        created_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        weights_file="generator.safetensors", weights_sha256="",
        extra={"label": req.label, "steps": cfg.steps, "batch_size": cfg.batch_size, "lr": cfg.lr,
               "width": cfg.width, "seed": cfg.seed, "real_images": len(real)},
    )
    return ModelStore(ws.root / "models").add(meta, {meta.weights_file: save(state)})


def _records(ws: Workspace, req: GanRequest, version: str, conditions: Sequence[str], made: Any) -> list:
    line, typed = ws.recipe.line, req.label == "NG"
    out = []
    for i, (name, image) in enumerate(zip(conditions, made)):
        sample = Sample(
            content_hash="", image_path="", width=0, height=0, source="augment", line=line.line,
            station=line.station, label=req.label, defect_type=name if typed and name in ws.recipe.taxonomy else None,
            split="train", derivation={"op": "gan", "generator": version, "condition": name, "index": i,
                                       "seed": req.config.seed},
        )
        out.append(image_from_array(np.ascontiguousarray(image.permute(1, 2, 0).numpy()), sample))
    return out
