"""YOLO detectors through Ultralytics, kept fully offline.

The paper's detector p(b|x) for small local defects (section 3.1.3). This module
writes a YOLO dataset from labelled boxes, trains a detector from its model
YAML (from scratch, no pretrained download), evaluates it, and predicts boxes.

Ultralytics reaches for the network in many places: an online check at import,
a font (every dataset check asks for it), a model for its AMP check, pip installs,
a PyPI version check, telemetry, Platform callbacks. An edge computer has no
internet, so :func:`offline_environment` switches those off; every public
function here calls it before touching Ultralytics.

Security: Ultralytics checkpoints (``*.pt``) are Python pickles, and loading one
can run code. :func:`load_detector` and :func:`evaluate` load weights only from
the workspace's own model store; the caller guarantees the path and never hands
in a file that came over a network.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from inspkit.errors import InputError
from inspkit.data.yolo_dataset import SPLITS, YoloItem, write_dataset  # noqa: F401  (re-exported)
from inspkit.types import Box

# Our metric names -> Ultralytics' DetMetrics.results_dict keys.
_METRIC_KEYS = {
    "precision": "metrics/precision(B)", "recall": "metrics/recall(B)",
    "map50": "metrics/mAP50(B)", "map50_95": "metrics/mAP50-95(B)",
}
# Fonts Ultralytics' check_font looks for (dataset check and plots).
_FONT_NAMES = ("Arial.ttf", "Arial.Unicode.ttf")
# Integrations that would log to outside services when their package is installed.
_OFF_SETTINGS: dict[str, Any] = {
    "sync": False, "api_key": "", "clearml": False, "comet": False, "dvc": False,
    "mlflow": False, "raytune": False, "tensorboard": False, "wandb": False,
    "vscode_msg": False, "openvino_msg": False,
}


@dataclass(frozen=True)
class DetectorRun:
    """The outcome of :func:`train_detector`.

    Attributes:
        weights: ``best.pt`` (or ``last.pt`` when no best was saved).
        map50: mAP at IoU 0.5 on the val split.
        metrics: ``precision``, ``recall``, ``map50``, ``map50_95`` on the val split.
        seconds: Wall time of training, including the per-epoch validation.
    """

    weights: Path
    map50: float
    metrics: dict[str, float]
    seconds: float


def _default_config_dir() -> Path:
    # Not the user's home: a workstation's own Ultralytics settings stay untouched.
    uid = os.getuid() if hasattr(os, "getuid") else 0
    return Path(tempfile.gettempdir()) / f"inspkit-ultralytics-{uid}"


def offline_environment(config_dir: Path | None = None) -> None:
    """Make Ultralytics download, install and report nothing; idempotent.

    Sets ``YOLO_OFFLINE=1`` (no online checks), ``YOLO_AUTOINSTALL=false`` (no pip
    installs), ``YOLO_VERBOSE=false`` unless set (the library never prints) and
    ``YOLO_CONFIG_DIR`` (a writable folder outside the user's home), then turns
    off settings sync, telemetry and integrations and places stand-in fonts so the
    font check finds one locally instead of asking GitHub.

    Args:
        config_dir: Folder for Ultralytics' settings and fonts; default a folder in the
            system temp dir. It takes effect only before Ultralytics is first imported.
    """
    os.environ["YOLO_OFFLINE"] = "1"
    os.environ["YOLO_AUTOINSTALL"] = "false"
    os.environ.setdefault("YOLO_VERBOSE", "false")
    # An API key makes the Platform callbacks stream the run to Ultralytics' servers.
    os.environ.pop("ULTRALYTICS_API_KEY", None)
    if config_dir is not None or "YOLO_CONFIG_DIR" not in os.environ:
        os.environ["YOLO_CONFIG_DIR"] = str(config_dir or _default_config_dir())
    Path(os.environ["YOLO_CONFIG_DIR"]).mkdir(parents=True, exist_ok=True)
    early = "ultralytics.utils" in sys.modules
    from ultralytics import utils

    _settings_off(utils.SETTINGS)
    _stand_in_fonts(Path(utils.USER_CONFIG_DIR))
    if early:
        _flags_off()


def _settings_off(settings: Any) -> None:
    # update() rewrites the settings file; skip it when nothing changes.
    changes = {k: v for k, v in _OFF_SETTINGS.items() if settings.get(k) != v}
    if changes:
        settings.update(changes)


def _stand_in_fonts(config_dir: Path) -> None:
    """Copy matplotlib's bundled DejaVu Sans in under the names check_font looks for.

    check_font runs on every dataset check, plots or not; it returns a font
    found in the config folder and otherwise sends a request to GitHub. DejaVu
    Sans ships with matplotlib (an Ultralytics dependency). Plots stay off anyway.
    """
    import matplotlib

    source = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf"
    for name in _FONT_NAMES:
        target = config_dir / name
        if not target.exists() and source.is_file():
            shutil.copyfile(source, target)


def _flags_off() -> None:
    """Ultralytics was imported before the environment was set: fix its import-time flags."""
    from ultralytics import utils
    from ultralytics.utils import checks, events

    utils.ONLINE = checks.ONLINE = False
    utils.AUTOINSTALL = checks.AUTOINSTALL = False
    events.events.enabled = False
    if os.environ.get("YOLO_VERBOSE", "").lower() in {"0", "false", "no", "off", "n", "f"}:
        logging.getLogger(utils.LOGGING_NAME).setLevel(logging.ERROR)


def train_detector(
    arch: str,
    data_yaml: Path,
    out_dir: Path,
    *,
    epochs: int,
    imgsz: int,
    batch: int,
    device: str,
    seed: int,
    on_epoch: Callable[[int, int], None] | None = None,
) -> DetectorRun:
    """Train a YOLO detector from scratch on a dataset from :func:`write_dataset`.

    Built from its YAML (``yolov8n`` → ``yolov8n.yaml``) with random weights, so
    nothing pretrained is fetched; AMP off (its check downloads a model), plots off
    (they need a font), data loading in this process, deterministic.

    Args:
        arch: Ultralytics model name, e.g. ``yolov8n`` or ``yolo11n`` (``yolo:`` prefix allowed).
        data_yaml: The dataset's ``data.yaml``.
        out_dir: Run folder; Ultralytics writes ``out_dir/train/weights/best.pt`` etc.
        epochs: Training epochs.
        imgsz: Square input size, pixels (a multiple of 32).
        batch: Batch size.
        device: ``cpu``, ``cuda``, ``cuda:0``, ``0``…
        seed: Random seed.
        on_epoch: Called as ``on_epoch(done, epochs)`` after each training epoch.

    Returns:
        Weights path, val-split metrics and wall time.

    Raises:
        InputError: ``arch`` is not a known Ultralytics model.
    """
    offline_environment()
    model = _build(arch)
    if on_epoch is not None:
        # Not on_fit_epoch_end: it fires once more during the final validation.
        model.add_callback("on_train_epoch_end", lambda tr: on_epoch(tr.epoch + 1, epochs))
    start = time.perf_counter()
    with _deterministic_restored():
        model.train(**_train_args(data_yaml, out_dir, epochs, imgsz, batch, device, seed))
    seconds = time.perf_counter() - start
    trainer = model.trainer
    weights = Path(trainer.best) if Path(trainer.best).is_file() else Path(trainer.last)
    metrics = _metrics(trainer.metrics or {})
    return DetectorRun(weights=weights, map50=metrics["map50"], metrics=metrics, seconds=seconds)


def _build(arch: str) -> Any:
    from ultralytics import YOLO

    name = arch.removeprefix("yolo:")
    try:
        return YOLO(f"{name}.yaml", task="detect")
    except FileNotFoundError:
        raise InputError(
            f"unknown YOLO architecture '{arch}'; expected an Ultralytics model name such as "
            "yolov8n or yolo11n"
        ) from None


def _train_args(
    data_yaml: Path, out_dir: Path, epochs: int, imgsz: int, batch: int, device: str, seed: int,
) -> dict[str, Any]:
    # Ultralytics' defaults suit large sets: gradients accumulate to a nominal
    # batch of 64 and warm-up lasts at least 100 iterations. A line's few
    # hundred images would then get a few dozen optimizer steps, half of them
    # warm-up, and a from-scratch detector learns nothing; so step every batch
    # and warm up for about a tenth of the run.
    return {
        "data": str(data_yaml), "epochs": epochs, "imgsz": imgsz, "batch": batch,
        "nbs": batch, "warmup_epochs": min(3.0, max(0.5, epochs / 10)),
        "device": device, "seed": seed, "deterministic": True, "pretrained": False,
        "amp": False, "plots": False, "workers": 0, "val": True, "exist_ok": True,
        "project": str(Path(out_dir).resolve()), "name": "train", "verbose": False,
    }


@contextlib.contextmanager
def _deterministic_restored() -> Iterator[None]:
    """Ultralytics turns deterministic algorithms on process-wide; put the switch back."""
    import torch

    was = torch.are_deterministic_algorithms_enabled()
    warn_only = torch.is_deterministic_algorithms_warn_only_enabled()
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(was, warn_only=warn_only)


def _metrics(results: dict[str, Any]) -> dict[str, float]:
    return {ours: float(results.get(theirs, 0.0)) for ours, theirs in _METRIC_KEYS.items()}


def evaluate(
    weights: Path, data_yaml: Path, split: str, imgsz: int, device: str,
) -> dict[str, float]:
    """Detection metrics of stored weights on one split of a dataset.

    Args:
        weights: A checkpoint from the workspace's model store (see the module note).
        data_yaml: The dataset's ``data.yaml``.
        split: ``train``, ``val`` or ``test``.
        imgsz: Square input size, pixels.
        device: Torch device string.

    Returns:
        ``precision``, ``recall``, ``map50``, ``map50_95`` on that split.

    Raises:
        InputError: The split is unknown or the weights file is missing.
    """
    if split not in SPLITS:
        raise InputError(f"split '{split}' is not one of {', '.join(SPLITS)}")
    model = load_detector(weights, device)
    # The validator always makes an output folder; keep it out of the working directory.
    with tempfile.TemporaryDirectory(prefix="inspkit-yolo-val-") as tmp:
        result = model.val(
            data=str(data_yaml), split=split, imgsz=imgsz, device=device, batch=16, workers=0,
            plots=False, save_json=False, verbose=False, project=tmp, name="val", exist_ok=True,
        )
    return _metrics(result.results_dict)


def load_detector(weights: Path, device: str) -> Any:
    """Load a trained detector for prediction.

    Args:
        weights: A checkpoint from the workspace's model store (see the module note).
        device: Torch device string; predictions run there.

    Returns:
        The Ultralytics ``YOLO`` object, pinned to ``device``.

    Raises:
        InputError: The weights file does not exist.
    """
    # Ultralytics would try to download a missing file named like an official model.
    if not Path(weights).is_file():
        raise InputError(f"weights file {weights} does not exist")
    offline_environment()
    from ultralytics import YOLO

    model = YOLO(str(weights), task="detect")
    model.overrides["device"] = device
    return model


def predict_boxes(
    detector: Any, images: Sequence[np.ndarray], imgsz: int, conf_floor: float,
    classes: Sequence[str],
) -> list[tuple[Box, ...]]:
    """Detect boxes in a batch of images.

    Args:
        detector: From :func:`load_detector`.
        images: H x W x 3 uint8 RGB arrays (sizes may differ).
        imgsz: Square model input size, pixels.
        conf_floor: Boxes below this confidence are dropped.
        classes: Class names in the detector's index order.

    Returns:
        One tuple of boxes per image, in that image's pixels, labelled with class names.
    """
    import cv2

    if not images:
        return []
    # Ultralytics reads numpy input as OpenCV's BGR.
    bgr = [cv2.cvtColor(np.ascontiguousarray(im), cv2.COLOR_RGB2BGR) for im in images]
    results = detector.predict(
        source=bgr, imgsz=imgsz, conf=conf_floor, batch=len(bgr), verbose=False, save=False,
    )
    return [_boxes(result, classes) for result in results]


def _boxes(result: Any, classes: Sequence[str]) -> tuple[Box, ...]:
    xywh = result.boxes.xywh.cpu().numpy()
    conf = result.boxes.conf.cpu().numpy()
    cls = result.boxes.cls.cpu().numpy().astype(int)
    return tuple(
        Box(float(x), float(y), float(h), float(w), classes[c], float(p))
        for (x, y, w, h), p, c in zip(xywh, conf, cls)
    )


def param_count_and_gflops(detector: Any, imgsz: int) -> tuple[int, float]:
    """Size and cost of a detector: parameters and GFLOPs per image at ``imgsz``.

    Args:
        detector: A ``YOLO`` object or its torch model.
        imgsz: Square input size, pixels.

    Returns:
        ``(parameters, gflops)``; GFLOPs is 0.0 when Ultralytics cannot profile the model.
    """
    offline_environment()
    from ultralytics.nn.tasks import BaseModel
    from ultralytics.utils.torch_utils import get_flops

    # Both the YOLO wrapper and its DetectionModel have a .model; only the latter is the net.
    net = detector if isinstance(detector, BaseModel) else detector.model
    params = sum(p.numel() for p in net.parameters())
    return int(params), float(get_flops(net, imgsz))
