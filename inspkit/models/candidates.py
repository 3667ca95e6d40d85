"""Training one candidate architecture K times and measuring what it costs.

Every candidate trains on the same split with the same seeds (seed, seed+1, …);
the table reports mean ± std over the repeats. The repeat with the best
validation score is the one that would be stored.
"""

from __future__ import annotations

import statistics
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from inspkit.models.profile import Cost

Progress = Callable[[str, int, int], None]


@dataclass
class RunResult:
    """One training run (one seed) of a candidate.

    Attributes:
        seed: The seed.
        metrics: Test metrics: accuracy, loss, auroc (classify) or map50 (detect).
        val_score: Validation score used to pick the run to store.
        seconds: Training wall time.
        images_per_s: Training throughput.
        weights: File holding the trained weights (in the run folder).
    """

    seed: int
    metrics: dict[str, float]
    val_score: float
    seconds: float
    images_per_s: float
    weights: Path


@dataclass
class CandidateRow:
    """A candidate's line in the selection table."""

    name: str
    runs: list[RunResult] = field(default_factory=list)
    cost: Cost | None = None
    fits: bool = False

    def mean(self, key: str) -> float:
        """Mean of a test metric over the repeats."""
        values = [r.metrics[key] for r in self.runs if key in r.metrics]
        return statistics.fmean(values) if values else float("nan")

    def std(self, key: str) -> float:
        """Standard deviation of a test metric over the repeats (0 for one run)."""
        values = [r.metrics[key] for r in self.runs if key in r.metrics]
        return statistics.stdev(values) if len(values) > 1 else 0.0

    def best_run(self) -> RunResult:
        """The run with the best validation score."""
        return max(self.runs, key=lambda r: r.val_score)


@dataclass(frozen=True)
class RunSettings:
    """What every candidate shares.

    Attributes:
        seeds: One training run per seed.
        epochs, batch_size, lr, weight_decay: Training settings.
        device: ``cpu`` or ``cuda``.
        input_size: Model input side, pixels.
        latency_runs: Timed batch-1 passes.
        budget_ms: The line's cycle time; p99 must fit it.
        weights: Optional local initial weights.
        work_dir: Where run files go.
    """

    seeds: tuple[int, ...]
    epochs: int
    batch_size: int
    lr: float
    weight_decay: float
    device: str
    input_size: int
    latency_runs: int
    budget_ms: float
    weights: Path | None
    work_dir: Path


def run_classifier(
    name: str, data: dict[str, Any], classes: tuple[str, ...], cfg: RunSettings, progress: Progress,
) -> CandidateRow:
    """Train and test a timm classifier once per seed, then time it."""
    from safetensors.torch import save_file

    from inspkit.models.engine import FitConfig, evaluate, fit
    from inspkit.models.profile import measure_cost
    from inspkit.models.registry import check_input_size, create_model

    row = CandidateRow(name)
    model = None
    for seed in cfg.seeds:
        model = create_model(name, len(classes), weights=cfg.weights)
        check_input_size(model, name, cfg.input_size)
        fit_cfg = FitConfig(cfg.epochs, cfg.batch_size, cfg.lr, cfg.weight_decay, seed, cfg.device)
        result = fit(model, data["train"], data["val"], fit_cfg,
                     lambda epoch, _row: progress("epoch", epoch, cfg.epochs))
        test = evaluate(model, data["test"], cfg.device, cfg.batch_size)
        val = evaluate(model, data["val"], cfg.device, cfg.batch_size) if len(data["val"]) else test
        path = _weights_path(cfg.work_dir, name, seed, ".safetensors")
        save_file({k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}, str(path))
        metrics = {"accuracy": test.accuracy, "loss": test.loss, "auroc": test.auroc}
        row.runs.append(RunResult(seed, metrics, val.accuracy - 1e-6 * val.loss, result.seconds,
                                  result.images_per_s, path))
    row.cost = measure_cost(model, cfg.input_size, cfg.device, cfg.latency_runs)
    row.fits = row.cost.p99_ms <= cfg.budget_ms
    return row


def run_detector(
    name: str, data: dict[str, Any], classes: tuple[str, ...], cfg: RunSettings, progress: Progress,
) -> CandidateRow:
    """Train and test an Ultralytics detector once per seed, then time it."""
    from inspkit.models import yolo

    arch = name.partition(":")[2]
    row = CandidateRow(name)
    detector = None
    for seed in cfg.seeds:
        out = Path(tempfile.mkdtemp(prefix=f"{arch}-s{seed}-", dir=cfg.work_dir))
        run = yolo.train_detector(
            arch, data["yaml"], out, epochs=cfg.epochs, imgsz=cfg.input_size, batch=cfg.batch_size,
            device=cfg.device, seed=seed, on_epoch=lambda e, n: progress("epoch", e, n),
        )
        test = yolo.evaluate(run.weights, data["yaml"], "test", cfg.input_size, cfg.device)
        detector = yolo.load_detector(run.weights, cfg.device)
        test["accuracy"] = _image_accuracy(detector, data, classes, cfg)
        row.runs.append(RunResult(seed, test, run.map50, run.seconds, 0.0, run.weights))
    row.cost = _detector_cost(detector, data, classes, cfg)
    row.fits = row.cost.p99_ms <= cfg.budget_ms
    return row


def _image_accuracy(detector: Any, data: dict[str, Any], classes: tuple[str, ...], cfg: RunSettings) -> float:
    """Share of test images whose verdict (NG when a box ≥ threshold) matches the label."""
    from inspkit.models.yolo import predict_boxes

    found = predict_boxes(detector, data["test_images"], cfg.input_size, data["box_confidence"], classes)
    hits = [(len(boxes) > 0) == (label == "NG") for boxes, label in zip(found, data["test_labels"])]
    return sum(hits) / len(hits) if hits else float("nan")


def _detector_cost(detector: Any, data: dict[str, Any], classes: tuple[str, ...], cfg: RunSettings) -> Cost:
    from inspkit.models.profile import time_forward
    from inspkit.models.yolo import param_count_and_gflops, predict_boxes

    image = data["test_images"][0]
    p50, p99 = time_forward(lambda: predict_boxes(detector, [image], cfg.input_size, 0.5, classes), cfg.latency_runs)
    params, gflops = param_count_and_gflops(detector, cfg.input_size)
    return Cost(params, gflops, p50, p99)


def _weights_path(work_dir: Path, name: str, seed: int, suffix: str) -> Path:
    return work_dir / f"{name.replace(':', '-')}-seed{seed}{suffix}"
