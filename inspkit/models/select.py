"""``train``: split, train every candidate, choose the best that fits the cycle time, store it.

The paper weighs accuracy against the line's cycle time (3.1.3): a model whose
p99 latency at batch 1 exceeds ``line.cycle_time_ms`` cannot inspect every
part, however accurate it is.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from inspkit.data.splits import SplitReport, assign_splits
from inspkit.data.views import TrainingView, crop_roi, training_view
from inspkit.errors import InputError
from inspkit.models.candidates import CandidateRow, RunSettings, run_classifier, run_detector
from inspkit.models.dataset import class_names, data_hash, load_tensors
from inspkit.models.registry import model_entry
from inspkit.models.store import ModelStore
from inspkit.models.table import write_tables
from inspkit.models.types import ModelMeta
from inspkit.recipe import Recipe, Task, dump_recipe
from inspkit.store.atomic import atomic_write_text
from inspkit.store.workspace import Workspace

Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class TrainRequest:
    """What to train.

    Attributes:
        recipe: The resolved recipe (task, candidates, training settings).
        device: ``cpu`` or ``cuda``.
        weights: Optional local initial weights for every candidate.
    """

    recipe: Recipe
    device: str
    weights: Path | None = None


@dataclass
class Selection:
    """The outcome of a training run.

    Attributes:
        rows: One per candidate, in the order given.
        chosen: The candidate stored, ``None`` when none fits the budget.
        meta: The stored version's metadata.
        promoted: True when it became production (there was none before).
        run_dir: Where the table and settings were saved.
        splits: Raw frames per split.
        budget_ms: The cycle-time budget p99 was held against.
        task: classify or detect.
        device: Where latency was measured.
        threads: torch CPU threads during the run (latency depends on them).
    """

    rows: list[CandidateRow] = field(default_factory=list)
    chosen: str | None = None
    meta: ModelMeta | None = None
    promoted: bool = False
    run_dir: Path | None = None
    splits: SplitReport | None = None
    budget_ms: float = 0.0
    task: str = "classify"
    device: str = "cpu"
    threads: int = 0


def train_and_select(ws: Workspace, req: TrainRequest, progress: Progress) -> Selection:
    """Split, train all candidates, pick the best that fits, store (and maybe promote) it.

    Raises:
        InputError: bad candidates, too little data, or a split left empty.
    """
    import torch

    recipe = req.recipe
    _check_candidates(recipe)
    if req.weights is not None and not req.weights.is_file():
        raise InputError(f"--weights {req.weights} not found; give a local safetensors or .pt file")
    splits = assign_splits(ws, recipe.train.val_fraction, recipe.train.test_fraction, recipe.seed)
    view = training_view(ws)
    if not view.train or not view.test:
        raise InputError("the train or test split is empty; label more frames or change train.*_fraction")
    classes = class_names(recipe)
    run_dir = ws.root / "runs" / f"train-{datetime.now(timezone.utc):%Y%m%d-%H%M%S-%f}"
    run_dir.mkdir(parents=True)
    cfg = _settings(recipe, req, run_dir)
    data = _data(ws, view, classes, recipe, run_dir, progress)
    runner = run_detector if recipe.task is Task.DETECT else run_classifier
    sel = Selection(splits=splits, run_dir=run_dir, budget_ms=cfg.budget_ms, task=recipe.task.value,
                    device=req.device, threads=torch.get_num_threads())
    for i, name in enumerate(recipe.train.candidates):
        progress("candidate", i, len(recipe.train.candidates))
        sel.rows.append(runner(name, data, classes, cfg, progress))
    progress("candidate", len(recipe.train.candidates), len(recipe.train.candidates))
    write_tables(run_dir, sel.rows, recipe.task.value, cfg.budget_ms)
    atomic_write_text(run_dir / "inspkit.yaml", dump_recipe(recipe))
    _store_best(ws, sel, recipe, view, classes)
    return sel


def _check_candidates(recipe: Recipe) -> None:
    """Refuse unknown names, the wrong task and input sizes a model cannot take — before anything is written."""
    from inspkit.models.registry import check_input_size, create_model

    for name in recipe.train.candidates:
        entry = model_entry(name)
        if entry.task != recipe.task.value:
            raise InputError(
                f"{name} is a {entry.task} model but the task is {recipe.task.value}; "
                f"give {'yolo:' if recipe.task is Task.DETECT else 'timm:'}… candidates or change --task"
            )
        if entry.task == "classify":
            check_input_size(create_model(name, num_classes=2), name, recipe.image_size)


def _settings(recipe: Recipe, req: TrainRequest, run_dir: Path) -> RunSettings:
    t = recipe.train
    return RunSettings(
        seeds=tuple(recipe.seed + k for k in range(t.repeats)), epochs=t.epochs, batch_size=t.batch_size,
        lr=t.lr, weight_decay=t.weight_decay, device=req.device, input_size=recipe.image_size,
        latency_runs=t.latency_runs, budget_ms=recipe.line.cycle_time_ms, weights=req.weights,
        work_dir=run_dir,
    )


def _data(ws: Workspace, view: TrainingView, classes: tuple[str, ...], recipe: Recipe,
          run_dir: Path, progress: Progress) -> dict[str, Any]:
    if recipe.task is Task.DETECT:
        return _detector_data(ws, view, classes, recipe, run_dir)
    total = len(view.train) + len(view.val) + len(view.test)
    done = [0]

    def step(n: int) -> None:
        done[0] += n
        progress("load", done[0], total)

    return {name: load_tensors(ws, view.split(name), recipe.image_size, classes, step)
            for name in ("train", "val", "test")}


def _detector_data(ws: Workspace, view: TrainingView, classes: tuple[str, ...], recipe: Recipe,
                   run_dir: Path) -> dict[str, Any]:
    from inspkit.data.imageio import read_image
    from inspkit.models.yolo import YoloItem, write_dataset

    items = [YoloItem(ws.path(s.image_path), s.boxes, name)
             for name in ("train", "val", "test") for s in view.split(name)]
    return {
        "yaml": write_dataset(run_dir / "yolo-data", items, list(recipe.taxonomy)),
        "test_images": [read_image(ws.path(s.image_path)) for s in view.test],
        "test_labels": [s.label for s in view.test],
        "box_confidence": recipe.train.box_confidence,
    }


def choose(rows: list[CandidateRow], task: str) -> CandidateRow | None:
    """The most accurate candidate whose p99 fits (ties: AUROC / mAP50, then p99)."""
    second = "map50" if task == "detect" else "auroc"

    def key(row: CandidateRow) -> tuple[float, float, float]:
        acc, other = row.mean("accuracy"), row.mean(second)
        return (_num(acc), _num(other), -row.cost.p99_ms)

    fitting = [r for r in rows if r.fits and r.runs]
    return max(fitting, key=key) if fitting else None


def _num(x: float) -> float:
    return -1.0 if math.isnan(x) else x


def _store_best(ws: Workspace, sel: Selection, recipe: Recipe, view: TrainingView, classes: tuple[str, ...]) -> None:
    best = choose(sel.rows, sel.task)
    if best is None:
        return
    run = best.best_run()
    roi = crop_roi(view.test or view.train)
    meta = ModelMeta(
        version="", task=sel.task, architecture=best.name, input_size=recipe.image_size, classes=classes,
        roi=roi, thresholds={"ok": recipe.train.ok_threshold, "box": recipe.train.box_confidence},
        metrics={**run.metrics, "p50_ms": best.cost.p50_ms, "p99_ms": best.cost.p99_ms,
                 "gflops": best.cost.gflops, "params": float(best.cost.params)},
        train_seconds=run.seconds, data_hash=data_hash({"train": view.train, "val": view.val, "test": view.test}),
        parent=None, created_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        weights_file="weights.safetensors" if sel.task == "classify" else "weights.pt", weights_sha256="",
        extra={"seed": run.seed, "epochs": recipe.train.epochs, "recipe": recipe.name, "run": sel.run_dir.name,
               "latency_device": sel.device, "torch_threads": sel.threads},
    )
    files = {meta.weights_file: run.weights, "table.md": sel.run_dir / "table.md", "table.csv": sel.run_dir / "table.csv"}
    store = ModelStore(ws.root / "models")
    sel.meta = store.add(meta, files)
    sel.chosen = best.name
    if store.production() is None:
        store.promote(sel.meta.version)
        sel.promoted = True
