"""Frames from the simulator's products, as images to store (used by CLI commands only)."""

from __future__ import annotations

from collections.abc import Iterator

from inspkit.recipe import Recipe
from inspkit.store.workspace import NewImage


def sim_images(recipe: Recipe, count: int, seed: int, start: int) -> Iterator[NewImage]:
    """``count`` frames of the recipe's product, frame indices ``start`` onwards."""
    from inspkit.data.collect import image_from_array, truth_sample, utc_iso
    from inspkit.store.samples import Truth
    from simulator.products import create_product, generate

    spec = recipe.product
    product = create_product(spec.generator, (spec.frame_h, spec.frame_w))
    for index in range(start, start + count):
        frame = generate(product, seed, index, spec.appearance, spec.defect_rate)
        truth = Truth(frame.label, frame.defect_type, frame.boxes, frame.roi)
        record = truth_sample(
            f"sim:{spec.generator}", recipe.line.line, recipe.line.station,
            f"{spec.generator}-{seed}-{index:07d}", utc_iso(), truth,
        )
        yield image_from_array(frame.image, record, frame.mask)


def setup_images(recipe: Recipe, seed: int) -> list[NewImage]:
    """The set-up period's labelled images for the first model: half OK, half NG (paper 5.3)."""
    from inspkit.data.collect import image_from_array, truth_sample, utc_iso
    from inspkit.store.samples import Truth
    from simulator.camera import drift_for, product_for, setup_frames

    product = product_for(recipe)
    sim = recipe.simulate
    frames = setup_frames(product, drift_for(recipe, product), seed, sim.setup_days, sim.setup_images, 0.5)
    images = []
    for i, item in enumerate(frames):
        f = item.frame
        record = truth_sample(f"sim:{recipe.product.generator}:set-up", recipe.line.line, recipe.line.station,
                              f"setup-{seed}-{i:05d}-day{item.day:.1f}", utc_iso(),
                              Truth(f.label, f.defect_type, f.boxes, f.roi))
        images.append(image_from_array(f.image, record, f.mask))
    return images


class ModelAdapter:
    """The inspkit Inferencer as the simulated line's model inspector."""

    def __init__(self, inferencer) -> None:  # noqa: ANN001  (Inferencer; imported lazily)
        self.inferencer = inferencer
        self.version = inferencer.version
        self.description = f"{inferencer.version} ({inferencer.meta.architecture})"

    def __call__(self, parts, images):  # noqa: ANN001, ANN204  (the simulator's ModelInspector)
        return self.inferencer.predict_batch(images)
