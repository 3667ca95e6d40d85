"""The data of the paper's update-policy comparison (section 5.3, Fig. 10), made once.

Every image comes from the recipe's product generator with the drift state of
its day and is prepared to the model's input once; every policy then sees the
same tensors, so policies differ only in how they update the model.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from inspkit.models.dataset import Tensors
from inspkit.models.preprocess import prepare, stack_uint8
from inspkit.recipe import Recipe
from simulator.camera import drift_for, product_for, stream_seed
from simulator.drift import DriftSchedule
from simulator.products import Frame, Product, generate
from simulator.reviewer import model_view

CLASSES = ("NG", "OK")  # index order: the paper's 0 = NG, 1 = OK


@dataclass(frozen=True)
class ProtocolSpec:
    """The comparison's sizes and the model it trains (defaults: the paper's protocol).

    The paper's sizes: 60 initial images and a fixed test set of 262, both
    half OK and half NG and from the first two months; every 15 days 20 new
    labelled images; 730 days. The model settings are ours: seven policies
    with ~90 re-trainings between them must run in minutes on a 2-core CPU,
    so the model is timm's tiny ``test_resnet`` at 32 px (4 stages, 0.4 M
    weights; ResNet-18 at 64 px trains ~20x slower there).

    Every re-training sees as many images as the first training did
    (``epochs`` x the initial set; epochs = that / |D|, at least 1): a fixed
    training budget, as a plant running for a fixed time on its server would.
    Re-training with fixed epochs would make whole re-training cost grow with
    |D| and only flatter the policies that re-train less.

    Attributes:
        initial_per_class: Initial training images per class (OK and NG).
        test_per_class: Fixed test images per class.
        setup_days: The set-up months before day 0 that initial and test images come from.
        tick_days: One slot t: new samples are collected over it, then the policy acts.
        new_per_class: New labelled images per class per tick.
        current_per_class: Per class, images of the tick's day to measure accuracy on current parts.
        days: Length of the run.
        model: Registry name of the architecture.
        image_size: Model input side in pixels.
        epochs: Epochs of the initial training (re-trainings: the same image budget).
        batch_size: Images per step.
        lr: Learning rate of (re-)training.
        cpu_threads: torch threads on a CPU (0: torch's default). One is the
            fastest for a model this small, and much faster on a shared machine.
        seed: Seeds every image stream, training and the reviewer.
    """

    initial_per_class: int = 30
    test_per_class: int = 131
    setup_days: int = 60
    tick_days: int = 15
    new_per_class: int = 10
    current_per_class: int = 50
    days: int = 730
    model: str = "timm:test_resnet"
    image_size: int = 32
    epochs: int = 30
    batch_size: int = 32
    lr: float = 1e-3
    cpu_threads: int = 1
    seed: int = 0

    @property
    def ticks(self) -> int:
        """Number of slots in the run."""
        return self.days // self.tick_days

    def retrain_epochs(self, train_size: int) -> int:
        """Epochs that show a set of ``train_size`` as many images as the initial training saw."""
        budget = self.epochs * 2 * self.initial_per_class
        return max(1, round(budget / max(train_size, 1)))


@dataclass(frozen=True)
class TickData:
    """What one tick brings.

    Attributes:
        tick: Slot t, 1-based.
        day: The tick's day (its end): the policy acts and accuracy is measured then.
        new: The new labelled samples of the slot (truth labels).
        keys: Their sample ids.
        targets: ``(N, S, S)`` bool: where the model should look on each new sample.
        current: Parts of the tick's day, to measure accuracy on current parts.
    """

    tick: int
    day: float
    new: Tensors
    keys: tuple[str, ...]
    targets: np.ndarray
    current: Tensors


@dataclass(frozen=True)
class PaperData:
    """Every tensor of one protocol run."""

    initial: Tensors
    test: Tensors
    ticks: tuple[TickData, ...]


class _Maker:
    """Frames of one named stream, balanced OK/NG, prepared to the model input."""

    def __init__(self, recipe: Recipe, spec: ProtocolSpec) -> None:
        self.product: Product = product_for(recipe)
        self.drift: DriftSchedule = drift_for(recipe, self.product)
        self.roi = recipe.roi.to_roi()
        self.spec = spec

    def frames(self, stream: str, days: np.ndarray, per_class: int) -> list[Frame]:
        """``2 * per_class`` frames, shuffled, NG ones with a type active on their day."""
        rng = np.random.default_rng(stream_seed(self.spec.seed, stream + " truth"))
        seed = stream_seed(self.spec.seed, stream)
        is_ng = np.arange(2 * per_class) < per_class
        rng.shuffle(is_ng)
        out = []
        for i, (ng, day) in enumerate(zip(is_ng, days)):
            types = self.drift.defect_types(float(day))
            defect = types[int(rng.integers(len(types)))] if ng else None
            look = self.drift.appearance(float(np.floor(day)))
            out.append(generate(self.product, seed, i, look, 0.0, defect))
        return out

    def tensors(self, frames: list[Frame]) -> Tensors:
        """Frames prepared to the model input with their class indices."""
        import torch

        images = [prepare(f.image, self.spec.image_size, self.roi) for f in frames]
        return Tensors(stack_uint8(images), torch.tensor([CLASSES.index(f.label) for f in frames]))

    def setup(self, stream: str, per_class: int) -> Tensors:
        """A balanced set from the set-up months (days before 0)."""
        rng = np.random.default_rng(stream_seed(self.spec.seed, stream + " days"))
        days = -self.spec.setup_days + rng.random(2 * per_class) * self.spec.setup_days
        return self.tensors(self.frames(stream, days, per_class))

    def tick(self, t: int) -> TickData:
        """Slot ``t``'s new samples (with targets) and its current parts."""
        spec = self.spec
        day = float(t * spec.tick_days)
        rng = np.random.default_rng(stream_seed(spec.seed, f"tick {t} days"))
        # New samples come from the whole slot; current parts from its last day.
        new_days = day - spec.tick_days + rng.random(2 * spec.new_per_class) * spec.tick_days
        new = self.frames(f"tick {t} new", new_days, spec.new_per_class)
        views = [model_view(f, spec.image_size, self.roi) for f in new]
        import torch

        tensors = Tensors(stack_uint8([v[0] for v in views]), torch.tensor([CLASSES.index(f.label) for f in new]))
        current = self.frames(f"tick {t} current", np.full(2 * spec.current_per_class, day), spec.current_per_class)
        keys = tuple(f"t{t:03d}-{i:02d}" for i in range(len(new)))
        return TickData(t, day, tensors, keys, np.stack([v[1] for v in views]), self.tensors(current))


def make_data(recipe: Recipe, spec: ProtocolSpec,
              on_progress: Callable[[int], None] | None = None) -> PaperData:
    """Draw and prepare every image of the run; ``on_progress(1)`` per set made (2 + ticks)."""
    maker = _Maker(recipe, spec)
    step = on_progress or (lambda n: None)
    initial = maker.setup("paper initial", spec.initial_per_class)
    step(1)
    test = maker.setup("paper test", spec.test_per_class)
    step(1)
    ticks = []
    for t in range(1, spec.ticks + 1):
        ticks.append(maker.tick(t))
        step(1)
    return PaperData(initial, test, tuple(ticks))
