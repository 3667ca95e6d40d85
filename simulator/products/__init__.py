"""Synthetic product generators with ground truth, behind a small registry.

Example:
    >>> from simulator.products import create_product, generate
    >>> frame = generate(create_product("cylinder_bonding"), seed=0, index=7)
    >>> frame.image.shape, frame.label in ("OK", "NG")
    ((256, 256, 3), True)
"""

from simulator.products import cylinder, icons, pcb, solder  # noqa: F401  (they register)
from simulator.products.base import (
    Appearance, Frame, Product, create_product, generate, list_products, register_product,
)

__all__ = [
    "Appearance", "Frame", "Product", "create_product", "generate", "list_products",
    "register_product",
]
