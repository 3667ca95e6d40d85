"""Moving a model to another line (paper 3.2.2): fine-tuning, DANN and ADDA on tensors.

- ``finetune``: the source model trained further on the labelled target images.
- ``dann`` (Ganin & Lempitsky, 2015): one network learns the labelled images
  (source, plus target ones when given) while a domain critic behind a
  gradient-reversal layer pushes source and target features together.
- ``adda`` (Tzeng et al., 2017): the source encoder and head stay fixed; a
  copy of the encoder is trained on target images until a critic cannot tell
  its features from the source encoder's; labelled target images, when given,
  add their classification loss (semi-supervised, as in the paper's reference).

Every epoch (and the starting model, epoch 0) is a checkpoint; the one kept is
chosen by an unsupervised criterion (``adapt_select``). Labelled target images
in ``probe`` are only measured on, never used to choose. DANN and ADDA
checkpoints get their batch-norm statistics from the target images.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from inspkit.maintain.adapt_nets import critic, feature_size, recalibrate_bn, reverse_gradient
from inspkit.maintain.adapt_select import SelectionData, goodness, score_checkpoint
from inspkit.maintain.adapt_types import Criterion, Method
from inspkit.maintain.trainer import Compute
from inspkit.models.dataset import Tensors
from inspkit.models.engine import evaluate
from inspkit.models.features import features, head
from inspkit.models.preprocess import normalise

if TYPE_CHECKING:
    import torch


@dataclass(frozen=True)
class AdaptConfig:
    """Adaptation settings.

    Attributes:
        method: finetune, dann or adda.
        epochs: Epochs; one epoch is one pass over the unlabelled target images.
        batch_size: Images per domain per step.
        lr: Learning rate of the network (AdamW).
        weight_decay: AdamW weight decay.
        seed: Seeds the critic's initialisation and the batch order.
        device: ``cpu`` or ``cuda``.
        criterion: How the checkpoint to keep is chosen.
        domain_weight: Weight of DANN's domain loss.
        critic_lr: Learning rate of the domain critic.
    """

    method: Method
    epochs: int
    batch_size: int
    lr: float
    weight_decay: float
    seed: int
    device: str
    criterion: Criterion = Criterion.IM
    domain_weight: float = 1.0
    critic_lr: float = 1e-3


@dataclass(frozen=True, eq=False)
class AdaptData:
    """The images an adaptation sees.

    Attributes:
        source: Labelled images of the source line (DANN, ADDA).
        source_val: Labelled source images not trained on (for the ``dev`` criterion).
        target: Unlabelled images of the target line.
        labelled: Labelled target images (may be empty; fine-tuning needs some).
        probe: Labelled target images measured on for the report, never used to choose.
    """

    source: Tensors
    source_val: Tensors
    target: Tensors
    labelled: Tensors
    probe: Tensors


@dataclass(frozen=True)
class CheckpointRow:
    """One checkpoint: its criterion values and, when a probe set exists, its accuracy there."""

    epoch: int
    scores: dict[str, float]
    probe_accuracy: float


@dataclass
class AdaptResult:
    """What an adaptation produced.

    Attributes:
        model: The chosen checkpoint, in eval mode.
        chosen_epoch: Its epoch (0: the starting model was best by the criterion).
        rows: Every checkpoint, epoch 0 first.
        compute: Training and scoring cost.
    """

    model: Any
    chosen_epoch: int
    rows: list[CheckpointRow] = field(default_factory=list)
    compute: Compute | None = None


def adapt(source_model: Any, data: AdaptData, cfg: AdaptConfig,
          on_epoch: Callable[[int, CheckpointRow], None] | None = None) -> AdaptResult:
    """Adapt a copy of ``source_model`` to the target line; ``source_model`` is not changed.

    Raises:
        ValueError: the data the method needs is missing.
    """
    import torch

    _check(data, cfg)
    torch.manual_seed(cfg.seed)
    runner = _METHODS[cfg.method](source_model, data, cfg)
    steps = math.ceil(len(data.target) / cfg.batch_size)
    select = SelectionData(data.target, data.source, data.source_val)
    cpu0, wall0 = time.process_time(), time.perf_counter()
    result, best = AdaptResult(runner.model, 0), -math.inf
    for epoch in range(cfg.epochs + 1):
        runner.model.train()
        for step in range(steps if epoch else 0):
            runner.step(((epoch - 1) * steps + step) / (cfg.epochs * steps))
        row = _checkpoint(runner, data, select, cfg, epoch)
        result.rows.append(row)
        score = goodness(cfg.criterion, row.scores) if cfg.criterion is not Criterion.LAST else 0.0
        if epoch == 0 or score > best or cfg.criterion is Criterion.LAST:
            best, result.chosen_epoch, kept = score, epoch, copy.deepcopy(runner.model.state_dict())
        if on_epoch:
            on_epoch(epoch, row)
    runner.model.load_state_dict(kept)
    runner.model.eval()
    result.compute = Compute(time.process_time() - cpu0, time.perf_counter() - wall0,
                             steps * cfg.epochs * cfg.batch_size)
    return result


def _check(data: AdaptData, cfg: AdaptConfig) -> None:
    if not len(data.target):
        raise ValueError("no unlabelled target images")
    if cfg.method is Method.FINETUNE and not len(data.labelled):
        raise ValueError("fine-tuning needs labelled target images")
    if cfg.method is not Method.FINETUNE and len(data.source) < 2:
        raise ValueError(f"{cfg.method.value} needs labelled source images")
    if cfg.criterion is Criterion.DEV and not len(data.source_val):
        raise ValueError("the dev criterion needs labelled source validation images")


def _checkpoint(runner: Any, data: AdaptData, select: SelectionData, cfg: AdaptConfig, epoch: int) -> CheckpointRow:
    model = runner.model
    if runner.target_bn:
        recalibrate_bn(model, data.target, cfg.device, cfg.batch_size)
    model.eval()
    scores = score_checkpoint(model, select, cfg.device, cfg.batch_size)
    probe = evaluate(model, data.probe, cfg.device, cfg.batch_size).accuracy if len(data.probe) else float("nan")
    return CheckpointRow(epoch, scores, probe)


class _Batches:
    """Endless shuffled batches of one tensor set, on the device."""

    def __init__(self, data: Tensors, batch_size: int, device: str, seed: int) -> None:
        import torch

        self.data, self.size, self.device = data, max(1, min(batch_size, len(data))), device
        self.gen = torch.Generator().manual_seed(seed)
        self.order, self.at = None, 0

    def next(self) -> tuple["torch.Tensor", "torch.Tensor"]:
        import torch

        if self.order is None or self.at + self.size > len(self.order):
            self.order, self.at = torch.randperm(len(self.data), generator=self.gen), 0
        idx = self.order[self.at:self.at + self.size]
        self.at += self.size
        if len(idx) == 1:  # batch norm cannot train on a batch of one
            idx = idx.repeat(2)
        return normalise(self.data.x[idx].to(self.device)), self.data.y[idx].to(self.device)


def _batches(data: AdaptData, cfg: AdaptConfig) -> dict[str, _Batches | None]:
    return {name: _Batches(t, cfg.batch_size, cfg.device, cfg.seed + k) if len(t) else None
            for k, (name, t) in enumerate((("source", data.source), ("target", data.target),
                                           ("labelled", data.labelled)))}


class _FineTune:
    """Plain fine-tuning on the labelled target images."""

    target_bn = False

    def __init__(self, source_model: Any, data: AdaptData, cfg: AdaptConfig) -> None:
        import torch

        self.model = copy.deepcopy(source_model).to(cfg.device)
        self.batches = _batches(data, cfg)
        self.opt = torch.optim.AdamW(self.model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)

    def step(self, progress: float) -> None:
        import torch.nn.functional as F

        x, y = self.batches["labelled"].next()
        loss = F.cross_entropy(self.model(x), y)
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self.opt.step()


class _Dann:
    """Domain-adversarial training through a gradient-reversal layer."""

    target_bn = True

    def __init__(self, source_model: Any, data: AdaptData, cfg: AdaptConfig) -> None:
        import torch

        self.cfg = cfg
        self.model = copy.deepcopy(source_model).to(cfg.device)
        self.critic = critic(feature_size(self.model, int(data.target.x.shape[-1]), cfg.device)).to(cfg.device)
        self.batches = _batches(data, cfg)
        self.opt = torch.optim.AdamW([
            {"params": self.model.parameters(), "lr": cfg.lr},
            {"params": self.critic.parameters(), "lr": cfg.critic_lr},
        ], weight_decay=cfg.weight_decay)

    def step(self, progress: float) -> None:
        import torch
        import torch.nn.functional as F

        xs, ys = self.batches["source"].next()
        xt, _ = self.batches["target"].next()
        lab = self.batches["labelled"].next() if self.batches["labelled"] else None
        parts = [xs, xt] + ([lab[0]] if lab else [])
        feats = torch.split(features(self.model, torch.cat(parts)), [len(p) for p in parts])
        classify = head(self.model)
        loss = F.cross_entropy(classify(feats[0]), ys)
        if lab:
            loss = loss + F.cross_entropy(classify(feats[2]), lab[1])
        # The reversal grows from 0 to 1 over training (Ganin & Lempitsky's schedule).
        scale = 2.0 / (1.0 + math.exp(-10.0 * progress)) - 1.0
        domain = self.critic(reverse_gradient(torch.cat(feats[:2]), scale)).squeeze(1)
        truth = torch.cat([torch.zeros(len(xs)), torch.ones(len(xt))]).to(domain.device)
        loss = loss + self.cfg.domain_weight * F.binary_cross_entropy_with_logits(domain, truth)
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self.opt.step()


class _Adda:
    """Adversarial discriminative adaptation: a target encoder trained to fool a critic."""

    target_bn = True

    def __init__(self, source_model: Any, data: AdaptData, cfg: AdaptConfig) -> None:
        import torch

        self.source = copy.deepcopy(source_model).to(cfg.device).eval()
        self.model = copy.deepcopy(source_model).to(cfg.device)
        for p in head(self.model).parameters():
            p.requires_grad_(False)  # the source classifier stays as it is
        self.critic = critic(feature_size(self.model, int(data.target.x.shape[-1]), cfg.device)).to(cfg.device)
        self.batches = _batches(data, cfg)
        encoder = [p for p in self.model.parameters() if p.requires_grad]
        self.opt = torch.optim.Adam(encoder, lr=cfg.lr, betas=(0.5, 0.999))
        self.opt_critic = torch.optim.Adam(self.critic.parameters(), lr=cfg.critic_lr, betas=(0.5, 0.999))

    def step(self, progress: float) -> None:
        import torch
        import torch.nn.functional as F

        xs, _ = self.batches["source"].next()
        xt, _ = self.batches["target"].next()
        lab = self.batches["labelled"].next() if self.batches["labelled"] else None
        with torch.no_grad():
            fs = features(self.source, xs)
        parts = [xt] + ([lab[0]] if lab else [])
        feats = torch.split(features(self.model, torch.cat(parts)), [len(p) for p in parts])
        self._critic_step(fs, feats[0].detach())
        fooled = self.critic(feats[0]).squeeze(1)
        loss = F.binary_cross_entropy_with_logits(fooled, torch.zeros_like(fooled))
        if lab:
            loss = loss + F.cross_entropy(head(self.model)(feats[1]), lab[1])
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self.opt.step()

    def _critic_step(self, fs: "torch.Tensor", ft: "torch.Tensor") -> None:
        import torch
        import torch.nn.functional as F

        logits = self.critic(torch.cat([fs, ft])).squeeze(1)
        truth = torch.cat([torch.zeros(len(fs)), torch.ones(len(ft))]).to(logits.device)
        loss = F.binary_cross_entropy_with_logits(logits, truth)
        self.opt_critic.zero_grad(set_to_none=True)
        loss.backward()
        self.opt_critic.step()


_METHODS: dict[Method, Callable[[Any, AdaptData, AdaptConfig], Any]] = {
    Method.FINETUNE: _FineTune, Method.DANN: _Dann, Method.ADDA: _Adda,
}
