"""Model cost: parameters, GFLOPs at the input size, latency at batch 1.

GFLOPs count two operations per multiply-add (torch's FLOP counter), for one
image at the recipe's input size. Latency is timed after warm-up on the chosen
device, one image at a time, as a line inspects parts.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import torch


@dataclass(frozen=True)
class Cost:
    """What a model costs to run.

    Attributes:
        params: Number of parameters.
        gflops: 10^9 floating-point operations per image.
        p50_ms: Median latency of one forward pass at batch 1.
        p99_ms: 99th-percentile latency.
    """

    params: int
    gflops: float
    p50_ms: float
    p99_ms: float


def count_params(model: "torch.nn.Module") -> int:
    """Number of parameters."""
    return sum(p.numel() for p in model.parameters())


def count_gflops(model: "torch.nn.Module", size: int, device: str = "cpu") -> float:
    """FLOPs of one forward pass on a ``size`` x ``size`` image, in 10^9."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    model.eval()
    counter = FlopCounterMode(display=False)
    with torch.no_grad(), counter:
        model(torch.zeros(1, 3, size, size, device=device))
    return counter.get_total_flops() / 1e9


def time_forward(fn, runs: int, warmup: int = 5, sync=None) -> tuple[float, float]:
    """p50 and p99 of ``fn()`` in milliseconds (``sync`` waits for the device)."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        if sync:
            sync()
        times.append((time.perf_counter() - t0) * 1000)
    return float(np.percentile(times, 50)), float(np.percentile(times, 99))


def measure_cost(model: "torch.nn.Module", size: int, device: str, runs: int) -> Cost:
    """Parameters, GFLOPs and batch-1 latency of a classifier."""
    import torch

    model.eval().to(device)
    x = torch.zeros(1, 3, size, size, device=device)
    sync = torch.cuda.synchronize if device == "cuda" else None

    def forward() -> None:
        with torch.inference_mode():
            model(x)

    p50, p99 = time_forward(forward, runs, sync=sync)
    return Cost(count_params(model), count_gflops(model, size, device), p50, p99)
