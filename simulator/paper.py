"""The paper's comparison of update policies (section 5.3, Fig. 10) on simulated data.

One initial model is trained once and copied to every policy. Each tick (15
days) the policy's model predicts the slot's new samples; the unreliable ones
(Eq. 5) go to the simulated reviewer, whose failed samples form D̄(t); the
policy then fine-tunes on D̄(t) (Eq. 9), re-trains on D ∪ ∪D̄(t) (Eq. 11–12) or
does nothing. Accuracy on a fixed test set and on the tick's current parts, the
FSR and the compute of every update are recorded per tick and policy.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from inspkit.maintain.fsr import FailedSamples
from inspkit.maintain.policy import Action, Policy, UpdateState
from inspkit.maintain.replay import Reservoir
from inspkit.maintain.trainer import ZERO, Compute, finetune, join, retrain
from inspkit.maintain.uncertain import unreliable
from inspkit.models.dataset import Tensors
from inspkit.models.engine import FitConfig, evaluate, predict_probs
from inspkit.recipe import Recipe
from inspkit.recipe_line import ManageSpec
from simulator.paper_data import CLASSES, PaperData, ProtocolSpec, TickData, make_data
from simulator.reviewer import Reviewer, ReviewItem, ReviewOutcome

if TYPE_CHECKING:
    import torch

#: ``on_progress(steps_done, note)``: one step per data set, the initial model, and each tick of each policy.
Progress = Callable[[int, str], None]


@dataclass(frozen=True)
class TickRecord:
    """One policy at one tick, after its update.

    Attributes:
        tick: Slot t (1-based). day: The tick's day.
        policy: Policy name. action: none, finetune or retrain.
        fsr: FSR including D̄(t), the number the policy decided on (Eq. 10).
        reviewed: Unreliable samples the reviewer checked. failed: |D̄(t)|.
        train_size: |D| after the update.
        test_accuracy: On the fixed test set from the set-up months.
        current_accuracy: On parts of the tick's day.
        cpu_s: Process CPU seconds of the update. wall_s: Its wall seconds.
    """

    tick: int
    day: float
    policy: str
    action: str
    fsr: float
    reviewed: int
    failed: int
    train_size: int
    test_accuracy: float
    current_accuracy: float
    cpu_s: float
    wall_s: float


@dataclass(frozen=True)
class PaperResult:
    """A whole comparison.

    Attributes:
        spec: The protocol. manage: The managing-stage settings used.
        policies: Policy names in the order run.
        rows: One record per tick and policy (policy-major).
        initial_compute: The initial training. initial_test_accuracy: Its test accuracy.
        initial_current_accuracy: Its accuracy on the first tick's current parts.
        data_s: Wall seconds to draw and prepare the images. wall_s: Of the whole run.
    """

    spec: ProtocolSpec
    manage: ManageSpec
    policies: tuple[str, ...]
    rows: tuple[TickRecord, ...]
    initial_compute: Compute
    initial_test_accuracy: float
    initial_current_accuracy: float
    data_s: float
    wall_s: float


def total_steps(spec: ProtocolSpec, policies: int) -> int:
    """Progress steps of a run: data sets (2 + ticks), the initial model, ticks x policies."""
    return 2 + spec.ticks + 1 + spec.ticks * policies


def run_protocol(recipe: Recipe, spec: ProtocolSpec, policies: Sequence[Policy], device: str,
                 on_progress: Progress | None = None) -> PaperResult:
    """Run every policy over the same data from the same initial model."""
    import torch

    threads = torch.get_num_threads()
    if spec.cpu_threads and device == "cpu":
        torch.set_num_threads(spec.cpu_threads)
    try:
        return _run(recipe, spec, policies, device, on_progress or (lambda n, note: None))
    finally:
        torch.set_num_threads(threads)


def _run(recipe: Recipe, spec: ProtocolSpec, policies: Sequence[Policy], device: str,
         step: Progress) -> PaperResult:
    started = time.perf_counter()
    data = make_data(recipe, spec, lambda n: step(n, "drawing images"))
    data_s = time.perf_counter() - started
    model, compute = retrain(spec.model, len(CLASSES), data.initial, _fit(spec, device))
    first = _accuracies(model, data, data.ticks[0] if data.ticks else None, spec, device)
    step(1, f"initial model: test {first[0]:.1%}")
    rows: list[TickRecord] = []
    for policy in policies:
        learner = _Learner(policy, model, data.initial, spec, recipe.manage, device)
        for tick in data.ticks:
            rows.append(learner.step(tick, data))
            step(1, f"{policy.name} day {tick.day:.0f}: test {rows[-1].test_accuracy:.1%}")
    return PaperResult(spec, recipe.manage, tuple(p.name for p in policies), tuple(rows), compute,
                       first[0], first[1], data_s, time.perf_counter() - started)


def _fit(spec: ProtocolSpec, device: str, epochs: int | None = None, lr: float | None = None) -> FitConfig:
    return FitConfig(epochs or spec.epochs, spec.batch_size, lr or spec.lr, 1e-4, spec.seed, device)


def _accuracies(model: torch.nn.Module, data: PaperData, tick: TickData | None,
                spec: ProtocolSpec, device: str) -> tuple[float, float]:
    """(fixed test accuracy, current-parts accuracy) of ``model``."""
    test = evaluate(model, data.test, device, 128).accuracy
    current = evaluate(model, tick.current, device, 128).accuracy if tick else float("nan")
    return test, current


class _Learner:
    """One policy's model, training set D, failed samples and reservoir across the ticks."""

    def __init__(self, policy: Policy, model: torch.nn.Module, initial: Tensors, spec: ProtocolSpec,
                 manage: ManageSpec, device: str) -> None:
        self.policy, self.spec, self.manage, self.device = policy, spec, manage, device
        self.model = copy.deepcopy(model)
        self.train = initial
        self.failed = FailedSamples(slot_days=spec.tick_days)
        self.pool: dict[str, tuple[torch.Tensor, int]] = {}  # ∪D̄(t) with reviewed labels
        self.reservoir: Reservoir[tuple[torch.Tensor, int]] = Reservoir(manage.replay_size, spec.seed)
        self.reservoir.offer([(initial.x[i], int(initial.y[i])) for i in range(len(initial))])
        # Same seed for every policy: the reviewer is one person, whoever's model it checks.
        self.reviewer = Reviewer(manage.reviewer_error, manage.cam_threshold, spec.seed)
        self.fine_tunes = 0

    def step(self, tick: TickData, data: PaperData) -> TickRecord:
        """Review the tick's new samples, update as the policy says, measure."""
        reviewed = self._review(tick)
        failed_now = {tick.keys[i]: (tick.new.x[i], CLASSES.index(o.label)) for i, o in reviewed if o.failed}
        self.failed.add((tick.tick - 1) * self.spec.tick_days, list(failed_now))
        self.pool.update(failed_now)
        fsr = self.failed.fsr(len(self.train))
        action = self.policy.decide(UpdateState(len(failed_now), self.fine_tunes, fsr))
        cost = self._update(action, list(failed_now.values()))
        if self.policy.replay:
            self.reservoir.offer([(tick.new.x[i], CLASSES.index(o.label)) for i, o in reviewed])
        test, current = _accuracies(self.model, data, tick, self.spec, self.device)
        return TickRecord(tick.tick, tick.day, self.policy.name, action.value, fsr, len(reviewed),
                          len(failed_now), len(self.train), test, current, cost.cpu_s, cost.wall_s)

    def _review(self, tick: TickData) -> list[tuple[int, ReviewOutcome]]:
        """The unreliable new samples (Eq. 5) and the reviewer's two-stage verdict on each."""
        from inspkit.maintain.camscore import cam_scores, spatial_layer

        probs = predict_probs(self.model, tick.new.x, self.device, 128)
        predicted = probs.argmax(axis=1)
        chosen = unreliable(range(len(probs)), lambda i: float(probs[i, 1]), self.manage.alpha)
        if not chosen:
            return []
        layer = spatial_layer(self.model, self.spec.model, self.spec.image_size)
        scores = cam_scores(self.model, tick.new.x[chosen], [int(predicted[i]) for i in chosen],
                            tick.targets[chosen], self.spec.model, self.device, layer=layer)
        items = [ReviewItem(tick.keys[i], CLASSES[int(tick.new.y[i])], CLASSES[int(predicted[i])],
                            float(probs[i, 1]), _score(s)) for i, s in zip(chosen, scores)]
        return list(zip(chosen, self.reviewer.review(items)))

    def _update(self, action: Action, failed_now: list[tuple[torch.Tensor, int]]) -> Compute:
        if action is Action.FINETUNE:
            extra = list(self.reservoir.items) if self.policy.replay else []
            cfg = _fit(self.spec, self.device, self.manage.finetune_epochs, self.manage.finetune_lr)
            self.model, cost = finetune(self.model, _tensors(failed_now + extra), cfg)
            self.fine_tunes += 1
            return cost
        if action is Action.RETRAIN:
            data = join(self.train, _tensors(list(self.pool.values())))
            cfg = _fit(self.spec, self.device, self.spec.retrain_epochs(len(data)))
            self.model, cost = retrain(self.spec.model, len(CLASSES), data, cfg)
            self.train, self.fine_tunes = data, 0
            self.failed.reset()
            self.pool.clear()
            return cost
        return ZERO


def _tensors(items: list[tuple[torch.Tensor, int]]) -> Tensors:
    import torch

    return Tensors(torch.stack([x for x, _ in items]), torch.tensor([y for _, y in items], dtype=torch.int64))


def _score(value: float) -> float | None:
    return None if np.isnan(value) else float(value)
