"""Pieces domain adaptation needs around a classifier: a domain critic, gradient reversal, BN statistics.

The critic looks at a classifier's pooled features (``models.features``):
what its last layer classifies.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

from inspkit.errors import ModelError
from inspkit.models.dataset import Tensors
from inspkit.models.features import features
from inspkit.models.preprocess import normalise

if TYPE_CHECKING:
    import torch


def check_splittable(model: Any, architecture: str) -> None:
    """Refuse a model whose features and head cannot be told apart.

    Raises:
        ModelError: the model is not a timm classifier.
    """
    if not all(hasattr(model, name) for name in ("forward_features", "forward_head", "get_classifier")):
        raise ModelError(f"{architecture} does not expose its features (forward_features/forward_head); "
                         "expansion needs a timm classifier")


def feature_size(model: Any, size: int, device: str) -> int:
    """Width of the pooled features, from one dry forward pass."""
    import torch

    was_training = model.training
    model.eval()
    with torch.no_grad():
        width = int(features(model, torch.zeros(1, 3, size, size, device=device)).shape[1])
    model.train(was_training)
    return width


def critic(width: int) -> "torch.nn.Module":
    """The domain discriminator: features → one logit, ``source`` vs ``target``."""
    from torch import nn

    return nn.Sequential(nn.Linear(width, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(), nn.Linear(256, 1))


def reverse_gradient(x: "torch.Tensor", scale: float) -> "torch.Tensor":
    """Identity forward; the gradient is multiplied by ``-scale`` on the way back (DANN)."""
    return _reverse_class().apply(x, scale)


@functools.cache
def _reverse_class():  # noqa: ANN202  (a torch Function, built when first needed)
    import torch

    class ReverseGradient(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x, scale):  # noqa: ANN001, ANN205
            ctx.scale = scale
            return x.view_as(x)

        @staticmethod
        def backward(ctx, grad):  # noqa: ANN001, ANN205
            return -ctx.scale * grad, None

    return ReverseGradient


def recalibrate_bn(model: Any, images: Tensors, device: str, batch_size: int) -> None:
    """Re-estimate batch-norm running statistics on ``images`` (the target line's), weights unchanged.

    A model trained on one line keeps that line's pixel statistics in its BN
    layers; the line it is moved to has others (light, colour).
    """
    import torch

    layers = [m for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    if not layers or not len(images):
        return
    saved = [m.momentum for m in layers]
    for m in layers:
        m.reset_running_stats()
        m.momentum = None  # a plain average over every batch
    model.train()
    with torch.no_grad():
        for start in range(0, len(images), batch_size):
            batch = images.x[start:start + batch_size]
            if len(batch) > 1:
                model(normalise(batch.to(device)))
    for m, momentum in zip(layers, saved):
        m.momentum = momentum
    model.eval()
