"""Workspace samples as tensors: decoded, prepared and cached once per run."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from inspkit.data.imageio import read_image
from inspkit.models.preprocess import prepare, stack_uint8
from inspkit.recipe import LabelKind, Recipe
from inspkit.store.samples import Sample
from inspkit.store.workspace import Workspace

if TYPE_CHECKING:
    import torch


@dataclass(frozen=True, eq=False)
class Tensors:
    """Images and class indices of one split.

    Attributes:
        x: ``(N, 3, S, S)`` uint8 images.
        y: ``(N,)`` int64 class indices.
    """

    x: "torch.Tensor"
    y: "torch.Tensor"

    def __len__(self) -> int:
        return int(self.y.shape[0])


def class_names(recipe: Recipe) -> tuple[str, ...]:
    """Output classes in index order: ``("NG", "OK")`` (the paper's 0 and 1) or the taxonomy."""
    return ("NG", "OK") if recipe.labels is LabelKind.OK_NG else tuple(recipe.taxonomy)


def load_tensors(
    ws: Workspace, samples: Sequence[Sample], size: int, classes: Sequence[str],
    on_progress: Callable[[int], None] | None = None,
) -> Tensors:
    """Decode and prepare samples (they are already ROI crops or whole frames)."""
    import torch

    index = {name: i for i, name in enumerate(classes)}
    x = load_images(ws, samples, size, on_progress)
    y = torch.tensor([index[str(s.label)] for s in samples], dtype=torch.int64)
    return Tensors(x, y)


def load_images(ws: Workspace, samples: Sequence[Sample], size: int,
                on_progress: Callable[[int], None] | None = None) -> "torch.Tensor":
    """Samples' images, prepared, as one ``(N, 3, S, S)`` uint8 tensor (labels not needed)."""
    import torch

    images = []
    for sample in samples:
        images.append(prepare(read_image(ws.path(sample.image_path)), size))
        if on_progress:
            on_progress(1)
    return stack_uint8(images) if images else torch.zeros((0, 3, size, size), dtype=torch.uint8)


def data_hash(splits: dict[str, Sequence[Sample]]) -> str:
    """A hash of what a model was trained and tested on: images, labels, splits."""
    digest = hashlib.sha256()
    for split in sorted(splits):
        for s in sorted(splits[split], key=lambda s: s.content_hash):
            digest.update(f"{split}:{s.content_hash}:{s.label}:{s.defect_type}\n".encode())
    return digest.hexdigest()
