"""The camera: frames of the recipe's product with the drift state of their day.

Frames of the line and of the set-up period come from different seeds, so a
model trained on set-up images never sees a line frame.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from inspkit.recipe import Recipe
from simulator.drift import DriftSchedule
from simulator.parts import Part
from simulator.products import Frame, Product, create_product, generate


def product_for(recipe: Recipe) -> Product:
    """The recipe's product at its frame size."""
    spec = recipe.product
    return create_product(spec.generator, (spec.frame_h, spec.frame_w))


def drift_for(recipe: Recipe, product: Product) -> DriftSchedule:
    """The recipe's drift schedule, filled in with the product's default colours."""
    defaults = {"material_color": tuple(product.default_material),
                "background": tuple(product.default_background)}
    types = product.classes if product.label_kind == "ok-ng" else ()
    return DriftSchedule(recipe.product.appearance, recipe.drift, tuple(types),
                         recipe.simulate.defect_rate, defaults)


def stream_seed(seed: int, stream: str) -> int:
    """A frame stream's seed, derived from the run seed and the stream's name."""
    entropy = [seed] + [ord(c) for c in stream]
    return int(np.random.SeedSequence(entropy).generate_state(1)[0])


class Camera:
    """Renders line parts (``camera(parts)``) from the drift state of each part's day."""

    def __init__(self, product: Product, drift: DriftSchedule, seed: int) -> None:
        self.product, self.drift = product, drift
        self.seed = stream_seed(seed, "line frames")

    def __call__(self, parts: Sequence[Part]) -> list[np.ndarray]:
        return [self.frame(p.serial, p.day, p.defect_type).image for p in parts]

    def frame(self, serial: int, day: float, defect_type: str | None) -> Frame:
        """One frame; ``defect_type`` None draws a good part."""
        return generate(self.product, self.seed, serial, self.drift.appearance(day), 0.0, defect_type)


@dataclass(frozen=True)
class SetupFrame:
    """A set-up period frame with its day (negative: before go-live)."""

    frame: Frame
    day: float


def setup_frames(product: Product, drift: DriftSchedule, seed: int, days: int, count: int,
                 ng_share: float | None = None) -> list[SetupFrame]:
    """``count`` frames from the ``days`` before go-live.

    Args:
        ng_share: Share of NG frames (rounded down to a whole number); None
            draws each part at the line's defect rate of day 0.
    """
    rng = np.random.default_rng(stream_seed(seed, "set-up truth"))
    frame_seed = stream_seed(seed, "set-up frames")
    types = drift.defect_types(0.0)
    if ng_share is None:
        is_ng = rng.random(count) < drift.defect_rate(0.0)
    else:
        is_ng = np.arange(count) < int(count * ng_share)
        rng.shuffle(is_ng)
    day_of = -days + rng.random(count) * days
    frames = []
    for i in range(count):
        defect = types[int(rng.integers(len(types)))] if is_ng[i] and types else None
        frame = generate(product, frame_seed, i, drift.appearance(float(np.floor(day_of[i]))), 0.0, defect)
        frames.append(SetupFrame(frame, float(day_of[i])))
    return frames
