"""The model registry: ``create_model("timm:resnet18", num_classes=2)``.

Names are ``<family>:<architecture>``. ``timm`` builds classifiers (the paper's
ResNet, SE-ResNe(X)t, VGG, GoogLeNet/Inception, Xception… plus small ones for
the edge); ``yolo`` names Ultralytics detectors built from their model yaml.
Every model is built from scratch: nothing is downloaded. ``--weights PATH``
initialises from a local file instead.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from inspkit.errors import InputError


@dataclass(frozen=True)
class ModelEntry:
    """One registered architecture.

    Attributes:
        name: Full registry name, e.g. ``timm:resnet18``.
        task: ``classify`` or ``detect``.
        note: One line for ``--help`` and tables (what the paper calls it).
    """

    name: str
    task: str
    note: str


_REGISTRY: dict[str, ModelEntry] = {}
_BUILDERS: dict[str, Callable[..., Any]] = {}


def register_model(name: str, task: str, note: str = "") -> None:
    """Add an architecture to the registry (its family must have a builder)."""
    family = name.partition(":")[0]
    if family not in _BUILDERS:
        raise ValueError(f"no builder for model family {family!r}")
    _REGISTRY[name] = ModelEntry(name, task, note)


def register_family(family: str, builder: Callable[..., Any]) -> None:
    """Register the function that builds every model of a family."""
    _BUILDERS[family] = builder


def list_models(task: str | None = None) -> list[str]:
    """Registered names, optionally only those for one task."""
    return sorted(n for n, e in _REGISTRY.items() if task is None or e.task == task)


def model_entry(name: str) -> ModelEntry:
    """The registry entry of a name; any timm architecture is accepted as a classifier.

    Raises:
        InputError: the name is unknown, with the closest known names.
    """
    if name in _REGISTRY:
        return _REGISTRY[name]
    family, _, arch = name.partition(":")
    if family == "timm" and arch and arch in _timm_names():
        return ModelEntry(name, "classify", "timm architecture")
    close = difflib.get_close_matches(name, list(_REGISTRY) + [f"timm:{n}" for n in _timm_names()], n=3)
    hint = f"; did you mean {', '.join(close)}?" if close else f"; known: {', '.join(list_models())}"
    raise InputError(f"unknown model architecture '{name}'{hint}")


def create_model(name: str, num_classes: int, weights: Path | None = None, **kw: Any) -> Any:
    """Build a model from scratch (or from local ``weights``).

    Args:
        name: Registry name.
        num_classes: Output classes.
        weights: Optional local weights file (safetensors or a torch state dict).
        **kw: Passed to the family builder.
    """
    entry = model_entry(name)
    family, _, arch = entry.name.partition(":")
    model = _BUILDERS[family](arch, num_classes, **kw)
    if weights is not None:
        load_local_weights(model, weights)
    return model


def check_input_size(model: Any, name: str, size: int) -> None:
    """Refuse an input size the architecture cannot take (one dry forward pass).

    Raises:
        InputError: naming the size and what to do.
    """
    import torch

    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            model(torch.zeros(1, 3, size, size))
    except RuntimeError as exc:
        raise InputError(
            f"{name} cannot take {size}x{size} inputs ({str(exc).splitlines()[0][:80]}); "
            "set a larger image_size in the recipe or pick another architecture"
        ) from None
    finally:
        model.train(was_training)


def load_local_weights(model: Any, path: Path) -> tuple[int, int]:
    """Initialise from a local file; returns ``(loaded, skipped)`` tensor counts.

    Tensors whose name or shape does not fit (e.g. a 1000-class ImageNet head)
    are skipped, so backbone weights can seed a 2-class model.

    Raises:
        InputError: the file is missing, unreadable, or fits nothing.
    """
    state = read_state_dict(path)
    own = model.state_dict()
    fitting = {k: v for k, v in state.items() if k in own and own[k].shape == v.shape}
    if not fitting:
        raise InputError(f"no tensor in {path} fits this architecture; is it the right model's weights?")
    model.load_state_dict(fitting, strict=False)
    return len(fitting), len(state) - len(fitting)


def read_state_dict(path: Path) -> dict[str, Any]:
    """Read a state dict safely: safetensors, or ``torch.load(weights_only=True)``.

    Raises:
        InputError: missing or unreadable file.
    """
    import torch

    if not Path(path).is_file():
        raise InputError(f"weights file {path} not found")
    try:
        if str(path).endswith(".safetensors"):
            from safetensors.torch import load_file

            return load_file(str(path))
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any parse failure means the same to the user
        raise InputError(f"cannot read weights {path}: {str(exc).splitlines()[0][:120]}") from None
    return state.get("state_dict", state) if isinstance(state, dict) else {}


def _timm_names() -> list[str]:
    import timm

    return timm.list_models()


def _build_timm(arch: str, num_classes: int, **kw: Any) -> Any:
    import timm

    return timm.create_model(arch, pretrained=False, num_classes=num_classes, **kw)


def _build_yolo(arch: str, num_classes: int, **kw: Any) -> Any:
    from inspkit.models.yolo import offline_environment

    offline_environment()
    from ultralytics.nn.tasks import DetectionModel

    return DetectionModel(f"{arch}.yaml", nc=num_classes, verbose=False)


register_family("timm", _build_timm)
register_family("yolo", _build_yolo)
for _name, _note in {
    "resnet18": "ResNet-18", "resnet50": "ResNet-50", "resnext50_32x4d": "ResNeXt-50",
    "seresnet50": "SE-ResNet-50", "seresnext50_32x4d": "SE-ResNeXt-50", "vgg16": "VGG-16",
    "vgg19": "VGG-19", "inception_v3": "GoogLeNet / Inception v3 (input >= 75 px)",
    "legacy_xception": "Xception", "mobilenetv3_large_100": "MobileNetV3-Large",
    "mobilenetv3_small_100": "MobileNetV3-Small", "efficientnet_b0": "EfficientNet-B0",
}.items():
    register_model(f"timm:{_name}", "classify", _note)
for _name in ("yolov8n", "yolov8s", "yolo11n", "yolo11s"):
    register_model(f"yolo:{_name}", "detect", f"Ultralytics {_name}, built from its yaml")
