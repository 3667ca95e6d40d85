"""Frames from the simulator's products, as images to store (used by CLI commands only)."""

from __future__ import annotations

from collections.abc import Iterator

from inspkit.recipe import Recipe
from inspkit.store.workspace import NewImage


def sim_images(recipe: Recipe, count: int, seed: int, start: int) -> Iterator[NewImage]:
    """``count`` frames of the recipe's product, frame indices ``start`` onwards."""
    from simulator.camera import product_for
    from simulator.products import generate

    spec = recipe.product
    product = product_for(recipe)
    for index in range(start, start + count):
        frame = generate(product, seed, index, spec.appearance, spec.defect_rate)
        yield _stored(recipe, frame, f"sim:{spec.generator}", f"{spec.generator}-{seed}-{index:07d}")


def setup_images(recipe: Recipe, seed: int) -> list[NewImage]:
    """The set-up period's labelled images for the first model: half OK, half NG (paper 5.3)."""
    from simulator.camera import drift_for, product_for, setup_frames

    product = product_for(recipe)
    sim = recipe.simulate
    frames = setup_frames(product, drift_for(recipe, product), seed, sim.setup_days, sim.setup_images, 0.5)
    return [_stored(recipe, item.frame, f"sim:{recipe.product.generator}:set-up",
                    f"setup-{seed}-{i:05d}-day{item.day:.1f}") for i, item in enumerate(frames)]


def _stored(recipe: Recipe, frame, source: str, name: str) -> NewImage:  # noqa: ANN001  (simulator Frame)
    """A simulator frame as an image to store, with its ground truth."""
    from inspkit.data.collect import image_from_array, truth_sample, utc_iso
    from inspkit.store.samples import Truth

    truth = Truth(frame.label, frame.defect_type, frame.boxes, frame.roi)
    record = truth_sample(source, recipe.line.line, recipe.line.station, name, utc_iso(), truth)
    return image_from_array(frame.image, record, frame.mask)


class ModelAdapter:
    """The inspkit Inferencer as the simulated line's model inspector."""

    def __init__(self, inferencer) -> None:  # noqa: ANN001  (Inferencer; imported lazily)
        self.inferencer = inferencer
        self.version = inferencer.version
        self.description = f"{inferencer.version} ({inferencer.meta.architecture})"

    def __call__(self, parts, images):  # noqa: ANN001, ANN204  (the simulator's ModelInspector)
        return self.inferencer.predict_batch(images)

    def swap(self, inferencer) -> None:  # noqa: ANN001  (Inferencer)
        """Answer with another version from now on (a promoted update); the description keeps the first."""
        self.inferencer = inferencer
        self.version = inferencer.version
