"""Tables and a plot for ``expand_gain.py``'s runs (kept apart so the runs can be re-reported)."""

from __future__ import annotations

import json
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

METHODS = ("scratch on line B", "source as is", "source + line-B BN statistics", "finetune", "dann", "adda")
ADAPTED = ("finetune", "dann", "adda")


def _by(runs: list[dict]) -> dict[tuple[str, int], list[float]]:
    out: dict[tuple[str, int], list[float]] = defaultdict(list)
    for r in runs:
        out[(r["method"], r["labels"])].append(r["accuracy"])
    return out


def print_tables(runs: list[dict], labels: list[int]) -> None:
    """Accuracy, gain over the source model, how well each criterion picks, and cost."""
    seeds = sorted({r["seed"] for r in runs})
    acc = _by(runs)
    print(f"\nLine-B test accuracy, mean ± std over {len(seeds)} seeds (checkpoint chosen by im)\n")
    print("| method | " + " | ".join(f"{n} labels" for n in labels) + " |")
    print("| --- |" + " ---: |" * len(labels))
    for m in METHODS:
        cells = [_cell(acc.get((m, n))) for n in labels]
        print(f"| {m} | " + " | ".join(cells) + " |")
    print("\nGain over the source model as is (same seed), accuracy points, mean ± std\n")
    print("| method | " + " | ".join(f"{n} labels" for n in labels) + " |")
    print("| --- |" + " ---: |" * len(labels))
    base = {(r["seed"], r["labels"]): r["accuracy"] for r in runs if r["method"] == "source as is"}
    for m in METHODS[2:]:
        cells = []
        for n in labels:
            d = [100 * (r["accuracy"] - base[(r["seed"], n)]) for r in runs if r["method"] == m and r["labels"] == n]
            cells.append(f"{np.mean(d):+.1f} ± {np.std(d):.1f}" if d else "—")
        print(f"| {m} | " + " | ".join(cells) + " |")
    _selection(runs)
    _cost(runs)


def _cell(values: list[float] | None) -> str:
    return f"{np.mean(values):.3f} ± {np.std(values):.3f}" if values else "—"


def _selection(runs: list[dict]) -> None:
    adapted = [r for r in runs if r["method"] in ADAPTED]
    if not adapted:
        return
    print(f"\nHow well each criterion picks the checkpoint ({len(adapted)} adaptation runs; "
          "best = the checkpoint with the highest test accuracy, known only to the benchmark)\n")
    print("| criterion | mean test accuracy of its pick | mean loss against the best | picks within 1 point of the best |")
    print("| --- | ---: | ---: | ---: |")
    for crit in adapted[0]["picks"]:
        chosen, regret = [], []
        for r in adapted:
            accs = {c["epoch"]: c["accuracy"] for c in r["checkpoints"]}
            chosen.append(accs[r["picks"][crit]])
            regret.append(100 * (max(accs.values()) - accs[r["picks"][crit]]))
        near = sum(x <= 1.0 for x in regret)
        print(f"| {crit} | {np.mean(chosen):.3f} | {np.mean(regret):.1f} points | {near} of {len(regret)} |")
    best = [max(c["accuracy"] for c in r["checkpoints"]) for r in adapted]
    start = [r["checkpoints"][0]["accuracy"] for r in adapted]
    print(f"| (best checkpoint) | {np.mean(best):.3f} | 0 | — |")
    print(f"| (epoch 0: the starting model) | {np.mean(start):.3f} | "
          f"{np.mean([100 * (b - s) for b, s in zip(best, start)]):.1f} points | — |")


def _cost(runs: list[dict]) -> None:
    print("\nWall time per run against training the source model in the same seed (ratio, mean)\n")
    print("| method | ratio |")
    print("| --- | ---: |")
    for m in ("scratch on line B",) + ADAPTED:
        ratios = [r["seconds"] / r["source_s"] for r in runs if r["method"] == m]
        if ratios:
            print(f"| {m} | {np.mean(ratios):.2f} |")


def plot(runs: list[dict], labels: list[int], path: Path) -> None:
    """Accuracy against labelled line-B images, one line per method, ± std as a band."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    acc = _by(runs)
    fig = Figure(figsize=(7, 4.2), dpi=110)
    ax = fig.subplots()
    for m in METHODS:
        xs = [n for n in labels if acc.get((m, n))]
        if not xs:
            continue
        mean = np.array([np.mean(acc[(m, n)]) for n in xs])
        std = np.array([np.std(acc[(m, n)]) for n in xs])
        ax.plot(xs, mean, marker="o", label=m)
        ax.fill_between(xs, mean - std, mean + std, alpha=0.15)
    ax.set_xlabel("labelled line-B images")
    ax.set_ylabel("line-B test accuracy")
    ax.set_title("Moving line A's model to line B")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    fig.savefig(path)


if __name__ == "__main__":  # re-report a saved run: python benchmarks/expand_report.py docs/expand_gain.json
    saved = json.loads(Path(sys.argv[1]).read_text())
    ns = sorted({r["labels"] for r in saved["runs"]})
    print_tables(saved["runs"], ns)
    plot(saved["runs"], ns, Path(sys.argv[1]).with_suffix(".png"))
