"""Registry names and suggestions, input-size checks, local weights, metrics."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from inspkit.errors import InputError
from inspkit.models.metrics import accuracy, auroc, binary_auroc
from inspkit.models.registry import check_input_size, create_model, list_models, load_local_weights, model_entry

PAPER_FAMILIES = ("resnet18", "resnet50", "resnext50_32x4d", "seresnet50", "seresnext50_32x4d", "vgg16",
                  "vgg19", "inception_v3", "legacy_xception", "efficientnet_b0")


def test_the_papers_architectures_and_yolo_are_registered() -> None:
    names = list_models()
    for arch in PAPER_FAMILIES:
        assert f"timm:{arch}" in names
    assert any(n.startswith("timm:mobilenetv3") for n in names)
    assert list_models("detect") and all(n.startswith("yolo:") for n in list_models("detect"))


def test_unknown_architecture_suggests_close_names() -> None:
    with pytest.raises(InputError, match="unknown model architecture 'timm:resnet19'.*did you mean.*timm:resnet18"):
        model_entry("timm:resnet19")
    assert model_entry("timm:resnet34").task == "classify"  # any timm model is accepted


def test_models_are_built_from_scratch_with_the_asked_classes() -> None:
    model = create_model("timm:resnet18", num_classes=3)
    assert model(torch.zeros(2, 3, 32, 32)).shape == (2, 3)


def test_an_input_size_the_model_cannot_take_is_a_clear_error() -> None:
    model = create_model("timm:inception_v3", num_classes=2)
    with pytest.raises(InputError, match="cannot take 32x32 inputs"):
        check_input_size(model, "timm:inception_v3", 32)
    check_input_size(model, "timm:inception_v3", 96)


def test_local_weights_seed_a_model_and_skip_a_mismatched_head(tmp_path) -> None:
    from safetensors.torch import save_file

    source = create_model("timm:resnet18", num_classes=10)
    path = tmp_path / "backbone.safetensors"
    save_file(source.state_dict(), str(path))
    target = create_model("timm:resnet18", num_classes=2, weights=path)
    assert torch.equal(target.conv1.weight, source.conv1.weight)
    loaded, skipped = load_local_weights(create_model("timm:resnet18", num_classes=2), path)
    assert skipped == 2 and loaded > 50  # fc.weight and fc.bias do not fit 2 classes
    pt = tmp_path / "w.pt"
    torch.save(source.state_dict(), pt)
    assert load_local_weights(create_model("timm:resnet18", num_classes=2), pt)[0] == loaded
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(InputError, match="cannot read weights"):
        load_local_weights(target, tmp_path / "junk.pt")


def test_auroc_matches_hand_computed_values() -> None:
    assert binary_auroc(np.array([0.1, 0.4, 0.35, 0.8]), np.array([0, 0, 1, 1])) == 0.75
    assert binary_auroc(np.array([0.5, 0.5]), np.array([0, 1])) == 0.5  # ties count half
    assert np.isnan(binary_auroc(np.array([0.2, 0.3]), np.array([1, 1])))
    probs = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4]])
    labels = np.array([0, 1, 1])
    assert accuracy(probs, labels) == pytest.approx(2 / 3)
    assert auroc(probs, labels) == 1.0
