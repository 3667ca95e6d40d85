"""Pre-processing shared by training and the inferencer, so both see the same pixels.

A raw frame is cropped to the model's ROI (when it has one), resized to the
square input size, and scaled to roughly unit range. Training caches the
uint8 result once; the float conversion happens per batch on the device.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import cv2
import numpy as np

from inspkit.data.crop import crop_array
from inspkit.types import Roi

if TYPE_CHECKING:
    import torch

# Models are trained from scratch, so fixed mid-range statistics serve as well
# as ImageNet's and keep the transform the same for every product.
MEAN = 0.5
STD = 0.25


def prepare(image: np.ndarray, size: int, roi: Roi | None = None) -> np.ndarray:
    """Crop (optional) and resize one RGB image to ``size`` x ``size`` uint8."""
    if roi is not None:
        image = crop_array(image, roi)
    if image.shape[:2] != (size, size):
        shrink = image.shape[0] > size or image.shape[1] > size
        image = cv2.resize(image, (size, size), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)
    return image


def stack_uint8(images: Sequence[np.ndarray]) -> "torch.Tensor":
    """Prepared images as one ``(N, 3, S, S)`` uint8 tensor."""
    import torch

    return torch.from_numpy(np.ascontiguousarray(np.stack(images).transpose(0, 3, 1, 2)))


def normalise(batch_uint8: "torch.Tensor") -> "torch.Tensor":
    """uint8 ``(N, 3, S, S)`` to the float input the models take (on the batch's device)."""
    return (batch_uint8.float() / 255.0 - MEAN) / STD
