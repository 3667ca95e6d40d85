"""What a classifier sees: its pooled features (the input of its last layer), and that layer.

Used to compare images in a model's feature space (domain adaptation, the GAN
quality check). Works on timm classifiers (``forward_features`` +
``forward_head``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from inspkit.models.preprocess import normalise

if TYPE_CHECKING:
    import torch


def features(model: Any, x: "torch.Tensor") -> "torch.Tensor":
    """Pooled features ``(N, D)`` of normalised input ``x``: what the head classifies."""
    return model.forward_head(model.forward_features(x), pre_logits=True)


def head(model: Any) -> "torch.nn.Module":
    """The model's last (classifying) layer."""
    return model.get_classifier()


def embed(model: Any, images: "torch.Tensor", device: str, batch_size: int) -> "torch.Tensor":
    """Features of uint8 images in eval mode, on the CPU."""
    import torch

    model.eval()
    out = []
    with torch.inference_mode():
        for start in range(0, len(images), batch_size):
            out.append(features(model, normalise(images[start:start + batch_size].to(device))).float().cpu())
    return torch.cat(out) if out else torch.zeros((0, 0))
