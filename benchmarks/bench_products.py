"""Frames per second of the synthetic product generators, on one core and on two.

Run: ``python benchmarks/bench_products.py [--seconds S]`` (default 3 s per
measurement, about 35 s in all).

Every product draws 256 x 256 frames (nav_icons too, scaled up from its
96 x 96 default) with the default :class:`Appearance` and ``defect_rate=0.5``
through :func:`generate`. "2 cores" is a ``multiprocessing.Pool`` of 2 workers,
each generating its own indices (even / odd) for the same time window.
Each window is cut into 3 slices and the best slice rate is reported (other
load on a shared machine only ever slows a slice down).

Absolute rates mean little on a shared, noisy machine, so the script prints
ratios measured in the same run:

* ``2c/1c``: two-core rate over one-core rate (2.0 = perfect scaling);
* ``1c/base`` and ``2c/base``: product rate over the *baseline* rate on the
  same number of cores. The baseline is the cheapest possible frame: make the
  frame's generator (``np.random.default_rng([seed, index])``), allocate a
  zeroed 256 x 256 x 3 uint8 frame and add sensor noise exactly as the
  generators do (a random window of the shared noise bank, ``cv2.addWeighted``).
  So ``1c/base = 0.25`` means a product frame costs four trivial frames.

The target is at least 1,000 frames/s on two cores (``2c >= 1000`` column).
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import sys
import time
from pathlib import Path
from typing import Callable

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from simulator.products import Appearance, create_product, generate, list_products  # noqa: E402
from simulator.products.base import NOISE_OFFSETS, noise_bank  # noqa: E402

FRAME_HW = (256, 256)
SEED = 2024
TARGET_FPS_2C = 1000.0
#: Each window is cut into this many slices; the best slice is reported, as
#: timeit does, because other load on the machine only ever slows a slice down.
SLICES = 3
BASELINE = "baseline"

_worker_make: Callable[[int], object] | None = None
_worker_barrier: object | None = None


def frame_maker(name: str) -> Callable[[int], object]:
    """A function drawing frame ``index`` of ``name`` (or of the baseline)."""
    if name == BASELINE:
        bank = noise_bank(FRAME_HW[0] * FRAME_HW[1] * 3 + NOISE_OFFSETS, 0)
        size = FRAME_HW[0] * FRAME_HW[1] * 3
        appearance = Appearance()

        def trivial(index: int) -> np.ndarray:
            rng = np.random.default_rng([SEED, index])
            frame = np.zeros((*FRAME_HW, 3), np.uint8)
            start = int(rng.integers(0, bank.size - size + 1))
            noise = bank[start:start + size].reshape(frame.shape)
            return cv2.addWeighted(frame, 1.0, noise, appearance.noise_sigma, 0.0,
                                   dst=frame, dtype=cv2.CV_8U)
        return trivial
    product = create_product(name, FRAME_HW)
    return lambda index: generate(product, SEED, index)


def slice_rates(make: Callable[[int], object], seconds: float, first: int,
                step: int, start_s: float) -> list[float]:
    """Draw frames ``first, first + step, ...``; frames/s in each of ``SLICES`` slices.

    Slice ``k`` covers ``start_s + k * seconds / SLICES`` onwards (perf_counter
    time), so two processes given the same ``start_s`` slice the same moments.
    """
    make(first)  # warm caches outside the timed window
    rates, index = [], first
    slice_s = seconds / SLICES
    for k in range(1, SLICES + 1):
        count, t0 = 0, time.perf_counter()
        while time.perf_counter() < start_s + k * slice_s:
            make(index)
            count, index = count + 1, index + step
        rates.append(count / (time.perf_counter() - t0))
    return rates


def _init_worker(name: str, barrier: object) -> None:
    """Pool initializer: build the frame maker once per worker, outside the timing."""
    global _worker_make, _worker_barrier
    _worker_make, _worker_barrier = frame_maker(name), barrier


def _worker_run(args: tuple[int, int, float]) -> list[float]:
    """One worker's slice rates over indices ``first, first + step, ...``."""
    first, step, seconds = args
    assert _worker_make is not None
    _worker_make(first)
    # Both workers start together, and neither can take the other's task.
    _worker_barrier.wait()  # type: ignore[union-attr]
    # perf_counter is CLOCK_MONOTONIC on Linux, shared by the two processes.
    return slice_rates(_worker_make, seconds, first, step, time.perf_counter())


def fps_one_core(name: str, seconds: float) -> float:
    """Best slice rate, frames/s, in this process."""
    make = frame_maker(name)
    return max(slice_rates(make, seconds, 0, 1, time.perf_counter()))


def fps_two_cores(name: str, seconds: float) -> float:
    """Best slice rate, frames/s, summed over a Pool of two workers."""
    ctx = mp.get_context("spawn")
    barrier = ctx.Barrier(2)
    with ctx.Pool(2, initializer=_init_worker, initargs=(name, barrier)) as pool:
        per_worker = pool.map(_worker_run, [(0, 2, seconds), (1, 2, seconds)], chunksize=1)
    return max(sum(rates) for rates in zip(*per_worker))


def main(argv: list[str] | None = None) -> None:
    """Measure every product and print the table of rates and ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0,
                        help="length of each timed window (default 3)")
    args = parser.parse_args(argv)
    print(f"product generators, {FRAME_HW[0]}x{FRAME_HW[1]} frames, default Appearance, "
          f"defect_rate=0.5, {args.seconds:g} s per window; cpus={os.cpu_count()}, "
          f"numpy {np.__version__}, cv2 {cv2.__version__}")
    base_1c, base_2c = fps_one_core(BASELINE, args.seconds), fps_two_cores(BASELINE, args.seconds)
    print(f"baseline (rng + zeroed frame + noise): 1c {base_1c:9.0f} fps   "
          f"2c {base_2c:9.0f} fps   2c/1c {base_2c / base_1c:5.2f}")
    print(f"{'product':18s} {'1c fps':>8s} {'2c fps':>8s} {'2c/1c':>6s} {'1c/base':>8s} "
          f"{'2c/base':>8s} {'ms/frame':>9s} {'2c>=1000':>9s}")
    for name in list_products():
        one, two = fps_one_core(name, args.seconds), fps_two_cores(name, args.seconds)
        meets = "yes" if two >= TARGET_FPS_2C else "NO"
        print(f"{name:18s} {one:8.0f} {two:8.0f} {two / one:6.2f} {one / base_1c:8.3f} "
              f"{two / base_2c:8.3f} {1000.0 / one:9.3f} {meets:>9s}")


if __name__ == "__main__":
    main()
