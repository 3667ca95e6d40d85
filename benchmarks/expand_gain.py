"""Target-line accuracy against labelled target images: scratch, source as is, fine-tune, DANN, ADDA.

Line A and line B are the recipe's main line and its ``lines: B`` (another
lamp, light colour, camera position, scale and tilt, material colour). Per
seed, a source model is trained on line A; then for every number of
labelled line-B images each method runs through ``inspkit.maintain.adapt``
(the code ``inspkit expand`` runs) and is measured on line-B test images
that no method sees, labelled or not. The baseline, measured in the same run,
is the source model as it is; gains are printed against it.

    .venv/bin/python benchmarks/expand_gain.py                  # 3 seeds, ~40 min on 2 CPU cores
    .venv/bin/python benchmarks/expand_gain.py --seeds 1 --labels 0,20 --epochs 2   # a quick look

Writes the raw runs to ``--out`` (JSON) and a plot next to it (PNG).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.expand_report import plot, print_tables  # noqa: E402
from inspkit.maintain.adapt import AdaptConfig, AdaptData, adapt  # noqa: E402
from inspkit.maintain.adapt_nets import recalibrate_bn  # noqa: E402
from inspkit.maintain.adapt_select import goodness  # noqa: E402
from inspkit.maintain.adapt_types import Criterion, Method  # noqa: E402
from inspkit.maintain.expand import DEFAULT_LR  # noqa: E402
from inspkit.models.dataset import Tensors  # noqa: E402
from inspkit.models.engine import FitConfig, evaluate, fit  # noqa: E402
from inspkit.models.preprocess import prepare, stack_uint8  # noqa: E402
from inspkit.models.registry import create_model  # noqa: E402
from inspkit.recipe import Recipe, load_recipe  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    args = _args()
    torch.set_num_threads(args.threads)
    recipe = load_recipe(ROOT / "recipes" / f"{args.recipe}.yaml")
    labels = [int(n) for n in args.labels.split(",")]
    runs: list[dict] = []
    started = time.perf_counter()
    for k in range(args.seeds):
        runs += _one_seed(recipe, args, labels, seed=args.first_seed + k)
        _save(args.out, args, runs, time.perf_counter() - started)
    print_tables(runs, labels)
    plot(runs, labels, args.out.with_suffix(".png"))
    print(f"\nwall {time.perf_counter() - started:.0f} s; runs in {args.out}, plot in {args.out.with_suffix('.png')}")


def _args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--recipe", default="cylinder-bonding")
    p.add_argument("--line", default="B")
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--first-seed", type=int, default=1)
    p.add_argument("--labels", default="0,10,20,50,100")
    p.add_argument("--arch", default="timm:resnet18")
    p.add_argument("--image-size", type=int, default=64)
    p.add_argument("--source-images", type=int, default=600, help="line-A training images (plus 20%% validation)")
    p.add_argument("--target-images", type=int, default=320, help="unlabelled line-B images")
    p.add_argument("--test-images", type=int, default=300, help="line-B test images, seen by no method")
    p.add_argument("--source-epochs", type=int, default=15)
    p.add_argument("--epochs", type=int, default=8, help="adaptation epochs (passes over the unlabelled images)")
    p.add_argument("--scratch-epochs", type=int, default=30)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--out", type=Path, default=ROOT / "docs" / "expand_gain.json")
    return p.parse_args()


def _one_seed(recipe: Recipe, args: argparse.Namespace, labels: list[int], seed: int) -> list[dict]:
    d = _data(recipe, args, seed, max(labels))
    cfg = FitConfig(args.source_epochs, 32, recipe.train.lr, recipe.train.weight_decay, seed, "cpu")
    torch.manual_seed(seed)
    source = create_model(args.arch, num_classes=2)
    t0 = time.perf_counter()
    fit(source, d["source"], d["source_val"], cfg)
    source_s = time.perf_counter() - t0
    base = {"seed": seed, "source_s": source_s, "source_on_a": _acc(source, d["test_a"])}
    runs = [{**base, "method": "source as is", "labels": n, "accuracy": _acc(source, d["test"])} for n in labels]
    runs += [{**base, "method": "source + line-B BN statistics", "labels": n, "accuracy": _adabn(source, d)}
             for n in labels]
    print(f"seed {seed}: source model {source_s:.0f} s, line A {base['source_on_a']:.3f}, "
          f"line B {runs[0]['accuracy']:.3f}", flush=True)
    for n in labels:
        lab = Tensors(d["pool"].x[:n], d["pool"].y[:n])
        if n:
            runs.append({**base, **_scratch(args, recipe, lab, d["test"], seed), "labels": n})
        for method in (Method.FINETUNE, Method.DANN, Method.ADDA):
            if method is Method.FINETUNE and not n:
                continue
            runs.append({**base, **_adapted(source, d, lab, method, args, recipe, seed), "labels": n})
            print(f"  {method.value:8s} {n:3d} labels: {runs[-1]['accuracy']:.3f} ({runs[-1]['seconds']:.0f} s)", flush=True)
    return runs


def _data(recipe: Recipe, args: argparse.Namespace, seed: int, pool: int) -> dict[str, Tensors]:
    """Disjoint frame ranges of each line's image stream (different seeds give different frames)."""
    n_src, n_val = args.source_images, args.source_images // 5
    tgt, test = args.target_images, args.test_images
    return {
        "source": _frames(recipe, None, seed, 0, n_src, args.image_size),
        "source_val": _frames(recipe, None, seed, n_src, n_val, args.image_size),
        "test_a": _frames(recipe, None, seed, 50_000, test, args.image_size),
        "target": _frames(recipe, args.line, seed, 0, tgt, args.image_size),
        "pool": _balanced(_frames(recipe, args.line, seed, tgt, 3 * pool + 20, args.image_size), pool),
        "test": _frames(recipe, args.line, seed, 50_000, test, args.image_size),
    }


def _frames(recipe: Recipe, line: str | None, seed: int, start: int, count: int, size: int) -> Tensors:
    from simulator.camera import product_for, stream_seed
    from simulator.products import generate

    view = recipe.for_line(line)
    product, spec, roi = product_for(view), view.product, recipe.roi.to_roi()
    stream = seed if line is None else stream_seed(seed, f"line {view.line.line}")
    images, ys = [], []
    for index in range(start, start + count):
        frame = generate(product, stream, index, spec.appearance, spec.defect_rate)
        images.append(prepare(frame.image, size, roi))
        ys.append(0 if frame.label == "NG" else 1)
    return Tensors(stack_uint8(images), torch.tensor(ys, dtype=torch.int64))


def _balanced(t: Tensors, n: int) -> Tensors:
    """Alternate NG and OK so that every prefix is balanced (the first N are the N labels)."""
    ng, ok = (torch.nonzero(t.y == c).flatten().tolist() for c in (0, 1))
    order = [i for pair in zip(ng, ok) for i in pair][:n]
    assert len(order) == n, f"only {len(order)} balanced labels in the pool; raise its size"
    return Tensors(t.x[order], t.y[order])


def _acc(model: torch.nn.Module, data: Tensors) -> float:
    return evaluate(model, data, "cpu", 64).accuracy


def _adabn(source: torch.nn.Module, d: dict[str, Tensors]) -> float:
    import copy

    model = copy.deepcopy(source)
    recalibrate_bn(model, d["target"], "cpu", 64)
    return _acc(model, d["test"])


def _scratch(args: argparse.Namespace, recipe: Recipe, lab: Tensors, test: Tensors, seed: int) -> dict:
    torch.manual_seed(seed)
    model = create_model(args.arch, num_classes=2)
    empty = Tensors(lab.x[:0], lab.y[:0])
    t0 = time.perf_counter()
    fit(model, lab, empty, FitConfig(args.scratch_epochs, 32, recipe.train.lr, recipe.train.weight_decay, seed, "cpu"))
    return {"method": "scratch on line B", "accuracy": _acc(model, test), "seconds": time.perf_counter() - t0}


def _adapted(source: torch.nn.Module, d: dict[str, Tensors], lab: Tensors, method: Method,
             args: argparse.Namespace, recipe: Recipe, seed: int) -> dict:
    cfg = AdaptConfig(method, args.epochs, 32, DEFAULT_LR[method], recipe.train.weight_decay, seed, "cpu", Criterion.IM)
    data = AdaptData(d["source"], d["source_val"], d["target"], lab, d["test"])
    res = adapt(source, data, cfg)
    rows = [{"epoch": r.epoch, "accuracy": r.probe_accuracy, **r.scores} for r in res.rows]
    picks = {c.value: _pick(res.rows, c) for c in Criterion}
    chosen = next(r for r in res.rows if r.epoch == res.chosen_epoch)
    return {"method": method.value, "accuracy": chosen.probe_accuracy, "seconds": res.compute.wall_s,
            "checkpoints": rows, "picks": picks}


def _pick(rows: list, criterion: Criterion) -> int:
    if criterion is Criterion.LAST:
        return rows[-1].epoch
    best = max(rows, key=lambda r: (goodness(criterion, r.scores), -r.epoch))
    return best.epoch if goodness(criterion, best.scores) > -math.inf else 0


def _save(path: Path, args: argparse.Namespace, runs: list[dict], wall_s: float) -> None:
    settings = {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items() if k != "out"}
    settings["torch"] = torch.__version__
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"settings": settings, "wall_s": wall_s, "runs": runs}, indent=1, default=float))


if __name__ == "__main__":
    main()
