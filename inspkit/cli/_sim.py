"""Frames from the simulator's products, as images to store (used by CLI commands only)."""

from __future__ import annotations

from collections.abc import Iterator

from inspkit.recipe import Recipe
from inspkit.store.workspace import NewImage


def sim_images(recipe: Recipe, count: int, seed: int, start: int,
               line: str | None = None) -> Iterator[NewImage]:
    """``count`` frames of the recipe's product, frame indices ``start`` onwards.

    ``line`` names one of the recipe's ``lines`` (None: the main line): its
    appearance and station are used, and its frames come from a stream of
    their own, so they differ from the main line's.

    Raises:
        InputError: ``line`` is not a line of the recipe (raised at once, not when iterated).
    """
    from simulator.camera import stream_seed

    view = recipe.for_line(line)
    if view is recipe:
        return _frames(view, count, seed, start, f"{recipe.product.generator}-{seed}")
    frame_seed = stream_seed(seed, f"line {view.line.line}")
    return _frames(view, count, frame_seed, start, f"{recipe.product.generator}-{view.line.line}-{seed}")


def _frames(recipe: Recipe, count: int, seed: int, start: int, prefix: str) -> Iterator[NewImage]:
    from simulator.camera import product_for
    from simulator.products import generate

    spec = recipe.product
    product = product_for(recipe)
    for index in range(start, start + count):
        frame = generate(product, seed, index, spec.appearance, spec.defect_rate)
        yield _stored(recipe, frame, f"sim:{spec.generator}", f"{prefix}-{index:07d}")


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
