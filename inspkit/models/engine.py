"""The classifier training engine: a plain, fast loop over cached tensors.

Every candidate trains on the same split with the same seed; the model state
with the best validation accuracy is kept (ties: lower validation loss).
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from inspkit.models.dataset import Tensors
from inspkit.models.metrics import accuracy, auroc
from inspkit.models.preprocess import normalise

if TYPE_CHECKING:
    import torch


@dataclass(frozen=True)
class FitConfig:
    """Training settings.

    Attributes:
        epochs: Passes over the training data.
        batch_size: Images per step.
        lr: AdamW learning rate.
        weight_decay: AdamW weight decay.
        seed: Seeds weights init order, shuffling and dropout.
        device: ``cpu`` or ``cuda`` (resolve ``auto`` first).
    """

    epochs: int
    batch_size: int
    lr: float
    weight_decay: float
    seed: int
    device: str


@dataclass(frozen=True, eq=False)
class Evaluation:
    """Metrics of a model on one split, with its probabilities."""

    accuracy: float
    loss: float
    auroc: float
    probs: np.ndarray


@dataclass
class FitResult:
    """What training produced.

    Attributes:
        best_epoch: Epoch (1-based) whose state was kept.
        history: Per epoch: train_loss, val_loss, val_accuracy.
        seconds: Wall time of the whole fit.
        images_per_s: Training images per second in the training steps alone.
    """

    best_epoch: int
    history: list[dict[str, float]] = field(default_factory=list)
    seconds: float = 0.0
    images_per_s: float = 0.0


def fit(
    model: "torch.nn.Module", train: Tensors, val: Tensors, cfg: FitConfig,
    on_epoch: Callable[[int, dict[str, float]], None] | None = None,
) -> FitResult:
    """Train ``model`` in place and load the best validation state into it."""
    import torch

    torch.manual_seed(cfg.seed)
    model.to(cfg.device)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    gen = torch.Generator().manual_seed(cfg.seed)
    result = FitResult(best_epoch=0)
    best_score, best_state, started, step_s = None, None, time.perf_counter(), 0.0
    for epoch in range(1, cfg.epochs + 1):
        t0 = time.perf_counter()
        train_loss = _train_epoch(model, opt, train, cfg, gen)
        step_s += time.perf_counter() - t0
        row = {"epoch": float(epoch), "train_loss": train_loss}
        if len(val):
            ev = evaluate(model, val, cfg.device, cfg.batch_size)
            row.update(val_loss=ev.loss, val_accuracy=ev.accuracy)
        result.history.append(row)
        # Without a validation split the last epoch is kept.
        score = (row["val_accuracy"], -row["val_loss"]) if len(val) else (float(epoch), 0.0)
        if best_score is None or score > best_score:
            best_score, best_state, result.best_epoch = score, copy.deepcopy(model.state_dict()), epoch
        if on_epoch:
            on_epoch(epoch, row)
    model.load_state_dict(best_state)
    result.seconds = time.perf_counter() - started
    result.images_per_s = len(train) * cfg.epochs / step_s if step_s else 0.0
    return result


def _train_epoch(model, opt, data: Tensors, cfg: FitConfig, gen) -> float:
    import torch
    import torch.nn.functional as F

    model.train()
    order = torch.randperm(len(data), generator=gen)
    # The loss is summed on the device and read once per epoch: reading it
    # every step would make the host wait for the GPU after each batch.
    total, seen = torch.zeros((), device=cfg.device), 0
    for start in range(0, len(data), cfg.batch_size):
        idx = order[start:start + cfg.batch_size]
        if len(idx) < 2 and len(data) > 1:
            continue  # a lone last image would break batch norm; it is seen next epoch
        x = normalise(data.x[idx].to(cfg.device, non_blocking=True))
        y = data.y[idx].to(cfg.device, non_blocking=True)
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        total += loss.detach() * len(idx)
        seen += len(idx)
    return float(total) / max(seen, 1)


def predict_probs(model: "torch.nn.Module", x_uint8: "torch.Tensor", device: str, batch_size: int) -> np.ndarray:
    """Softmax probabilities, ``(N, classes)``, in eval mode."""
    import torch

    model.eval()
    out = []
    with torch.inference_mode():
        for start in range(0, len(x_uint8), batch_size):
            logits = model(normalise(x_uint8[start:start + batch_size].to(device)))
            out.append(torch.softmax(logits.float(), dim=1).cpu().numpy())
    return np.concatenate(out) if out else np.zeros((0, 0))


def evaluate(model: "torch.nn.Module", data: Tensors, device: str, batch_size: int) -> Evaluation:
    """Accuracy, cross-entropy and AUROC on one split."""
    probs = predict_probs(model, data.x, device, batch_size)
    labels = data.y.numpy()
    if not len(labels):
        return Evaluation(float("nan"), float("nan"), float("nan"), probs)
    loss = float(-np.log(np.clip(probs[np.arange(len(labels)), labels], 1e-12, 1.0)).mean())
    return Evaluation(accuracy(probs, labels), loss, auroc(probs, labels), probs)
