"""cam_scores: batched Grad-CAM shares equal grad_cam + cam_on_target image by image."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from inspkit.errors import InputError
from inspkit.explain import cam_on_target, default_target_layer, grad_cam
from inspkit.maintain.camscore import cam_scores
from inspkit.models.preprocess import normalise
from inspkit.models.registry import create_model

ARCH = "timm:resnet18"
SIDE = 32


@pytest.fixture(scope="module")
def model() -> torch.nn.Module:
    torch.manual_seed(0)
    net = create_model(ARCH, num_classes=2)
    net.train()  # cam_scores must switch to eval itself and put the mode back
    return net


def _data(n: int) -> tuple[torch.Tensor, np.ndarray]:
    rng = np.random.default_rng(1)
    x = torch.from_numpy(rng.integers(0, 256, (n, 3, SIDE, SIDE), dtype=np.uint8))
    targets = np.zeros((n, SIDE, SIDE), dtype=bool)
    for i in range(n):
        y0, x0 = rng.integers(0, SIDE // 2, 2)
        targets[i, y0:y0 + 12, x0:x0 + 12] = True
    return x, targets


def test_batched_scores_match_one_image_at_a_time(model: torch.nn.Module) -> None:
    x, targets = _data(5)
    classes = [0, 1, 1, 0, 1]
    scores = cam_scores(model, x, classes, targets, ARCH, "cpu", batch=2)
    layer = default_target_layer(model, ARCH)
    for i in range(len(x)):
        cam = grad_cam(model, normalise(x[i:i + 1]), layer, classes[i])
        assert scores[i] == pytest.approx(cam_on_target(cam, targets[i]), abs=1e-5)
    assert model.training


def test_empty_target_gives_nan(model: torch.nn.Module) -> None:
    x, targets = _data(2)
    targets[1] = False
    scores = cam_scores(model, x, [1, 1], targets, ARCH, "cpu")
    assert np.isfinite(scores[0]) and np.isnan(scores[1])


def test_bad_shapes_and_classes_are_input_errors(model: torch.nn.Module) -> None:
    x, targets = _data(2)
    with pytest.raises(InputError):
        cam_scores(model, x, [1], targets, ARCH, "cpu")
    with pytest.raises(InputError):
        cam_scores(model, x, [1, 5], targets, ARCH, "cpu")
