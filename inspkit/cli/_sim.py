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
