"""Augmentation ranges of a recipe (paper Table 1: perspective, colour, noise).

Kept in its own module so the augmentation operations can import the ranges
without pulling in the recipe loader.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class PerspectiveRange:
    """Perspective transform with 8 degrees of freedom (four corners moved).

    Attributes:
        max_corner_shift: Largest move of each corner, as a fraction of the
            image side (0 disables the op).
    """

    max_corner_shift: float = 0.05


@dataclass(frozen=True)
class ColorRange:
    """Colour jitter in RGB and HSV.

    Attributes:
        rgb_shift: Largest additive shift per RGB channel, in 0..255 units.
        hue_deg: Largest hue rotation, in degrees.
        saturation: Largest relative change of HSV saturation (0.2 = ±20 %).
        value: Largest relative change of HSV value (brightness).
        contrast: Largest relative change of contrast around the mean.
    """

    rgb_shift: float = 10.0
    hue_deg: float = 6.0
    saturation: float = 0.15
    value: float = 0.15
    contrast: float = 0.15


@dataclass(frozen=True)
class NoiseRange:
    """Sensor noise: one of salt-and-pepper, Gaussian or Poisson per image.

    Attributes:
        salt_pepper: Largest fraction of pixels set to black or white.
        gaussian_sigma: Largest Gaussian standard deviation, in 0..255 units.
        poisson_peak: Photon count at full scale for Poisson noise; the
            smallest value used (lower is noisier). 0 disables Poisson noise.
    """

    salt_pepper: float = 0.01
    gaussian_sigma: float = 8.0
    poisson_peak: float = 40.0


@dataclass(frozen=True)
class AugmentRanges:
    """All augmentation ranges of a recipe.

    Attributes:
        perspective: Perspective transform range.
        color: Colour jitter ranges.
        noise: Noise ranges.
        factor: Default number of augmented children per source sample.
    """

    perspective: PerspectiveRange = field(default_factory=PerspectiveRange)
    color: ColorRange = field(default_factory=ColorRange)
    noise: NoiseRange = field(default_factory=NoiseRange)
    factor: int = 4
