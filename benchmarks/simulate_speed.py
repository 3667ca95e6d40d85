"""Speed of the line simulator, two ways, each against a baseline from the same run.

Run: ``python benchmarks/simulate_speed.py [--line-days 20] [--full] [--days 730]``.

1. **The line model alone** (stub inspectors, no images): the cylinder-bonding
   line at ``--parts-per-day`` (default 20,000, so the event loop dominates)
   for ``--line-days`` days; parts/s. Baseline: a bare SimPy loop with the same
   three processes handing integers on through ``simpy.Store`` (no stations,
   no routing, no counting), timed in the same run; the ratio says what the
   line's own work costs on top of SimPy. Goal: >= 50,000 parts/s.
2. **``--full``: ``inspkit simulate --days 730``** with the default recipe in a
   fresh run folder, through the CLI as a user runs it (first-model training
   included): wall time of the whole command, of the line run, parts/s, and
   the shares of the line run spent in image generation, the vision station,
   model inference and the simulation itself (from the run's ``run.json``).
   Goal: the whole command <= 5 minutes on 2 CPU cores.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def bare_simpy(parts: int) -> float:
    """Parts/s of three processes passing integers through simpy.Store with two timeouts."""
    import simpy

    env = simpy.Environment()
    a, b = simpy.Store(env), simpy.Store(env)

    def source():  # noqa: ANN202
        for i in range(parts):
            yield env.timeout(2.0)
            a.put(i)

    def stage(inp, out, delay):  # noqa: ANN001, ANN202
        while True:
            item = yield inp.get()
            yield env.timeout(delay)
            if out is not None:
                out.put(item)

    env.process(source())
    env.process(stage(a, b, 0.4))
    env.process(stage(b, None, 0.04))
    started = time.perf_counter()
    env.run()
    return parts / (time.perf_counter() - started)


def line_only(days: int, parts_per_day: int, with_mes: bool) -> float:
    """Parts/s of the cylinder-bonding line (its goal, fp-reduction) with stub inspectors and no images."""
    from inspkit.connect.mes import SqliteMes
    from inspkit.recipe import load_recipe, with_overrides
    from simulator.camera import drift_for, product_for
    from simulator.line import LineSetup, run_line
    from simulator.stubs import TruthModel, TruthVision

    recipe = with_overrides(load_recipe(ROOT / "recipes" / "cylinder-bonding.yaml"),
                            {"simulate.parts_per_day": parts_per_day})
    drift = drift_for(recipe, product_for(recipe))
    with tempfile.TemporaryDirectory() as tmp:
        mes = SqliteMes(Path(tmp) / "mes.db") if with_mes else None
        setup = LineSetup(recipe, drift, TruthVision(0.03, 0.1, 1), TruthModel(0.02, 2), None, mes, 0, days,
                          recipe.connect.goal)
        result = run_line(setup)
        if mes is not None:
            mes.close()
    return result.parts / result.wall_s


def full_run(days: int) -> dict[str, float]:
    """``inspkit simulate --days N`` in a fresh folder; what its run.json says, plus the command's wall time."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "run"
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "inspkit", "simulate", "--days", str(days), "--out", str(out)],
                       check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
        info = json.loads((out / "run.json").read_text())
        info["command_s"] = time.perf_counter() - started
        return info


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--line-days", type=int, default=20)
    parser.add_argument("--parts-per-day", type=int, default=20_000)
    parser.add_argument("--full", action="store_true", help="Also time inspkit simulate --days N end to end.")
    parser.add_argument("--days", type=int, default=730)
    args = parser.parse_args()
    base = bare_simpy(args.line_days * args.parts_per_day // 2)
    line = line_only(args.line_days, args.parts_per_day, with_mes=False)
    with_mes = line_only(args.line_days, args.parts_per_day, with_mes=True)
    print(f"bare SimPy (3 processes, simpy.Store): {base:,.0f} parts/s")
    for name, rate in (("MES records kept in memory", line), ("MES records written to SQLite", with_mes)):
        print(f"line model, stub inspectors, no images, {name}: {rate:,.0f} parts/s = {rate / base:.2f} x bare "
              f"SimPy (goal >= 50,000 parts/s: {'met' if rate >= 50_000 else 'NOT met'})")
    if args.full:
        info = full_run(args.days)
        print(f"inspkit simulate --days {args.days}: {info['command_s']:.0f} s for the whole command "
              f"(goal <= 300 s: {'met' if info['command_s'] <= 300 else 'NOT met'}); line run {info['wall_s']:.0f} s, "
              f"{info['parts']} parts, {info['parts_per_s']:.0f} parts/s")
        for kind, share in info["time_shares"].items():
            print(f"  {kind:<18} {share:6.1%} of the line run")


if __name__ == "__main__":
    main()
