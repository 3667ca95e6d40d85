"""Choosing a checkpoint without target labels.

With no labelled images of the new line there is no test set to pick the
epoch to keep, so a score computed from unlabelled target images (and the
labelled source line) has to stand in:

- ``im``: information maximisation, H(mean p) − mean H(p) on target images:
  confident predictions that still use every class (higher is better). It
  assumes the target's classes are not extremely unbalanced.
- ``entropy``: mean prediction entropy on target images (lower is better);
  it rewards confidence alone, so a collapsed model can score well.
- ``dev``: deep embedded validation (You et al., ICML 2019): the loss on
  labelled *source* validation images, weighted by how target-like each
  image's features are (a domain classifier's density ratio), with a control
  variate (lower is better).
- ``last``: the last epoch, no selection.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from inspkit.maintain.adapt_types import Criterion
from inspkit.models.dataset import Tensors
from inspkit.models.features import embed, head

if TYPE_CHECKING:
    import torch


# Images per domain the DEV domain classifier is fitted on (it is refitted at every checkpoint).
_DOMAIN_SAMPLE = 256
# +1: higher is better, -1: lower is better.
_SENSE = {Criterion.IM: 1.0, Criterion.ENTROPY: -1.0, Criterion.DEV: -1.0}


@dataclass(frozen=True, eq=False)
class SelectionData:
    """What the scores are computed from.

    Attributes:
        target: Unlabelled target images (labels ignored).
        source: Source training images (the domain classifier's source side).
        source_val: Labelled source images not trained on (DEV's losses); may be empty.
    """

    target: Tensors
    source: Tensors
    source_val: Tensors


def goodness(criterion: Criterion, scores: dict[str, float]) -> float:
    """One number where higher is better, for comparing checkpoints (−inf when unknown)."""
    value = scores.get(criterion.value, float("nan"))
    return -math.inf if value != value else _SENSE[criterion] * value


def score_checkpoint(model: Any, data: SelectionData, device: str, batch_size: int) -> dict[str, float]:
    """Every criterion's value for the model as it stands (eval mode)."""
    target = embed(model, data.target.x, device, batch_size)
    scores = entropy_scores(_probs(model, target, device))
    scores["dev"] = dev_score(model, data, target, device, batch_size) if len(data.source_val) else float("nan")
    return scores


def entropy_scores(probs: np.ndarray) -> dict[str, float]:
    """``entropy`` (mean H(p)) and ``im`` (H(mean p) − mean H(p)), in nats."""
    if not len(probs):
        return {"entropy": float("nan"), "im": float("nan")}
    p = np.clip(probs, 1e-12, 1.0)
    per_image = float(-(p * np.log(p)).sum(axis=1).mean())
    mean = np.clip(probs.mean(axis=0), 1e-12, 1.0)
    return {"entropy": per_image, "im": float(-(mean * np.log(mean)).sum()) - per_image}


def dev_score(model: Any, data: SelectionData, target: "torch.Tensor", device: str, batch_size: int) -> float:
    """The DEV risk of ``model``: importance-weighted source-validation loss with a control variate.

    ``target`` holds the model's features of the target images.
    """
    source = embed(model, data.source.x[_subsample(len(data.source))], device, batch_size)
    val = embed(model, data.source_val.x, device, batch_size)
    weights = density_ratio(source, target[_subsample(len(target))], val)
    probs = _probs(model, val, device)
    labels = data.source_val.y.numpy()
    losses = -np.log(np.clip(probs[np.arange(len(labels)), labels], 1e-12, 1.0))
    return control_variate_risk(weights, losses)


def _subsample(n: int) -> "torch.Tensor":
    """The same random ``_DOMAIN_SAMPLE`` indices at every checkpoint (collection order may be biased)."""
    import torch

    return torch.randperm(n, generator=torch.Generator().manual_seed(0))[:_DOMAIN_SAMPLE]


def _probs(model: Any, feats: "torch.Tensor", device: str) -> np.ndarray:
    import torch

    with torch.inference_mode():
        return torch.softmax(head(model)(feats.to(device)).float(), dim=1).cpu().numpy()


def density_ratio(source: "torch.Tensor", target: "torch.Tensor", points: "torch.Tensor",
                  steps: int = 200, l2: float = 1e-2) -> np.ndarray:
    """p_target(x) / p_source(x) at ``points``, from a logistic domain classifier on features."""
    import torch

    both = torch.cat([source, target])
    # Pooled statistics with a floor: a feature silent on one line must not dominate.
    mean, std = both.mean(0), both.std(0).clamp_min(1e-3)
    x = both.sub(mean).div(std)
    y = torch.cat([torch.zeros(len(source)), torch.ones(len(target))])
    w = torch.zeros(x.shape[1], requires_grad=True)
    b = torch.zeros(1, requires_grad=True)
    opt = torch.optim.LBFGS([w, b], lr=0.5, max_iter=steps, line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        opt.zero_grad()
        loss = torch.nn.functional.binary_cross_entropy_with_logits(x @ w + b, y) + l2 * w.square().sum()
        loss.backward()
        return loss

    opt.step(closure)
    with torch.no_grad():
        logits = (points.sub(mean).div(std) @ w + b).clamp(-10, 10)
    return (logits.exp() * (len(source) / len(target))).numpy()


def control_variate_risk(weights: np.ndarray, losses: np.ndarray) -> float:
    """DEV's estimate: mean(w·ℓ) + η·(mean(w) − 1) with η = −Cov(w·ℓ, w) / Var(w)."""
    weighted = weights * losses
    cov = np.cov(weighted, weights)
    eta = -float(cov[0, 1]) / float(cov[1, 1]) if cov[1, 1] > 1e-12 else 0.0
    return float(weighted.mean() + eta * (weights.mean() - 1.0))
