"""A line's first model from a handful of labelled frames (paper 5.3: 60 images).

The whole training stage in one call: store the frames, label them by their
ground truth (the defect policy applied), crop the ROI, augment, split and
train. ``inspkit simulate`` uses it when the workspace has no model yet.
"""

from __future__ import annotations

from collections.abc import Iterable

from inspkit.data.augment import augment_samples
from inspkit.data.augment_ops import OPS
from inspkit.data.collect import collect_images
from inspkit.data.crop import crop_samples
from inspkit.data.label import label_from_truth
from inspkit.models.select import Progress, Selection, TrainRequest, train_and_select
from inspkit.recipe import Recipe
from inspkit.store.workspace import NewImage, Workspace


def train_first_model(ws: Workspace, recipe: Recipe, images: Iterable[NewImage], device: str,
                      progress: Progress) -> Selection:
    """Store, label, crop, augment and train on ``images`` (each with its ground truth).

    ``progress(kind, done, total)`` reports training as :func:`train_and_select` does.

    Raises:
        InputError: too few frames of a class to split, or no candidate fits the cycle time.
    """
    collect_images(ws, images)
    label_from_truth(ws)
    crop_samples(ws, recipe.roi.to_roi())
    if recipe.augment.factor > 1:
        augment_samples(ws, recipe.augment.factor, OPS, recipe.augment, recipe.seed)
    return train_and_select(ws, TrainRequest(recipe, device), progress)
