"""The managing stage on the simulated line (paper 3.3): review, failed samples, updates, promotion.

Each day the parts the model answered with ``|p − 0.5| ≤ α`` go to the
simulated reviewer (stage 1 from the truth, stage 2 from the CAM-on-target
score); the ones that fail are D̄(t) of their time slot. When a slot closes the
policy decides: a fine-tune runs on the edge in the idle windows between
shifts, for as long as its compute took here times a factor; a re-train runs
on the main server and its version reaches the edge ``retrain_days`` later.
A new version takes over only if it is not worse than the line's model on the
fixed test split and on the failed samples; otherwise it stays a candidate.

The training itself is injected (:class:`Learner`; ``simulator.maint_learner``
with torch), so this module runs without torch.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import simpy

from inspkit.maintain.fsr import FailedSamples
from inspkit.maintain.policy import Action, Policy, UpdateState
from inspkit.maintain.replay import Reservoir
from inspkit.models.types import InspectionResult
from inspkit.recipe_line import ManageSpec
from inspkit.types import Roi
from simulator.maint_windows import IdleClock
from simulator.metrics import UpdateEvent
from simulator.parts import DayReview, Part
from simulator.reviewer import Reviewer, ReviewItem, model_view
from simulator.schedule import DAY_S

#: Accuracies closer than this count as equal (they are ratios of small counts).
_EPS = 1e-9


@dataclass(frozen=True, eq=False)
class Labelled:
    """A reviewed sample as the model sees it, with the reviewer's label.

    Attributes:
        key: The part's id (zero-padded serial, so keys sort in serial order).
        image: ``(S, S, 3)`` uint8 model view.
        label: ``OK`` or ``NG`` as the reviewer gave it.
    """

    key: str
    image: np.ndarray
    label: str


@dataclass(frozen=True, eq=False)
class Candidate:
    """A trained model not yet judged.

    Attributes:
        model: The learner's model object.
        cpu_s: Process CPU seconds the training took.
        wall_s: Wall seconds the training took.
        samples: Images trained on.
    """

    model: Any
    cpu_s: float
    wall_s: float
    samples: int


@dataclass(frozen=True)
class Scores:
    """A model's accuracy on the fixed test split and on failed samples (None: nothing to score)."""

    test: float | None
    failed: float | None


class Learner(Protocol):
    """The model side of the managing stage: CAM scores, training, scoring, swapping versions."""

    version: str
    input_size: int
    roi: Roi | None
    base_size: int

    def base_samples(self) -> list[Labelled]:
        """The first model's training set D, as samples (seeds the replay reservoir)."""

    def cam_scores(self, images: Sequence[np.ndarray], targets: Sequence[np.ndarray],
                   predicted: Sequence[str]) -> np.ndarray:
        """CAM-on-target share of each image's predicted class (NaN: empty target)."""

    def finetune(self, samples: Sequence[Labelled], seed: int) -> Candidate:
        """A copy of the line's model adjusted on ``samples`` (Eq. 9)."""

    def retrain(self, added: Sequence[Labelled], seed: int) -> Candidate:
        """A model trained from scratch on D ∪ ``added`` (Eq. 11–12)."""

    def scores(self, candidate: Candidate | None, samples: Sequence[Labelled]) -> Scores:
        """Accuracy of ``candidate`` (None: the line's model) on the test split and on ``samples``."""

    def promote(self, candidate: Candidate, version: str) -> None:
        """Make ``candidate`` the line's model, as ``version``."""


@dataclass(frozen=True)
class MaintainSettings:
    """How the line is maintained.

    Attributes:
        policy: When to fine-tune and when to re-train.
        manage: The recipe's ``manage:`` section (α, β, slot, epochs, reviewer, tolerance).
        seed: Seeds the reviewer, the replay reservoir and the training runs.
        edge_time_factor: Simulated seconds of edge training per wall second it took
            here (above 1: the edge computer is slower than this machine).
    """

    policy: Policy
    manage: ManageSpec
    seed: int = 0
    edge_time_factor: float = 1.0


@dataclass(frozen=True, eq=False)
class _Seen:
    """An unreliable part, kept until the day's review with its model view and CAM target."""

    serial: int
    truth: str
    predicted: str
    p_ok: float
    image: np.ndarray
    target: np.ndarray


class FrameKeeper:
    """The line's camera, keeping the frames (with their defect masks) of the last few chunks.

    The review needs a part's defect mask, which the line's images do not carry;
    keeping the frames a little while saves drawing them again.

    Args:
        camera: Has ``frame(serial, day, defect_type)`` (``simulator.camera.Camera``).
        chunks: Renders kept; parts still on the line belong to the last two or three.
    """

    def __init__(self, camera: Any, chunks: int = 4) -> None:
        self.camera, self.chunks = camera, chunks
        self._kept: list[dict[int, Any]] = []

    def __call__(self, parts: Sequence[Part]) -> list[np.ndarray]:
        frames = {p.serial: self.camera.frame(p.serial, p.day, p.defect_type) for p in parts}
        self._kept = [*self._kept[-(self.chunks - 1):], frames] if self.chunks > 1 else [frames]
        return [frames[p.serial].image for p in parts]

    def frame(self, serial: int, day: float, defect_type: str | None) -> Any:
        """The part's frame: kept, or drawn again (frames are pure functions of the part)."""
        for kept in reversed(self._kept):
            if serial in kept:
                return kept[serial]
        return self.camera.frame(serial, day, defect_type)


def judge(new: Scores, current: Scores, tolerance: float) -> tuple[bool, str]:
    """Whether a candidate may take over, and why: not worse on either score by more than ``tolerance``."""
    worse, parts = [], []
    for name, a, b in (("test split", new.test, current.test), ("failed samples", new.failed, current.failed)):
        if a is None or b is None:
            continue
        parts.append(f"{name} {a:.1%} vs {b:.1%}")
        if a < b - tolerance - _EPS:
            worse.append(name)
    if worse:
        return False, f"rejected: worse on {' and '.join(worse)} ({'; '.join(parts)})"
    return True, "promoted: " + ("; ".join(parts) or "nothing to compare on")


def next_version(version: str, step: int) -> str:
    """The version ``step`` after ``version`` (``v0001`` → ``v0002``); the number keeps its width."""
    match = re.fullmatch(r"(.*?)(\d+)", version)
    if not match:
        return f"{version}.{step}"
    prefix, number = match.groups()
    return f"{prefix}{int(number) + step:0{len(number)}d}"


class Maintainer:
    """The managing stage as a :class:`simulator.parts.LineMaintainer`.

    Args:
        settings: Policy, the manage section and seeds.
        learner: The model side (training, scoring, version swaps).
        reviewer: The simulated person (default: one from the manage section).
    """

    def __init__(self, settings: MaintainSettings, learner: Learner, reviewer: Reviewer | None = None) -> None:
        manage = settings.manage
        self.settings, self.learner = settings, learner
        self.reviewer = reviewer or Reviewer(manage.reviewer_error, manage.cam_threshold, settings.seed)
        self.failed = FailedSamples(manage.slot_days)
        self.bank: dict[str, Labelled] = {}  # the failed samples since the last re-train
        self.added: list[Labelled] = []  # failed samples handed to re-trains: part of D from then on
        self.reservoir: Reservoir[Labelled] | None = None
        if settings.policy.replay:
            self.reservoir = Reservoir(manage.replay_size, settings.seed)
            self.reservoir.offer(learner.base_samples())
        self.events: list[UpdateEvent] = []
        # Wall seconds outside the event loop, merged into the line's time shares.
        self.seconds = {"review (frames, Grad-CAM)": 0.0, "model training and scoring": 0.0}
        self.fine_tunes_since_retrain = 0
        self._today: list[_Seen] = []
        self._jobs = 0  # training runs started: seeds and version numbers follow it
        self._candidates = 0
        self._base_version = learner.version
        self._env: simpy.Environment | None = None
        self._clock: IdleClock | None = None
        self._frames: Any = None
        self._edge: simpy.Resource | None = None

    @property
    def training_size(self) -> int:
        """|D|: the first model's training set plus every sample handed to a re-train."""
        return self.learner.base_size + len(self.added)

    def attach(self, env: simpy.Environment, clock: IdleClock, frames: Any) -> None:
        """Start on the line's clock; ``frames`` draws a part's frame again (the line's camera)."""
        if frames is None or not hasattr(frames, "frame"):
            raise ValueError("model maintenance reviews images; run the line with images (a camera)")
        self._env, self._clock, self._frames = env, clock, frames
        self._edge = simpy.Resource(env, capacity=1)  # the edge trains one model at a time

    def observe(self, part: Part, answer: InspectionResult) -> None:
        """Keep the part for review when its prediction is unreliable (Eq. 5)."""
        p = answer.p_ok
        if p is None or answer.verdict is None or abs(p - 0.5) > self.settings.manage.alpha:
            return
        started = time.perf_counter()
        frame = self._frames.frame(part.serial, part.day, part.defect_type)
        image, target = model_view(frame, self.learner.input_size, self.learner.roi)
        self._today.append(_Seen(part.serial, part.truth, answer.verdict.value, p, image, target))
        self.seconds["review (frames, Grad-CAM)"] += time.perf_counter() - started

    def close_day(self, day: int) -> DayReview:
        """Review the day's unreliable parts; at a slot's end, let the policy decide."""
        seen, self._today = self._today, []
        started = time.perf_counter()
        failed = self._review(seen, day)
        self.seconds["review (frames, Grad-CAM)"] += time.perf_counter() - started
        fsr = self.failed.fsr(self.training_size)
        if self.failed.slot_of(day + 1) != self.failed.slot_of(day):
            self._decide(self.failed.slot_of(day), fsr)
        return DayReview(len(seen), len(failed), fsr)

    def _review(self, seen: list[_Seen], day: int) -> list[Labelled]:
        """Both review stages for ``seen``; returns the failed ones (kept in D̄(t))."""
        if not seen:
            return []
        cams = self._cam_scores(seen)
        items = [ReviewItem(f"{s.serial:09d}", s.truth, s.predicted, s.p_ok, c) for s, c in zip(seen, cams)]
        outcomes = self.reviewer.review(items)
        labelled = [Labelled(o.key, s.image, o.label) for o, s in zip(outcomes, seen)]
        failed = [s for s, o in zip(labelled, outcomes) if o.failed]
        self.bank.update((s.key, s) for s in failed)
        if failed:
            self.failed.add(day, [s.key for s in failed])
        if self.reservoir is not None:
            self.reservoir.offer(labelled)
        return failed

    def _cam_scores(self, seen: list[_Seen]) -> list[float | None]:
        """Stage-2 scores; a wrong prediction fails stage 1 anyway when the reviewer never errs."""
        need = [i for i, s in enumerate(seen) if self.reviewer.error_rate > 0 or s.predicted == s.truth]
        cams: list[float | None] = [None] * len(seen)
        if need:
            scores = self.learner.cam_scores([seen[i].image for i in need], [seen[i].target for i in need],
                                             [seen[i].predicted for i in need])
            for i, score in zip(need, scores.tolist()):
                cams[i] = score
        return cams

    def _decide(self, slot: int, fsr: float) -> None:
        policy = self.settings.policy
        state = UpdateState(len(self.failed.slot(slot)), self.fine_tunes_since_retrain, fsr)
        action = policy.decide(state)
        if action is Action.FINETUNE:
            self.fine_tunes_since_retrain += 1
            samples = self._samples(self.failed.slot(slot))
            if self.reservoir is not None:
                samples += self.reservoir.items
            self._start(self._finetune(samples, self._samples(self.failed.union()), fsr))
        elif action is Action.RETRAIN:
            new = self._samples(self.failed.union())
            self.added.extend(new)
            self.failed.reset()
            self.bank.clear()
            self.fine_tunes_since_retrain = 0
            self._start(self._retrain(list(self.added), new, fsr))

    def _samples(self, keys: set[str]) -> list[Labelled]:
        return [self.bank[k] for k in sorted(keys)]

    def _start(self, job: Iterator[simpy.Event]) -> None:
        assert self._env is not None, "attach() the maintainer to the line first"
        self._env.process(job)

    def _seed(self) -> int:
        self._jobs += 1
        return self.settings.seed + self._jobs

    def _finetune(self, samples: list[Labelled], judge_on: list[Labelled], fsr: float) -> Iterator[simpy.Event]:
        """Fine-tune on the edge: wait for it and for idle time, train, use up idle time, judge."""
        env, clock = self._env, self._clock
        requested = env.now
        with self._edge.request() as turn:
            yield turn
            yield from self._wait_until(clock.next_idle(env.now))
            candidate = self._timed(self.learner.finetune, samples, self._seed())
            yield from self._wait_until(clock.finish(env.now, candidate.wall_s * self.settings.edge_time_factor))
            self._judge("finetune", candidate, judge_on, fsr, requested)

    def _retrain(self, added: list[Labelled], judge_on: list[Labelled], fsr: float) -> Iterator[simpy.Event]:
        """Re-train on the main server; the version reaches the edge after ``retrain_days``, between shifts."""
        env = self._env
        requested = env.now
        candidate = self._timed(self.learner.retrain, added, self._seed())
        yield from self._wait_until(requested + self.settings.manage.retrain_days * DAY_S)
        yield from self._wait_until(self._clock.next_idle(env.now))
        self._judge("retrain", candidate, judge_on, fsr, requested)

    def _timed(self, train: Any, samples: list[Labelled], seed: int) -> Candidate:
        started = time.perf_counter()
        try:
            return train(samples, seed)
        finally:
            self.seconds["model training and scoring"] += time.perf_counter() - started

    def _wait_until(self, t: float) -> Iterator[simpy.Event]:
        if math.isinf(t):
            yield self._env.event()  # never: no idle time is left on this plan
        if t > self._env.now:
            yield self._env.timeout(t - self._env.now)

    def _judge(self, kind: str, candidate: Candidate, judge_on: list[Labelled], fsr: float,
               requested_s: float) -> None:
        self._candidates += 1
        version = next_version(self._base_version, self._candidates)
        started = time.perf_counter()
        new, current = self.learner.scores(candidate, judge_on), self.learner.scores(None, judge_on)
        self.seconds["model training and scoring"] += time.perf_counter() - started
        promoted, reason = judge(new, current, self.settings.manage.promote_tolerance)
        if promoted:
            self.learner.promote(candidate, version)
        now = self._env.now
        self.events.append(UpdateEvent(
            int(now // DAY_S), kind, version, promoted, reason, fsr, candidate.samples,
            candidate.cpu_s, candidate.wall_s, requested_s / DAY_S, now))
