"""Update policies against whole re-training: compute ratio and accuracy deltas (paper Fig. 10).

Run: ``python benchmarks/paper_compare.py RUN_DIR`` on the folder of an
``inspkit simulate --protocol paper`` run (reads its run.json), or
``python benchmarks/paper_compare.py --run OUT_DIR [--days D]`` to run the
protocol with every default policy first (about 10 minutes on 2 CPU cores).

Compute is CPU seconds of the updates, as a ratio to wt-only's measured in the
same run (absolute seconds on a shared machine mean little). Accuracy deltas
are percentage points against wt-only: mean and minimum over the ticks on the
fixed test set, and the mean on each tick's current parts.

The issue's goal: fsr or replay keeps wt-only's mean test accuracy within
1 point at no more than 1/3 of its compute.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

GOAL_POINTS = 1.0
GOAL_RATIO = 1 / 3
COMPARE = "ft-only,wt-only,ft-3,ft-5,ft-10,fsr,replay"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", nargs="?", type=Path, help="folder of a finished run (holds run.json)")
    parser.add_argument("--run", type=Path, help="run the protocol into this folder first")
    parser.add_argument("--days", type=int, default=None, help="days when running (default: the recipe's)")
    args = parser.parse_args()
    run_dir = args.run or args.run_dir
    if run_dir is None:
        parser.error("give a run folder, or --run OUT_DIR")
    if args.run:
        command = [sys.executable, "-m", "inspkit", "simulate", "--protocol", "paper", "--compare", COMPARE,
                   "--out", str(args.run)] + (["--days", str(args.days)] if args.days else [])
        subprocess.run(command, check=True)
    doc = json.loads((run_dir / "run.json").read_text())
    print(_report(doc))
    return 0


def _report(doc: dict) -> str:
    rows = {s["policy"]: s for s in doc["summary"]}
    base = rows.get("wt-only")
    if base is None:
        return "wt-only is not in this run; nothing to compare against"
    lines = [(f"initial model: {doc['initial']['test_accuracy']:.1%} on the test set; "
              f"run took {doc['wall_s']:.0f} s"),
             (f"{'policy':<8} {'CPU/wt':>7} {'Δmean':>7} {'Δmin':>7} {'Δfinal':>7} {'Δcurrent':>9} "
              f"{'retrains':>8} {'goal':>5}")]
    met = []
    for name, s in rows.items():
        ratio = s["cpu_s"] / base["cpu_s"] if base["cpu_s"] else float("nan")
        delta = {k: 100 * (s[k] - base[k]) for k in ("mean_test", "min_test", "final_test", "mean_current")}
        goal = delta["mean_test"] >= -GOAL_POINTS and ratio <= GOAL_RATIO
        if goal and name in ("fsr", "replay"):
            met.append(name)
        lines.append(f"{name:<8} {ratio:7.2f} {delta['mean_test']:+7.1f} {delta['min_test']:+7.1f} "
                     f"{delta['final_test']:+7.1f} {delta['mean_current']:+9.1f} {s['retrains']:8d} "
                     f"{'yes' if goal else 'no':>5}")
    lines.append(f"goal (within {GOAL_POINTS:g} point of wt-only's mean test accuracy at <= 1/3 of its CPU): "
                 + (f"met by {', '.join(met)}" if met else "not met by fsr or replay"))
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
