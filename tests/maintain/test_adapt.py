"""The pieces of domain adaptation: gradient reversal, BN statistics, selection scores, the loops."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch

from inspkit.maintain.adapt import AdaptConfig, AdaptData, adapt
from inspkit.maintain.adapt_nets import recalibrate_bn, reverse_gradient
from inspkit.maintain.adapt_select import control_variate_risk, density_ratio, entropy_scores, goodness
from inspkit.maintain.adapt_types import Criterion, Method
from inspkit.maintain.expand import ExpandRequest, SourceRef
from inspkit.maintain.expand_check import _pick_labels
from inspkit.models.dataset import Tensors
from inspkit.models.registry import create_model
from inspkit.store.samples import Sample


def test_gradient_reversal_is_identity_forward_and_negated_scaled_backward() -> None:
    x = torch.tensor([1.0, -2.0, 3.0], requires_grad=True)
    y = reverse_gradient(x, 0.5)
    assert torch.equal(y, x)
    (y * torch.tensor([1.0, 2.0, 3.0])).sum().backward()
    assert torch.allclose(x.grad, torch.tensor([-0.5, -1.0, -1.5]))


def test_recalibrated_bn_holds_the_target_statistics_and_keeps_the_weights() -> None:
    bn = torch.nn.BatchNorm2d(3)
    bn.running_mean.fill_(-5.0)
    bn.weight.data.fill_(2.0)
    images = torch.full((8, 3, 4, 4), 200, dtype=torch.uint8)
    recalibrate_bn(torch.nn.Sequential(bn), Tensors(images, torch.zeros(8, dtype=torch.int64)), "cpu", 4)
    expected = (200 / 255 - 0.5) / 0.25
    assert torch.allclose(bn.running_mean, torch.full((3,), expected), atol=1e-5)
    assert torch.equal(bn.weight.data, torch.full((3,), 2.0)) and not bn.training


def test_information_maximisation_rewards_confident_predictions_that_use_every_class() -> None:
    uniform = entropy_scores(np.full((4, 2), 0.5))
    assert uniform["entropy"] == pytest.approx(math.log(2)) and uniform["im"] == pytest.approx(0.0)
    balanced = entropy_scores(np.array([[1.0, 0.0], [0.0, 1.0]]))
    assert balanced["entropy"] == pytest.approx(0.0, abs=1e-6) and balanced["im"] == pytest.approx(math.log(2))
    collapsed = entropy_scores(np.array([[1.0, 0.0], [1.0, 0.0]]))
    assert collapsed["im"] == pytest.approx(0.0, abs=1e-6)
    assert goodness(Criterion.IM, balanced) > goodness(Criterion.IM, collapsed)
    assert goodness(Criterion.ENTROPY, collapsed) > goodness(Criterion.ENTROPY, uniform)


def test_dev_weights_source_images_by_how_target_like_they_are() -> None:
    gen = torch.Generator().manual_seed(0)
    source = torch.randn(400, 4, generator=gen)
    target = torch.randn(400, 4, generator=gen) + torch.tensor([2.0, 0, 0, 0])
    points = torch.tensor([[2.0, 0, 0, 0], [-2.0, 0, 0, 0]])
    near_target, near_source = density_ratio(source, target, points)
    assert near_target > 1.0 > near_source
    same = density_ratio(source, torch.randn(400, 4, generator=gen), source)
    assert abs(same.mean() - 1.0) < 0.2
    losses = np.array([0.1, 0.5, 2.0])
    assert control_variate_risk(np.ones(3), losses) == pytest.approx(losses.mean())


def test_dev_control_variate_matches_its_closed_form() -> None:
    rng = np.random.default_rng(0)
    w, loss = rng.gamma(2.0, 0.5, 50), rng.gamma(1.0, 1.0, 50)
    eta = -np.cov(w * loss, w)[0, 1] / np.var(w, ddof=1)
    assert control_variate_risk(w, loss) == pytest.approx(np.mean(w * loss) + eta * np.mean(w) - eta)


def _toy(n: int, seed: int, shift: int = 0) -> Tensors:
    gen = torch.Generator().manual_seed(seed)
    y = torch.arange(n) % 2
    x = torch.randint(0, 100, (n, 3, 32, 32), generator=gen, dtype=torch.uint8) + 100 * y.view(-1, 1, 1, 1) + shift
    return Tensors(x.to(torch.uint8), y)


@pytest.fixture(scope="module")
def source_model() -> torch.nn.Module:
    torch.manual_seed(0)
    return create_model("timm:resnet18", num_classes=2).eval()


def _data(labelled: int = 0) -> AdaptData:
    target = _toy(16, 2, shift=30)
    return AdaptData(_toy(16, 1), _toy(8, 3), target, Tensors(target.x[:labelled], target.y[:labelled]), _toy(8, 4, 30))


@pytest.mark.parametrize("method, labelled", [(Method.DANN, 0), (Method.ADDA, 4), (Method.FINETUNE, 4)])
def test_adapt_keeps_the_criterions_choice_and_leaves_the_source_model_alone(
        source_model: torch.nn.Module, method: Method, labelled: int) -> None:
    before = {k: v.clone() for k, v in source_model.state_dict().items()}
    cfg = AdaptConfig(method, 2, 8, 1e-3, 0.0, 0, "cpu", Criterion.IM)
    result = adapt(source_model, _data(labelled), cfg)
    assert [r.epoch for r in result.rows] == [0, 1, 2]
    best = max(result.rows, key=lambda r: (goodness(Criterion.IM, r.scores), -r.epoch))
    assert result.chosen_epoch == best.epoch
    assert all(0.0 <= r.probe_accuracy <= 1.0 for r in result.rows)
    assert all(torch.equal(v, before[k]) for k, v in source_model.state_dict().items())


def test_adda_trains_the_encoder_and_keeps_line_as_classifier(source_model: torch.nn.Module) -> None:
    cfg = AdaptConfig(Method.ADDA, 1, 8, 1e-3, 0.0, 0, "cpu", Criterion.LAST)
    model = adapt(source_model, _data(), cfg).model
    assert torch.equal(model.get_classifier().weight, source_model.get_classifier().weight)
    assert not torch.equal(model.conv1.weight, source_model.conv1.weight)


def test_last_keeps_the_last_epoch(source_model: torch.nn.Module) -> None:
    cfg = AdaptConfig(Method.DANN, 2, 8, 1e-3, 0.0, 0, "cpu", Criterion.LAST)
    assert adapt(source_model, _data(), cfg).chosen_epoch == 2


def test_methods_refuse_data_they_cannot_learn_from(source_model: torch.nn.Module) -> None:
    with pytest.raises(ValueError, match="labelled target"):
        adapt(source_model, _data(0), AdaptConfig(Method.FINETUNE, 1, 8, 1e-3, 0.0, 0, "cpu"))
    empty = _data()
    no_target = AdaptData(empty.source, empty.source_val, Tensors(empty.target.x[:0], empty.target.y[:0]),
                          empty.labelled, empty.probe)
    with pytest.raises(ValueError, match="no unlabelled"):
        adapt(source_model, no_target, AdaptConfig(Method.DANN, 1, 8, 1e-3, 0.0, 0, "cpu"))


def _samples(ng: int, ok: int) -> tuple[Sample, ...]:
    labels = ["NG"] * ng + ["OK"] * ok + [None] * 3
    return tuple(Sample(f"h{i}", f"i{i}.png", 8, 8, "sim:x", label=lab) for i, lab in enumerate(labels))


def test_labels_are_balanced_over_classes_and_the_rest_is_the_probe() -> None:
    req = ExpandRequest(SourceRef(Path("A")), Method.DANN, 6, Criterion.IM, 1, "cpu")
    chosen, probe = _pick_labels(_samples(4, 20), req, seed=1)
    assert sorted(s.label for s in chosen) == ["NG"] * 3 + ["OK"] * 3
    assert len(probe) == 24 - 6 and not {s.content_hash for s in chosen} & {s.content_hash for s in probe}
    assert _pick_labels(_samples(4, 20), req, seed=1) == (chosen, probe)
    few_ng = _pick_labels(_samples(2, 20), req, seed=1)[0]
    assert sorted(s.label for s in few_ng) == ["NG"] * 2 + ["OK"] * 4
