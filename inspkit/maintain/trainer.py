"""The two update operations on tensors: fine-tune (Eq. 9) and re-train (Eq. 11–12).

Both return the compute they spent, so policies can be weighed by accuracy
against cost: CPU seconds of this process (all threads) and wall seconds.
The workspace's ``inspkit update``, the paper protocol and the simulated line
call these same two functions.
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from inspkit.models.dataset import Tensors
from inspkit.models.engine import FitConfig, fit

if TYPE_CHECKING:
    import torch


@dataclass(frozen=True)
class Compute:
    """What one update cost.

    Attributes:
        cpu_s: Process CPU seconds (every thread), the cost on a CPU edge box.
        wall_s: Wall seconds (on a GPU this is the number to read).
        images: Training images seen (samples × epochs).
    """

    cpu_s: float
    wall_s: float
    images: int

    def __add__(self, other: Compute) -> Compute:
        return Compute(self.cpu_s + other.cpu_s, self.wall_s + other.wall_s, self.images + other.images)


ZERO = Compute(0.0, 0.0, 0)


def join(*parts: Tensors) -> Tensors:
    """Several tensor sets as one (empty ones are skipped)."""
    import torch

    parts = tuple(p for p in parts if len(p))
    if not parts:
        raise ValueError("nothing to join: every tensor set is empty")
    return Tensors(torch.cat([p.x for p in parts]), torch.cat([p.y for p in parts]))


def finetune(model: "torch.nn.Module", data: Tensors, cfg: FitConfig) -> tuple["torch.nn.Module", Compute]:
    """A copy of ``model`` adjusted on ``data`` at ``cfg.lr`` (the paper's small μ); the last epoch is kept.

    Raises:
        ValueError: ``data`` is empty.
    """
    if not len(data):
        raise ValueError("nothing to fine-tune on: D̄(t) is empty")
    if len(data) == 1:  # batch norm cannot train on a batch of one
        data = Tensors(data.x.repeat(2, 1, 1, 1), data.y.repeat(2))
    tuned = copy.deepcopy(model)
    return tuned, _timed(tuned, data, cfg)


def retrain(architecture: str, classes: int, data: Tensors, cfg: FitConfig) -> tuple["torch.nn.Module", Compute]:
    """A new model of ``architecture`` trained from its initial weights on ``data``; the last epoch is kept.

    Raises:
        ValueError: ``data`` is empty.
    """
    import torch

    from inspkit.models.registry import create_model

    if not len(data):
        raise ValueError("nothing to re-train on: the training set is empty")
    torch.manual_seed(cfg.seed)
    model = create_model(architecture, num_classes=classes)
    return model, _timed(model, data, cfg)


def _timed(model: "torch.nn.Module", data: Tensors, cfg: FitConfig) -> Compute:
    from inspkit.models.dataset import Tensors as _T

    cpu0, wall0 = time.process_time(), time.perf_counter()
    empty = _T(data.x[:0], data.y[:0])
    fit(model, data, empty, cfg)
    if cfg.device.startswith("cuda"):
        import torch

        torch.cuda.synchronize()
    return Compute(time.process_time() - cpu0, time.perf_counter() - wall0, len(data) * cfg.epochs)
