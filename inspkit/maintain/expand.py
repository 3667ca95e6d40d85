"""``inspkit expand``: a model of line A becomes a new version in line B's workspace.

Everything is checked before anything is trained or written: the source
version exists and is a classifier whose features can be adapted, both lines
have the same classes and defect taxonomy, the model's input size is line B's
``image_size``, both lines give the model the same kind of image (ROI crops
or whole frames), and line B has images (and as many labels as asked for).
The new version is stored atomically with its lineage (source workspace,
version and line); it becomes production only when line B has none yet.

Line B's labelled images beyond the ``--labels N`` learned from are measured
on, so the report can say how well the unsupervised criterion picked. They
are among the unlabelled images the adaptation sees (the usual protocol in
domain adaptation): the figure shows how the model does on line B's parts, not
on parts it has never seen.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from inspkit.data.views import crop_roi
from inspkit.errors import InputError
from inspkit.maintain.adapt import AdaptConfig, AdaptData, AdaptResult, adapt
from inspkit.maintain.adapt_nets import check_splittable
from inspkit.maintain.adapt_types import Criterion, Method
from inspkit.maintain.expand_check import Plan, make_plan
from inspkit.models.dataset import Tensors, data_hash, load_images, load_tensors
from inspkit.models.engine import evaluate
from inspkit.models.store import ModelStore
from inspkit.models.types import ModelMeta
from inspkit.store.atomic import atomic_write_text
from inspkit.store.workspace import Workspace

Progress = Callable[[str, int, int], None]

# Learning rates from a probe on the simulated lines (docs/RESULTS.md): 1e-3
# made DANN and fine-tuning from a trained model diverge; ADDA's adversarial
# target encoder needs a smaller step still.
DEFAULT_LR = {Method.FINETUNE: 3e-4, Method.DANN: 3e-4, Method.ADDA: 1e-4}


@dataclass(frozen=True)
class SourceRef:
    """``WS_A[:VERSION]``: a workspace and a version in its store (``None``: production)."""

    workspace: Path
    version: str | None = None


def parse_source(text: str) -> SourceRef:
    """``path`` or ``path:vNNNN``; a colon not followed by a version id belongs to the path."""
    head, sep, tail = text.rpartition(":")
    if sep and head and tail[:1] == "v" and tail[1:].isdigit():
        return SourceRef(Path(head), tail)
    return SourceRef(Path(text))


@dataclass(frozen=True)
class ExpandRequest:
    """What to expand, and how.

    Attributes:
        source: Line A's workspace and version.
        method: finetune, dann or adda.
        labels: Labelled line-B images to learn from (0: none).
        criterion: How the checkpoint to keep is chosen.
        epochs: Epochs (passes over line B's images).
        device: ``cpu`` or ``cuda``.
        lr: Learning rate (``None``: the method's default).
        batch_size: Images per domain per step (``None``: line B's recipe).
        seed: Seed (``None``: line B's recipe).
    """

    source: SourceRef
    method: Method
    labels: int
    criterion: Criterion
    epochs: int
    device: str
    lr: float | None = None
    batch_size: int | None = None
    seed: int | None = None


@dataclass(frozen=True)
class ExpandOutcome:
    """What an expansion did.

    Attributes:
        meta: The new version in line B's store.
        promoted: Whether it became line B's production model.
        source_version: The line-A version it started from.
        counts: Images used: source, source_val, target, labelled, probe.
        result: Checkpoints, the chosen epoch and the compute spent.
        source_probe_accuracy: The line-A model as it is, on the probe images (NaN without them).
        run_dir: Where the checkpoint table was written.
    """

    meta: ModelMeta
    promoted: bool
    source_version: str
    counts: dict[str, int]
    result: AdaptResult
    source_probe_accuracy: float
    run_dir: Path


def expand(target: Workspace, req: ExpandRequest, progress: Progress) -> ExpandOutcome:
    """Adapt line A's model to line B and store it in ``target``'s model store.

    Raises:
        InputError, LabelError, ModelError, WorkspaceError: bad input; nothing was written.
    """
    from inspkit.models.inferencer import Inferencer

    with _open_source(req.source, target) as source:
        plan = make_plan(source, target, req)
        inf = Inferencer.load(source.root / "models", plan.source_version, req.device)
        check_splittable(inf.model, plan.meta.architecture)
        data = _load(source, target, plan, progress)
    cfg = _config(target, req)
    result = adapt(inf.model, data, cfg, lambda epoch, row: progress("epoch", epoch, cfg.epochs))
    before = evaluate(inf.model, data.probe, req.device, cfg.batch_size).accuracy if len(data.probe) else float("nan")
    table = checkpoint_csv(result, cfg.criterion)
    meta = _store(target, plan, result, cfg, req, before, table)
    run_dir = _write_run(target, meta.version, table)
    store = ModelStore(target.root / "models")
    promoted = store.production() is None
    if promoted:
        store.promote(meta.version)
    counts = {name: len(getattr(data, name)) for name in ("source", "source_val", "target", "labelled", "probe")}
    return ExpandOutcome(meta, promoted, plan.source_version, counts, result, before, run_dir)


def _open_source(ref: SourceRef, target: Workspace) -> Workspace:
    if ref.workspace.resolve() == target.root.resolve():
        raise InputError("--from and --to are the same workspace; expand moves a model to another line's workspace")
    return Workspace.open(ref.workspace)


def _config(target: Workspace, req: ExpandRequest) -> AdaptConfig:
    t = target.recipe.train
    return AdaptConfig(
        req.method, req.epochs, req.batch_size or t.batch_size, req.lr or DEFAULT_LR[req.method],
        t.weight_decay, target.recipe.seed if req.seed is None else req.seed, req.device, req.criterion,
    )


def _load(source: Workspace, target: Workspace, plan: Plan, progress: Progress) -> AdaptData:
    size, classes = plan.meta.input_size, plan.meta.classes
    total = len(plan.source_train) + len(plan.source_val) + len(plan.target) + len(plan.labelled) + len(plan.probe)
    done = [0]

    def step(n: int) -> None:
        done[0] += n
        progress("load", done[0], total)

    src = load_tensors(source, plan.source_train, size, classes, step)
    val = load_tensors(source, plan.source_val, size, classes, step)
    images = load_images(target, plan.target, size, step)
    unlabelled = Tensors(images, _no_labels(len(plan.target)))
    return AdaptData(src, val, unlabelled, load_tensors(target, plan.labelled, size, classes, step),
                     load_tensors(target, plan.probe, size, classes, step))


def _no_labels(n: int) -> Any:
    import torch

    return torch.full((n,), -1, dtype=torch.int64)


def _write_run(target: Workspace, version: str, table: str) -> Path:
    run_dir = target.root / "runs" / f"expand-{version}"
    run_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_text(run_dir / "checkpoints.csv", table)
    return run_dir


def checkpoint_csv(result: AdaptResult, criterion: Criterion) -> str:
    """Every checkpoint's criterion values and probe accuracy, the chosen one marked."""
    lines = ["epoch,im,entropy,dev,probe_accuracy,chosen"]
    for row in result.rows:
        s = row.scores
        lines.append(f"{row.epoch},{s['im']:.6f},{s['entropy']:.6f},{s['dev']:.6f},{row.probe_accuracy:.6f},"
                     f"{int(row.epoch == result.chosen_epoch)}")
    return "\n".join(lines) + "\n"


def _store(target: Workspace, plan: Plan, result: AdaptResult, cfg: AdaptConfig, req: ExpandRequest,
           before: float, table: str) -> ModelMeta:
    from safetensors.torch import save

    state = {k: v.detach().cpu().contiguous() for k, v in result.model.state_dict().items()}
    chosen = next(r for r in result.rows if r.epoch == result.chosen_epoch)
    metrics = {"target_accuracy": chosen.probe_accuracy, "source_model_target_accuracy": before}
    src = plan.meta
    meta = ModelMeta(
        version="", task=src.task, architecture=src.architecture, input_size=src.input_size, classes=src.classes,
        roi=crop_roi(plan.target), thresholds=dict(src.thresholds), metrics={k: v for k, v in metrics.items() if v == v},
        train_seconds=result.compute.wall_s, data_hash=_hash(plan), parent=None,
        created_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        weights_file="weights.safetensors", weights_sha256="",
        extra={"expanded_from": {"workspace": str(req.source.workspace.resolve()), "version": plan.source_version,
                                 "line": plan.source_line, "data_hash": src.data_hash},
               "method": cfg.method.value, "labels": len(plan.labelled), "criterion": cfg.criterion.value,
               "chosen_epoch": result.chosen_epoch, "epochs": cfg.epochs, "lr": cfg.lr, "seed": cfg.seed,
               "cpu_s": result.compute.cpu_s},
    )
    files = {meta.weights_file: save(state), "checkpoints.csv": table.encode()}
    return ModelStore(target.root / "models").add(meta, files)


def _hash(plan: Plan) -> str:
    digest = data_hash({"source": plan.source_train, "labelled": plan.labelled})
    unlabelled = "".join(sorted(s.content_hash for s in plan.target))
    return hashlib.sha256(f"{digest}|{unlabelled}".encode()).hexdigest()

