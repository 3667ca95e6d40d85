"""``inspkit update``: fine-tune on D̄(t) (Eq. 9) or re-train on D ∪ ∪ D̄(t) (Eq. 11–12), then gate.

The plan comes first and touches nothing: which failed samples are pending,
the FSR against β, and what to do. Running it trains a new model in memory,
stores it as a candidate version (atomically: a crash leaves no partial
version) and promotes it only when it is not worse than production on the
fixed test split and on the failed samples collected. Until the promotion's
one-step pointer switch the old version keeps serving.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from inspkit.data.views import training_view
from inspkit.errors import InputError
from inspkit.explain_samples import model_input
from inspkit.maintain.fsr import check_beta
from inspkit.maintain.policy import Action
from inspkit.maintain.reviews import FailedSample, ReviewStore
from inspkit.maintain.trainer import Compute, finetune, join, retrain
from inspkit.models.dataset import Tensors, load_tensors
from inspkit.models.engine import FitConfig, evaluate
from inspkit.models.inferencer import Inferencer
from inspkit.models.store import ModelStore
from inspkit.models.types import ModelMeta
from inspkit.store.workspace import Workspace

if TYPE_CHECKING:
    import torch


@dataclass(frozen=True)
class UpdatePlan:
    """What an update would do, and why.

    Attributes:
        action: finetune, retrain, or none.
        reason: One line for the user.
        fsr: |∪ D̄(t)| / |D| since the last promoted re-train (Eq. 10).
        beta: The re-train threshold β.
        pending: Failed samples no promoted update has learned from (D̄ for a fine-tune).
        accumulated: ∪ D̄(t): failed samples not yet merged into D by a re-train.
        training_size: |D|: base training images plus samples merged by re-trains.
    """

    action: Action
    reason: str
    fsr: float
    beta: float
    pending: tuple[FailedSample, ...]
    accumulated: tuple[FailedSample, ...]
    training_size: int


@dataclass(frozen=True)
class UpdateOutcome:
    """What an update did.

    Attributes:
        plan: The plan it carried out.
        version: The new version, or ``None`` for a no-op.
        parent: The production version it started from.
        promoted: Whether the new version is production now.
        reason: Why it was (not) promoted.
        accuracy: ``{"test": (old, new), "failed": (old, new)}``.
        compute: Training cost.
    """

    plan: UpdatePlan
    version: str | None = None
    parent: str | None = None
    promoted: bool = False
    reason: str = ""
    accuracy: dict[str, tuple[float, float]] | None = None
    compute: Compute | None = None


def plan_update(ws: Workspace, mode: str = "auto", beta: float | None = None) -> UpdatePlan:
    """Decide: ``auto`` re-trains when FSR > β and fine-tunes when samples are pending.

    Raises:
        InputError: an unknown mode or β out of range.
    """
    beta = ws.recipe.manage.beta if beta is None else beta
    try:
        check_beta(beta)
    except ValueError as exc:
        raise InputError(str(exc)) from None
    if mode not in ("auto", "finetune", "retrain"):
        raise InputError(f"unknown update mode {mode!r}; expected auto, finetune or retrain")
    reviews = ReviewStore(ws.conn)
    failed = reviews.failed()
    merged = reviews.used("retrain")
    accumulated = tuple(f for f in failed if f.sample_id not in merged)
    tuned = reviews.used("finetune")
    pending = tuple(f for f in accumulated if f.sample_id not in tuned)
    base = sum(1 for s in training_view(ws).train if s.source != "augment")
    size = base + len(merged)
    fsr = len(accumulated) / size if size else 0.0
    action, reason = _choose(mode, fsr, beta, pending, accumulated)
    return UpdatePlan(action, reason, fsr, beta, pending, accumulated, size)


def _choose(mode: str, fsr: float, beta: float, pending: Sequence[FailedSample],
            accumulated: Sequence[FailedSample]) -> tuple[Action, str]:
    if mode == "retrain" or (mode == "auto" and fsr > beta):
        if not accumulated:
            return Action.NONE, "nothing to re-train on: no failed samples since the last re-train"
        why = "asked for" if mode == "retrain" else f"FSR {fsr:.3f} > β {beta:g}"
        return Action.RETRAIN, f"re-train on D ∪ {len(accumulated)} failed samples ({why})"
    if not pending:
        return Action.NONE, "nothing to fine-tune on: D̄ is empty (no failed samples since the last update); review first"
    return Action.FINETUNE, f"fine-tune on {len(pending)} failed samples (FSR {fsr:.3f} ≤ β {beta:g})"


def run_update(ws: Workspace, plan: UpdatePlan, device: str) -> UpdateOutcome:
    """Carry out a plan: train, store the candidate, gate, promote, record.

    Raises:
        ModelError: no production model, or a damaged one.
        InputError: the production model is not an OK/NG classifier.
    """
    if plan.action is Action.NONE:
        return UpdateOutcome(plan, reason=plan.reason)
    inf = Inferencer.load(ws.root / "models", None, device)
    if inf.meta.task != "classify" or inf.meta.classes != ("NG", "OK"):
        raise InputError("update needs an OK/NG classifier in production")
    every_failed = ReviewStore(ws.conn).failed()
    test = load_tensors(ws, training_view(ws).test, inf.meta.input_size, inf.meta.classes)
    failed = failed_tensors(ws, inf, every_failed)
    model, compute, used = _train(ws, inf, plan, every_failed, device)
    accuracy = {"test": _pair(inf.model, model, test, device), "failed": _pair(inf.model, model, failed, device)}
    promote, why = _gate(accuracy, ws.recipe.manage.promote_tolerance)
    meta = _store(ws, inf.meta, model, plan, accuracy, compute)
    if promote:
        ModelStore(ws.root / "models").promote(meta.version)
    ReviewStore(ws.conn).add_update(plan.action.value, meta.version, inf.version, promote, why,
                                    [f.sample_id for f in used], plan.fsr, compute.cpu_s)
    return UpdateOutcome(plan, meta.version, inf.version, promote, why, accuracy, compute)


def _train(ws: Workspace, inf: Inferencer, plan: UpdatePlan, every_failed: Sequence[FailedSample],
           device: str) -> tuple["torch.nn.Module", Compute, tuple[FailedSample, ...]]:
    """Fine-tune on the pending samples, or re-train on D, the merged samples and ∪ D̄."""
    recipe, manage = ws.recipe, ws.recipe.manage
    if plan.action is Action.FINETUNE:
        cfg = FitConfig(manage.finetune_epochs, recipe.train.batch_size, manage.finetune_lr,
                        recipe.train.weight_decay, recipe.seed, device)
        model, compute = finetune(inf.model, failed_tensors(ws, inf, plan.pending), cfg)
        return model, compute, plan.pending
    base = load_tensors(ws, training_view(ws).train, inf.meta.input_size, inf.meta.classes)
    merged = ReviewStore(ws.conn).used("retrain")
    extra = [f for f in every_failed if f.sample_id in merged] + list(plan.accumulated)
    cfg = FitConfig(recipe.train.epochs, recipe.train.batch_size, recipe.train.lr,
                    recipe.train.weight_decay, recipe.seed, device)
    model, compute = retrain(inf.meta.architecture, len(inf.meta.classes),
                             join(base, failed_tensors(ws, inf, extra)), cfg)
    return model, compute, plan.accumulated


def failed_tensors(ws: Workspace, inf: Inferencer, samples: Sequence[FailedSample]) -> Tensors:
    """The model's view of failed samples with their reviewed labels."""
    import torch

    from inspkit.models.preprocess import stack_uint8

    size = inf.meta.input_size
    if not samples:
        return Tensors(torch.zeros((0, 3, size, size), dtype=torch.uint8), torch.zeros((0,), dtype=torch.int64))
    images = [model_input(inf, ws, ws.samples.get(f.sample_id)) for f in samples]
    labels = [inf.meta.classes.index(f.label) for f in samples]
    return Tensors(stack_uint8(images), torch.tensor(labels, dtype=torch.int64))


def _pair(old: "torch.nn.Module", new: "torch.nn.Module", data: Tensors, device: str) -> tuple[float, float]:
    if not len(data):
        return float("nan"), float("nan")
    return evaluate(old, data, device, 64).accuracy, evaluate(new, data, device, 64).accuracy


def _gate(accuracy: dict[str, tuple[float, float]], tolerance: float) -> tuple[bool, str]:
    """Promote only when no measured accuracy drops by more than ``tolerance``."""
    worse = [f"{name} accuracy {new:.3f} < {old:.3f}" for name, (old, new) in accuracy.items()
             if old == old and new == new and new < old - tolerance - 1e-12]
    if worse:
        return False, "kept as a candidate: " + "; ".join(worse)
    shown = ", ".join(f"{name} {old:.3f} → {new:.3f}" for name, (old, new) in accuracy.items() if old == old)
    return True, f"promoted: not worse ({shown})"


def _store(ws: Workspace, parent: ModelMeta, model: "torch.nn.Module", plan: UpdatePlan,
           accuracy: dict[str, tuple[float, float]], compute: Compute) -> ModelMeta:
    from safetensors.torch import save

    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    ids = ",".join(f"{f.sample_id}:{f.label}" for f in plan.pending + plan.accumulated)
    meta = replace(
        parent, version="", parent=parent.version, weights_file="weights.safetensors", weights_sha256="",
        metrics={**parent.metrics, "accuracy": accuracy["test"][1], "failed_accuracy": accuracy["failed"][1]},
        train_seconds=compute.wall_s, data_hash=hashlib.sha256(f"{parent.data_hash}|{ids}".encode()).hexdigest(),
        created_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        extra={**parent.extra, "update": plan.action.value, "fsr": plan.fsr, "cpu_s": compute.cpu_s,
               "samples": len(plan.pending if plan.action is Action.FINETUNE else plan.accumulated)},
    )
    return ModelStore(ws.root / "models").add(meta, {meta.weights_file: save(state)})
