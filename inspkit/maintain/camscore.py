"""CAM-on-target scores for many images at once: the automatic stage-2 review (paper Eq. 7).

:func:`inspkit.explain.grad_cam` explains one image per forward and backward
pass. Reviewing every sample of a slot that way costs a pass per image; here one
pass serves a batch. In eval mode each row's logit depends on its own image
only, so the gradient of the *sum* of the rows' chosen logits with respect to
the target activation is, row by row, the gradient Grad-CAM wants.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from inspkit.errors import InputError
from inspkit.explain import _FLAT_RTOL, _hooked, _logits
from inspkit.explain_layers import default_target_layer
from inspkit.models.preprocess import normalise

if TYPE_CHECKING:
    import torch


def cam_scores(
    model: torch.nn.Module, x_uint8: torch.Tensor, class_index: Sequence[int],
    targets: np.ndarray, architecture: str, device: str, batch: int = 64,
    layer: torch.nn.Module | None = None,
) -> np.ndarray:
    """Per image, the share of its Grad-CAM energy that falls on its target mask.

    Same numbers as :func:`inspkit.explain.grad_cam` followed by
    :func:`inspkit.explain.cam_on_target`, image by image.

    Args:
        model: A classifier built by the registry (logits ``(N, K)``).
        x_uint8: ``(N, 3, S, S)`` uint8 prepared images.
        class_index: The class to explain per image (usually the predicted one).
        targets: ``(N, S, S)`` bool: where each image's model should look.
        architecture: Registry name, to pick the target layer.
        device: Where the model runs.
        batch: Images per forward/backward pass.
        layer: The layer to explain (None: ``default_target_layer``; see
            :func:`spatial_layer` for small inputs).

    Returns:
        ``(N,)`` float64 in [0, 1]; 0 for a flat CAM; NaN where the target is empty.

    Raises:
        InputError: Mismatched shapes or a class index out of range.
    """
    _check(x_uint8, class_index, targets)
    layer = layer if layer is not None else default_target_layer(model, architecture)
    model.to(device)
    scores = [
        _batch_scores(model, layer, x_uint8[i:i + batch], class_index[i:i + batch], targets[i:i + batch], device)
        for i in range(0, len(x_uint8), batch)
    ]
    return np.concatenate(scores) if scores else np.zeros(0)


def _check(x_uint8: torch.Tensor, class_index: Sequence[int], targets: np.ndarray) -> None:
    n = int(x_uint8.shape[0])
    if x_uint8.ndim != 4 or len(class_index) != n or targets.shape != (n, *x_uint8.shape[-2:]):
        raise InputError(
            f"cam_scores needs images (N, 3, S, S), N class indices and (N, S, S) targets; "
            f"got {tuple(x_uint8.shape)}, {len(class_index)}, {targets.shape}"
        )


def _batch_scores(model, layer, x_uint8, class_index, targets: np.ndarray, device: str) -> np.ndarray:
    """Scores of one batch: one forward, one backward."""
    import torch

    x = normalise(x_uint8.to(device)).requires_grad_(True)
    rows = torch.arange(len(x), device=device)
    picked = torch.as_tensor(list(class_index), dtype=torch.long, device=device)
    with _hooked(model, layer) as capture, torch.enable_grad():
        logits = _logits(model(x))
        if len(picked) and not (0 <= int(picked.min()) and int(picked.max()) < logits.shape[1]):
            raise InputError(f"a class index is out of range for {logits.shape[1]} classes")
        activation = capture.activation()
        (grads,) = torch.autograd.grad(logits[rows, picked].sum(), activation)
    weights = grads.mean(dim=(2, 3), keepdim=True)
    cams = torch.relu((weights * activation.detach()).sum(dim=1))
    return _shares(_upsampled_normalised(cams, tuple(x.shape[-2:])), targets)


def _upsampled_normalised(cams: torch.Tensor, size_hw: tuple[int, int]) -> np.ndarray:
    """``(N, h, w)`` maps resized to ``size_hw`` and min-max scaled per row (flat rows: zeros)."""
    import torch.nn.functional as F

    big = F.interpolate(cams.float().cpu()[:, None], size=size_hw, mode="bilinear", align_corners=False)
    values = big[:, 0].numpy().astype(np.float64)
    if not np.all(np.isfinite(values)):
        raise InputError("a heatmap has non-finite values (NaN or inf); check model and input")
    low = values.min(axis=(1, 2), keepdims=True)
    high = values.max(axis=(1, 2), keepdims=True)
    spread = high - low
    # The same flatness rule as explain._normalised: rounding noise is not a heatmap.
    flat = spread <= _FLAT_RTOL * np.maximum(np.abs(high), np.abs(low))
    scaled = np.where(flat, 0.0, (values - low) / np.where(flat, 1.0, spread))
    return scaled.astype(np.float32)


def _shares(cams: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """Per row, the share of CAM energy inside the target (cam_on_target's rule)."""
    energy = np.clip(cams, 0.0, None).astype(np.float64)
    total = energy.sum(axis=(1, 2))
    inside = (energy * targets.astype(bool)).sum(axis=(1, 2))
    share = np.where(total > 0, np.minimum(1.0, inside / np.where(total > 0, total, 1.0)), 0.0)
    empty = ~targets.reshape(len(targets), -1).any(axis=1)
    return np.where(empty, np.nan, share)


def spatial_layer(model: torch.nn.Module, architecture: str, input_size: int, min_side: int = 4) -> torch.nn.Module:
    """The default CAM layer, or a later-is-better ``Conv2d`` whose map is at least ``min_side`` wide.

    At small inputs the default layer's map can be 1 x 1 (32 px through a
    stride-32 network): its CAM is flat and says nothing about place. Then the
    last convolution whose output still has ``min_side`` cells a side is used.

    Raises:
        InputError: No convolution keeps ``min_side`` cells at this input size.
    """
    import torch
    from torch import nn

    default = default_target_layer(model, architecture)
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    sides: dict[int, int] = {}
    hooks = [m.register_forward_hook(lambda mod, i, out: sides.__setitem__(id(mod), int(out.shape[-1])))
             for m in [default, *convs]]
    was_training = model.training
    try:
        model.eval()
        with torch.no_grad():
            model(torch.zeros(1, 3, input_size, input_size, device=next(model.parameters()).device))
    finally:
        model.train(was_training)
        for hook in hooks:
            hook.remove()
    if sides.get(id(default), 0) >= min_side:
        return default
    wide = [m for m in convs if sides.get(id(m), 0) >= min_side]
    if not wide:
        raise InputError(f"no layer of {architecture} keeps a {min_side}x{min_side} map at {input_size} px")
    return wide[-1]
