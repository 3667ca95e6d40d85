"""What an expansion will use, checked before anything is loaded, trained or written."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from inspkit.data.views import common_crop_window, training_view
from inspkit.errors import InputError, LabelError, ModelError
from inspkit.maintain.adapt_types import Criterion, Method
from inspkit.models.dataset import class_names
from inspkit.models.store import ModelStore
from inspkit.models.types import ModelMeta
from inspkit.store.samples import Sample
from inspkit.store.workspace import Workspace

if TYPE_CHECKING:
    from inspkit.maintain.expand import ExpandRequest

# Images as the model sees them, labelled or not: no augmentations, and a
# frame's crops stand in for the frame.
TARGET_IMAGES = (
    "source != 'augment' AND "
    "NOT EXISTS (SELECT 1 FROM samples c WHERE c.parent_id = samples.id AND c.source = 'crop')"
)


@dataclass(frozen=True)
class Plan:
    """The checked inputs of one expansion.

    Attributes:
        meta: The source version's metadata.
        source_version: Its id.
        source_line: The line named in the source workspace's recipe.
        source_train: Line A's labelled training images (DANN, ADDA).
        source_val: Line A's validation images (the ``dev`` criterion).
        target: Every image of line B (labels ignored).
        labelled: The line-B images learned from with their labels.
        probe: Line B's other labelled images, measured on for the report.
    """

    meta: ModelMeta
    source_version: str
    source_line: str
    source_train: tuple[Sample, ...]
    source_val: tuple[Sample, ...]
    target: tuple[Sample, ...]
    labelled: tuple[Sample, ...]
    probe: tuple[Sample, ...]


def make_plan(source: Workspace, target: Workspace, req: ExpandRequest) -> Plan:
    """Check the request against both workspaces.

    Raises:
        ModelError: the source version does not exist or is not a classifier.
        LabelError: the lines' classes or defect taxonomies differ.
        InputError: sizes or image kinds differ, line B has no images, or too few labels.
    """
    store = ModelStore(source.root / "models")
    version = store.resolve(req.source.version)
    meta = store.meta(version)
    _check_model(meta, version, source, target)
    images = tuple(target.samples.select(TARGET_IMAGES))
    _check_images(meta, images, target)
    labelled, probe = _pick_labels(images, req, target.recipe.seed if req.seed is None else req.seed)
    view = training_view(source)
    train = tuple(s for s in view.train if s.source != "augment")
    _check_source(req, train, view.val)
    return Plan(meta, version, source.recipe.line.line, train, view.val, images, labelled, probe)


def _check_model(meta: ModelMeta, version: str, source: Workspace, target: Workspace) -> None:
    if meta.task != "classify":
        raise ModelError(f"{version} is a {meta.task} model; expand adapts classifiers (train one with --task classify)")
    wanted = class_names(target.recipe)
    if tuple(meta.classes) != wanted:
        raise LabelError(f"the lines' classes differ: {version} predicts {', '.join(meta.classes)} but line B's "
                         f"recipe has {', '.join(wanted)}; give both workspaces the same labels and taxonomy")
    only_a = sorted(set(source.recipe.taxonomy) - set(target.recipe.taxonomy))
    only_b = sorted(set(target.recipe.taxonomy) - set(source.recipe.taxonomy))
    if only_a or only_b:
        raise LabelError(f"the lines' defect taxonomies differ (only on line A: {', '.join(only_a) or '-'}; "
                         f"only on line B: {', '.join(only_b) or '-'}); make the two recipes' taxonomy the same")
    if meta.input_size != target.recipe.image_size:
        raise InputError(f"input sizes differ: {version} takes {meta.input_size} px but line B's image_size is "
                         f"{target.recipe.image_size}; set image_size: {meta.input_size} in {target.root}/inspkit.yaml "
                         f"(or make it with 'inspkit init … --image-size {meta.input_size}')")


def _check_images(meta: ModelMeta, images: tuple[Sample, ...], target: Workspace) -> None:
    if not images:
        raise InputError(f"line B's workspace {target.root} has no images; collect some first "
                         "('inspkit collect -w WS_B --source …')")
    cropped = common_crop_window(images) is not None
    frames = sum(1 for s in images if s.source != "crop")
    if cropped and frames:
        raise InputError(f"{frames} of line B's frames are not cropped yet (the others are); "
                         "run 'inspkit crop -w WS_B' so the model sees every image the same way")
    if (meta.roi is not None) != cropped:
        what = "ROI crops" if meta.roi is not None else "whole frames"
        raise InputError(f"the source model inspects {what} but line B's images are "
                         f"{'crops' if cropped else 'whole frames'}; "
                         f"{'crop them first (inspkit crop -w WS_B)' if not cropped else 'use the uncropped frames'}")


def _pick_labels(images: tuple[Sample, ...], req: ExpandRequest, seed: int) -> tuple[tuple[Sample, ...], tuple[Sample, ...]]:
    """``req.labels`` labelled images, balanced over classes (seeded); the other labelled ones are the probe."""
    pool = [s for s in images if s.label is not None]
    if req.labels < 0:
        raise InputError(f"--labels must be 0 or more, not {req.labels}")
    if req.method is Method.FINETUNE and req.labels < 2:
        # One image (doubled to make a batch) leaves batch norm with zero variance.
        raise InputError("finetune learns from labelled line-B images: give --labels N (N ≥ 2), or use dann/adda")
    if req.labels > len(pool):
        raise InputError(f"--labels {req.labels} asked for, but line B has {len(pool)} labelled images; "
                         "label more ('inspkit label -w WS_B …') or ask for fewer")
    by_class: dict[str, list[Sample]] = defaultdict(list)
    rng = np.random.default_rng(seed)
    for i in rng.permutation(len(pool)):
        by_class[str(pool[i].label)].append(pool[i])
    chosen: list[Sample] = []
    queues = [by_class[k] for k in sorted(by_class)]
    while len(chosen) < req.labels:
        for queue in queues:
            if queue and len(chosen) < req.labels:
                chosen.append(queue.pop(0))
    taken = {s.content_hash for s in chosen}
    return tuple(chosen), tuple(s for s in pool if s.content_hash not in taken)


def _check_source(req: ExpandRequest, train: tuple[Sample, ...], val: tuple[Sample, ...]) -> None:
    if req.method is not Method.FINETUNE and len(train) < 2:
        raise InputError(f"{req.method.value} learns from line A's labelled training images, and its workspace "
                         "has none; expand from the workspace the model was trained in")
    if req.criterion is Criterion.DEV and not val:
        raise InputError("--select dev needs line A's validation split, which is empty; use --select im")
