"""Which layer a CAM looks at, per architecture.

The default is the last layer that still has a spatial map before pooling:
``layer4`` for ResNet-family models, ``Mixed_7c`` for Inception, the last
feature block for VGG, MobileNet and EfficientNet, the layer that feeds the
largest-stride Detect input for YOLO; otherwise the last ``Conv2d``.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any

from inspkit.errors import InputError

if TYPE_CHECKING:
    import torch


def default_target_layer(model: torch.nn.Module, architecture: str) -> torch.nn.Module:
    """The layer to make heatmaps from: the last spatial map before global pooling.

    Late maps are the most semantic that still keep place; for a detector it is
    the deepest map the head reads.

    Args:
        model: The model, as the registry built it.
        architecture: Registry name, ``timm:<name>`` or ``yolo:<name>``; a
            pretrained tag (``timm:resnet18.a1_in1k``) is ignored.

    Returns:
        A sub-module of ``model``; the last ``Conv2d`` for timm families with no
        rule in ``_TIMM_RULES`` or a model lacking the rule's attribute.

    Raises:
        InputError: No ``backend:`` prefix, a ``yolo:`` model without a layer
            list, or no convolution at all.
    """
    backend, _, name = architecture.partition(":")
    if not name:
        raise InputError(
            f"architecture {architecture!r} has no backend prefix; "
            "expected a registry name such as 'timm:resnet18' or 'yolo:yolov8n'"
        )
    if backend == "yolo":
        return _yolo_target(model)
    base = name.split(".")[0].lower()
    for prefixes, pick in _TIMM_RULES:
        if base.startswith(prefixes):
            layer = pick(model)
            if layer is not None:
                return layer
            break
    return _last_conv(model)


def _path(dotted: str, model: Any) -> Any:
    """``model.a.b[-1]`` for ``"a.b.-1"``; None when any step is missing."""
    node = model
    for token in dotted.split("."):
        try:
            node = node[int(token)] if token.lstrip("-").isdigit() else getattr(node, token)
        except (AttributeError, IndexError, TypeError):
            return None
    return node


def _vgg_last_map(model: Any) -> Any:
    """The activation after VGG's last conv, before the final pool (conv5_3 in Grad-CAM's VGG-16).

    The pooled map is 1x1 at small inputs and the pre-logits "conv MLP" mixes
    away place, so this is the finest late map.
    """
    from torch import nn

    features = getattr(model, "features", None)
    if not isinstance(features, nn.Sequential):
        return None
    pools = (nn.MaxPool2d, nn.AvgPool2d, nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d)
    for layer in reversed(list(features.children())):
        if not isinstance(layer, pools):
            return layer
    return None


# Ordered: the first family whose prefix matches decides (legacy_xception before
# xception). mobilenetv3 pools *before* conv_head, so its conv_head is 1x1 and the
# last block is used; efficientnet's bn2 is conv_head + BN + activation, the map
# that global pooling reads.
_TIMM_RULES: tuple[tuple[tuple[str, ...], Callable[[Any], Any]], ...] = (
    (("resnet", "resnext", "seresnet", "seresnext"), partial(_path, "layer4")),
    (("vgg",), _vgg_last_map),
    (("inception_v3", "tf_inception_v3"), partial(_path, "Mixed_7c")),
    (("legacy_xception",), partial(_path, "act4")),
    (("xception",), partial(_path, "blocks.-1")),
    (("mobilenetv3", "tf_mobilenetv3"), partial(_path, "blocks.-1")),
    (("efficientnet", "tf_efficientnet", "mobilenetv2"), partial(_path, "bn2")),
)


def _last_conv(model: torch.nn.Module) -> torch.nn.Module:
    """The last ``Conv2d`` registered in ``model``."""
    from torch import nn

    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    if not convs:
        raise InputError(
            f"{type(model).__name__} has no Conv2d layer to explain; "
            "pass a target layer with a spatial (N, C, h, w) output"
        )
    return convs[-1]


def _yolo_target(model: torch.nn.Module) -> torch.nn.Module:
    """The layer feeding the detect head's largest-stride input (P5 for YOLOv8).

    Ultralytics heads list their inputs in ``head.f`` from the finest to the
    coarsest stride; the coarsest map carries the most context per cell.
    """
    from torch import nn

    layers = getattr(model, "model", None)
    if not isinstance(layers, nn.Sequential):  # a YOLO() wrapper holds the DetectionModel
        layers = getattr(layers, "model", None)
    if not isinstance(layers, nn.Sequential) or len(layers) < 2:
        raise InputError(
            f"{type(model).__name__} is not an ultralytics detection model "
            "(expected .model to be a Sequential of layers ending in the head)"
        )
    sources = getattr(layers[-1], "f", None)
    if isinstance(sources, (list, tuple)) and sources:
        index = int(sources[-1])
        # Negative "from" indices are relative to the head (-1 = the layer before it).
        return layers[index if index >= 0 else len(layers) - 1 + index]
    return layers[-2]
