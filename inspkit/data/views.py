"""Which samples a model sees: the training view of a workspace.

A *base* sample is a labelled image that is not an augmentation and has not
been cropped (when a frame has crops, its crops stand in for it). Training
uses base samples of the train split plus their augmented children; the val
and test splits use base samples only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from inspkit.store.samples import Sample
from inspkit.store.workspace import Workspace
from inspkit.types import Roi

BASE_SAMPLES = (
    "label IS NOT NULL AND source != 'augment' AND "
    "NOT EXISTS (SELECT 1 FROM samples c WHERE c.parent_id = samples.id AND c.source = 'crop')"
)
AUGMENTED_TRAIN = (
    "label IS NOT NULL AND source = 'augment' AND split = 'train'"
)


@dataclass(frozen=True)
class TrainingView:
    """Samples per split, as the model sees them.

    Attributes:
        train: Base train samples and their augmentations.
        val: Base validation samples.
        test: Base test samples.
    """

    train: tuple[Sample, ...]
    val: tuple[Sample, ...]
    test: tuple[Sample, ...]

    def split(self, name: str) -> tuple[Sample, ...]:
        """The samples of one split by name."""
        return {"train": self.train, "val": self.val, "test": self.test}[name]


def training_view(ws: Workspace) -> TrainingView:
    """The current training view of the workspace."""
    base = list(ws.samples.select(BASE_SAMPLES))
    augmented = tuple(ws.samples.select(AUGMENTED_TRAIN))
    by_split = {name: tuple(s for s in base if s.split == name) for name in ("train", "val", "test")}
    return TrainingView(by_split["train"] + augmented, by_split["val"], by_split["test"])


def crop_roi(samples: Sequence[Sample]) -> Roi | None:
    """The ROI a model should crop raw frames with: the samples' common crop window, ``None`` for raw frames."""
    window = common_crop_window(samples)
    return Roi(window[0] + window[3] / 2, window[1] + window[2] / 2, window[2], window[3]) if window else None


def common_crop_window(samples: Sequence[Sample]) -> tuple[int, int, int, int] | None:
    """The ``(x0, y0, h, w)`` most base samples were cropped with, ``None`` for raw frames."""
    windows = [
        (d["x0"], d["y0"], d["h"], d["w"])
        for d in (s.derivation or {} for s in samples) if d.get("op") == "crop"
    ]
    return max(set(windows), key=windows.count) if windows else None
