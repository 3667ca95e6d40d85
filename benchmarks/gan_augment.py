"""Scarce NG images: classifier accuracy and NG recall with no, classic, GAN and both augmentations.

Per seed, a training set of ``--ng`` NG and ``--ok`` OK frames of the
recipe's main line (cropped to its ROI) is augmented four ways and a
classifier is trained on each; all four are tested on the same ``--test``
frames (about half NG) that nothing was trained on:

- none: the real images only;
- classic: ``--factor`` perspective/colour/noise children per real image
  (``inspkit.data.augment_ops``, the code ``inspkit augment`` runs);
- gan: a conditional GAN (``inspkit.models.gan``, the code ``augment --gan``
  runs) trained on the NG images adds NG images until NG = OK;
- both: the classic set plus the GAN images.

The baseline, measured in the same run, is "none"; gains are printed against
it. The GAN's fidelity and diversity are measured in the feature space of the
"none" classifier against real NG test images.

    .venv/bin/python benchmarks/gan_augment.py                      # 3 seeds
    .venv/bin/python benchmarks/gan_augment.py --seeds 1 --gan-steps 50 --epochs 1   # a quick look
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from inspkit.data.augment_ops import OPS, augment  # noqa: E402
from inspkit.data.crop import crop_array  # noqa: E402
from inspkit.models.dataset import Tensors  # noqa: E402
from inspkit.models.engine import FitConfig, fit, predict_probs  # noqa: E402
from inspkit.models.features import embed  # noqa: E402
from inspkit.models.gan import GanConfig, generate, train_gan  # noqa: E402
from inspkit.models.preprocess import prepare, stack_uint8  # noqa: E402
from inspkit.models.registry import create_model  # noqa: E402
from inspkit.recipe import Recipe, load_recipe  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
CONDITIONS = ("none", "classic", "gan", "both")


def main() -> None:
    args = _args()
    torch.set_num_threads(args.threads)
    recipe = load_recipe(ROOT / "recipes" / f"{args.recipe}.yaml")
    runs: list[dict] = []
    started = time.perf_counter()
    for k in range(args.seeds):
        runs += _one_seed(recipe, args, args.first_seed + k)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        settings = {key: str(v) if isinstance(v, Path) else v for key, v in vars(args).items() if key != "out"}
        args.out.write_text(json.dumps({"settings": settings, "runs": runs}, indent=1, default=float))
    _report(runs)
    print(f"\nwall {time.perf_counter() - started:.0f} s; runs in {args.out}")


def _args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--recipe", default="cylinder-bonding")
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--first-seed", type=int, default=1)
    p.add_argument("--ng", type=int, default=15, help="real NG training images")
    p.add_argument("--ok", type=int, default=150, help="real OK training images")
    p.add_argument("--test", type=int, default=400)
    p.add_argument("--image-size", type=int, default=64)
    p.add_argument("--arch", default="timm:resnet18")
    p.add_argument("--epochs", type=int, default=12)
    p.add_argument("--factor", type=int, default=4, help="classic children per real image")
    p.add_argument("--gan-steps", type=int, default=1000)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--out", type=Path, default=ROOT / "docs" / "gan_augment.json")
    return p.parse_args()


def _one_seed(recipe: Recipe, args: argparse.Namespace, seed: int) -> list[dict]:
    crops, labels, types = _real(recipe, seed, args.ng, args.ok)
    test = _test(recipe, seed, args.test, args.image_size)
    real = _tensors([prepare(c, args.image_size) for c in crops], labels)
    classic = _classic(recipe, crops, labels, args, seed)
    ng_types = sorted({t for t, y in zip(types, labels) if y == 0})
    ng = [i for i, y in enumerate(labels) if y == 0]
    t0 = time.perf_counter()
    cond = torch.tensor([ng_types.index(types[i]) for i in ng])
    gan = train_gan(real.x[ng], cond, len(ng_types), GanConfig(steps=args.gan_steps, seed=seed))
    gan_s = time.perf_counter() - t0
    wanted = torch.arange(args.ok - args.ng) % len(ng_types)
    made = Tensors(generate(gan.generator, wanted, seed, "cpu"), torch.zeros(len(wanted), dtype=torch.int64))
    sets = {"none": real, "classic": classic, "gan": _join(real, made), "both": _join(classic, made)}
    runs, none_model = [], None
    for name in CONDITIONS:
        model, seconds = _train(args, recipe, sets[name], seed)
        none_model = model if name == "none" else none_model
        runs.append({"seed": seed, "condition": name, "train_images": len(sets[name]), "seconds": seconds,
                     **_scores(model, test)})
        print(f"seed {seed} {name:8s} acc {runs[-1]['accuracy']:.3f} NG recall {runs[-1]['ng_recall']:.3f} "
              f"({len(sets[name])} images, {seconds:.0f} s)", flush=True)
    quality = _quality(none_model, made, real.x[ng], test)
    for r in runs:
        r.update(gan_s=gan_s, **quality)
    print(f"seed {seed} GAN {gan_s:.0f} s; fidelity {quality['fidelity']:.2f}, diversity {quality['diversity']:.2f}")
    return runs


def _real(recipe: Recipe, seed: int, n_ng: int, n_ok: int) -> tuple[list[np.ndarray], list[int], list[str]]:
    """The first ``n_ng`` NG and ``n_ok`` OK frames of the line's stream, as ROI crops."""
    from simulator.camera import product_for
    from simulator.products import generate as frame

    product, spec, roi = product_for(recipe), recipe.product, recipe.roi.to_roi()
    crops, labels, types, index = [], [], [], 0
    while labels.count(0) < n_ng or labels.count(1) < n_ok:
        f = frame(product, seed, index, spec.appearance, spec.defect_rate)
        index += 1
        y = 0 if f.label == "NG" else 1
        if (y == 0 and labels.count(0) < n_ng) or (y == 1 and labels.count(1) < n_ok):
            crops.append(crop_array(f.image, roi))
            labels.append(y)
            types.append(f.defect_type or "")
    return crops, labels, types


def _test(recipe: Recipe, seed: int, count: int, size: int) -> Tensors:
    from simulator.camera import product_for
    from simulator.products import generate as frame

    product, spec, roi = product_for(recipe), recipe.product, recipe.roi.to_roi()
    frames = [frame(product, seed, 50_000 + i, spec.appearance, spec.defect_rate) for i in range(count)]
    return _tensors([prepare(f.image, size, roi) for f in frames], [0 if f.label == "NG" else 1 for f in frames])


def _classic(recipe: Recipe, crops: list[np.ndarray], labels: list[int], args: argparse.Namespace, seed: int) -> Tensors:
    images, ys = [prepare(c, args.image_size) for c in crops], list(labels)
    for i, (crop, y) in enumerate(zip(crops, labels)):
        for k in range(args.factor):
            aug = augment(crop, (), OPS, recipe.augment, np.random.default_rng([seed, i, k]))
            images.append(prepare(aug.image, args.image_size))
            ys.append(y)
    return _tensors(images, ys)


def _tensors(images: list[np.ndarray], labels: list[int]) -> Tensors:
    return Tensors(stack_uint8(images), torch.tensor(labels, dtype=torch.int64))


def _join(a: Tensors, b: Tensors) -> Tensors:
    return Tensors(torch.cat([a.x, b.x]), torch.cat([a.y, b.y]))


def _train(args: argparse.Namespace, recipe: Recipe, data: Tensors, seed: int) -> tuple[torch.nn.Module, float]:
    torch.manual_seed(seed)
    model = create_model(args.arch, num_classes=2)
    empty = Tensors(data.x[:0], data.y[:0])
    t0 = time.perf_counter()
    fit(model, data, empty, FitConfig(args.epochs, 32, recipe.train.lr, recipe.train.weight_decay, seed, "cpu"))
    return model, time.perf_counter() - t0


def _scores(model: torch.nn.Module, test: Tensors) -> dict[str, float]:
    pred = predict_probs(model, test.x, "cpu", 64).argmax(1)
    y = test.y.numpy()
    return {"accuracy": float((pred == y).mean()), "ng_recall": float((pred[y == 0] == 0).mean()),
            "ok_recall": float((pred[y == 1] == 1).mean())}


def _quality(model: torch.nn.Module, made: Tensors, real_ng: torch.Tensor, test: Tensors) -> dict[str, float]:
    """The CLI's fidelity and diversity, with the "none" classifier's features."""
    from inspkit.models.gan_quality import fidelity_diversity

    held = test.x[test.y == 0]
    f = {k: embed(model, v, "cpu", 64).numpy() for k, v in (("made", made.x), ("real", real_ng), ("held", held))}
    fidelity, diversity = fidelity_diversity(f["made"], f["real"], f["held"])
    return {"fidelity": fidelity, "diversity": diversity}


def _report(runs: list[dict]) -> None:
    seeds = sorted({r["seed"] for r in runs})
    print(f"\nTest accuracy and NG recall, mean ± std over {len(seeds)} seeds\n")
    print("| augmentation | training images | accuracy | NG recall | OK recall | accuracy gain over none |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    base = {r["seed"]: r["accuracy"] for r in runs if r["condition"] == "none"}
    for name in CONDITIONS:
        rs = [r for r in runs if r["condition"] == name]
        cell = {k: f"{np.mean([r[k] for r in rs]):.3f} ± {np.std([r[k] for r in rs]):.3f}"
                for k in ("accuracy", "ng_recall", "ok_recall")}
        gain = [100 * (r["accuracy"] - base[r["seed"]]) for r in rs]
        print(f"| {name} | {rs[0]['train_images']} | {cell['accuracy']} | {cell['ng_recall']} | {cell['ok_recall']} | "
              f"{np.mean(gain):+.1f} ± {np.std(gain):.1f} points |")
    first = [r for r in runs if r["condition"] == "none"]
    print(f"\nGAN: {np.mean([r['gan_s'] for r in first]):.0f} s to train; fidelity "
          f"{np.mean([r['fidelity'] for r in first]):.2f} ± {np.std([r['fidelity'] for r in first]):.2f}, diversity "
          f"{np.mean([r['diversity'] for r in first]):.2f} ± {np.std([r['diversity'] for r in first]):.2f} (1 = like real)")
    ratio = np.mean([r["gan_s"] / r["seconds"] for r in first])
    print(f"GAN training took {ratio:.1f}x the time of training the 'none' classifier in the same seed")


if __name__ == "__main__":
    main()
