"""explain: Grad-CAM / EigenCAM on real timm and ultralytics models, a case with a
known answer, CAM-on-target scoring, overlays, and that the model is left as found."""

from __future__ import annotations

import numpy as np
import pytest
import timm
import torch
from torch import nn

from inspkit.errors import InputError
from inspkit.explain import (
    cam_on_target,
    default_target_layer,
    eigen_cam,
    grad_cam,
    overlay,
    roi_mask,
)
from inspkit.types import Roi

SIDE = 32
TOP_LEFT = np.zeros((SIDE, SIDE), dtype=bool)
TOP_LEFT[: SIDE // 2, : SIDE // 2] = True


class SquareNet(nn.Module):
    """conv -> ReLU -> max-pool -> global average -> linear, weights set by hand.

    Channel 0 fires on bright pixels and only it feeds class 1; channel 1 fires
    on dark pixels and only it feeds class 0. So class 1's evidence is exactly
    where the image is bright. The max-pool (x4) makes the CAM upsampling matter.
    """

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 2, 3, padding=1)
        self.act = nn.ReLU(inplace=True)
        self.pool = nn.MaxPool2d(4)
        self.gap = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(2, 2)
        with torch.no_grad():
            self.conv.weight.copy_(
                torch.stack([torch.full((3, 3, 3), 2 / 27), torch.full((3, 3, 3), -1 / 27)])
            )
            self.conv.bias.copy_(torch.tensor([-1.0, 0.5]))
            self.fc.weight.copy_(torch.tensor([[0.0, 10.0], [10.0, 0.0]]))
            self.fc.bias.zero_()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.gap(self.pool(self.act(self.conv(x)))).flatten(1))


def _square_image() -> torch.Tensor:
    """Dark frame with one bright 8x8 square in the top-left quadrant."""
    x = torch.zeros(1, 3, SIDE, SIDE)
    x[:, :, 4:12, 5:13] = 1.0
    return x


def _assert_cam(cam: np.ndarray, hw: tuple[int, int]) -> None:
    assert cam.shape == hw and cam.dtype == np.float32
    assert np.all(np.isfinite(cam)) and cam.min() >= 0.0 and cam.max() <= 1.0


def _output_shape(model: nn.Module, layer: nn.Module, x: torch.Tensor) -> tuple[int, ...]:
    seen: list[tuple[int, ...]] = []
    handle = layer.register_forward_hook(lambda m, i, o: seen.append(tuple(o.shape)))
    try:
        model.eval()
        with torch.no_grad():
            model(x)
    finally:
        handle.remove()
    return seen[-1]


def _no_hooks(model: nn.Module) -> bool:
    return all(
        not m._forward_hooks and not m._forward_pre_hooks and not m._backward_hooks
        for m in model.modules()
    )


# --------------------------------------------------------------------------- known answer


def test_grad_cam_puts_class_evidence_on_the_bright_square() -> None:
    model, x = SquareNet(), _square_image()
    cam = grad_cam(model, x, model.pool, class_index=1)
    _assert_cam(cam, (SIDE, SIDE))
    assert cam_on_target(cam, TOP_LEFT) > 0.6
    assert cam[4:12, 5:13].mean() > 0.5 > cam[20:, 20:].mean()


def test_grad_cam_of_the_other_class_avoids_the_square() -> None:
    model = SquareNet()
    cam = grad_cam(model, _square_image(), model.pool, class_index=0)
    assert cam_on_target(cam, TOP_LEFT) < 0.4


def test_eigen_cam_finds_the_square_without_gradients() -> None:
    model = SquareNet()
    cam = eigen_cam(model, _square_image(), model.pool)
    _assert_cam(cam, (SIDE, SIDE))
    assert cam_on_target(cam, TOP_LEFT) > 0.6


def test_flat_input_gives_an_all_zero_map() -> None:
    model = SquareNet()
    flat = torch.zeros(1, 3, SIDE, SIDE)
    assert not grad_cam(model, flat, model.pool, 0).any()
    assert not eigen_cam(model, flat, model.pool).any()


# --------------------------------------------------------------------------- model left as found


def test_hooks_mode_flags_and_grads_are_left_as_found() -> None:
    model = SquareNet().train()
    model.fc.eval()
    model.conv.weight.requires_grad_(False)
    flags = [p.requires_grad for p in model.parameters()]
    with torch.no_grad():  # a caller's no_grad must not break Grad-CAM
        grad_cam(model, _square_image(), model.act, 1)
    eigen_cam(model, _square_image(), model.act)
    assert _no_hooks(model)
    assert [m.training for m in model.modules()] == [True, True, True, True, True, False]
    assert [p.requires_grad for p in model.parameters()] == flags
    assert all(p.grad is None for p in model.parameters())


def test_hooks_are_removed_and_mode_restored_on_error() -> None:
    model = SquareNet().train()
    with pytest.raises(InputError, match="class_index 5"):
        grad_cam(model, _square_image(), model.pool, class_index=5)
    with pytest.raises(InputError, match="feature map"):
        grad_cam(model, _square_image(), model.fc, class_index=0)
    with pytest.raises(InputError, match="did not run"):
        eigen_cam(model, _square_image(), nn.Conv2d(3, 1, 1))
    assert _no_hooks(model) and all(m.training for m in model.modules())


def test_bad_input_is_refused() -> None:
    model = SquareNet()
    with pytest.raises(InputError, match=r"\(1, C, H, W\)"):
        grad_cam(model, torch.zeros(2, 3, SIDE, SIDE), model.pool, 0)
    with pytest.raises(InputError, match="float"):
        eigen_cam(model, torch.zeros(1, 3, SIDE, SIDE, dtype=torch.uint8), model.pool)


# --------------------------------------------------------------------------- real architectures

TIMM_CASES = [
    # name, extra create_model kwargs, input side, the expected target layer
    ("resnet18", {}, 64, lambda m: m.layer4),
    # a small pre-logits MLP keeps vgg fast to build; target: the ReLU before the last pool
    ("vgg11", {"mlp_ratio": 0.0625}, 64, lambda m: m.features[-2]),
    ("mobilenetv3_small_050", {}, 64, lambda m: m.blocks[-1]),
    ("efficientnet_b0", {}, 64, lambda m: m.bn2),
    ("legacy_xception", {}, 64, lambda m: m.act4),
    ("xception41", {}, 64, lambda m: m.blocks[-1]),
    ("inception_v3", {}, 75, lambda m: m.Mixed_7c),  # needs >= 75 px
]


@pytest.mark.parametrize(
    ("name", "kwargs", "side", "expected"), TIMM_CASES, ids=[c[0] for c in TIMM_CASES]
)
def test_timm_default_layer_is_spatial_and_grad_cam_works(name, kwargs, side, expected) -> None:
    torch.manual_seed(0)
    model = timm.create_model(name, pretrained=False, num_classes=2, **kwargs)
    layer = default_target_layer(model, f"timm:{name}")
    assert layer is expected(model)
    x = torch.rand(1, 3, side, side)
    assert len(_output_shape(model, layer, x)) == 4
    model.train()
    cam = grad_cam(model, x, layer, class_index=1)
    _assert_cam(cam, (side, side))
    assert model.training and _no_hooks(model)


def test_timm_family_rules_cover_variants_and_fall_back_to_last_conv() -> None:
    model = timm.create_model("resnet18", pretrained=False, num_classes=2)
    assert default_target_layer(model, "timm:resnet18.a1_in1k") is model.layer4
    tiny = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.Conv2d(4, 5, 3), nn.Flatten())
    assert default_target_layer(tiny, "timm:somenet") is tiny[2]
    assert default_target_layer(tiny, "timm:resnet50") is tiny[2]  # no layer4: fallback
    with pytest.raises(InputError, match="no Conv2d"):
        default_target_layer(nn.Linear(2, 2), "timm:mlp")
    with pytest.raises(InputError, match="prefix"):
        default_target_layer(tiny, "resnet18")


def test_yolo_default_layer_and_eigen_cam() -> None:
    from ultralytics.nn.tasks import DetectionModel

    torch.manual_seed(0)
    model = DetectionModel("yolov8n.yaml", nc=3, verbose=False)  # built from yaml: no download
    layer = default_target_layer(model, "yolo:yolov8n")
    assert layer is model.model[model.model[-1].f[-1]] and layer is model.model[-2]
    cam = eigen_cam(model, torch.rand(1, 3, 64, 64), layer)
    _assert_cam(cam, (64, 64))
    assert model.training and _no_hooks(model)
    with pytest.raises(InputError, match="ultralytics"):
        default_target_layer(nn.Conv2d(3, 1, 1), "yolo:yolov8n")


# --------------------------------------------------------------------------- scoring and overlay


def test_cam_on_target_edge_cases() -> None:
    cam = np.zeros((8, 8), dtype=np.float32)
    assert cam_on_target(cam, np.ones((8, 8), bool)) == 0.0
    cam[0, 0], cam[7, 7] = 1.0, 3.0
    assert cam_on_target(cam, np.ones((8, 8), bool)) == pytest.approx(1.0)
    assert cam_on_target(cam, np.zeros((8, 8), bool)) == 0.0
    corner = np.zeros((8, 8), bool)
    corner[7, 7] = True
    assert cam_on_target(cam, corner) == pytest.approx(0.75)


def test_cam_on_target_resizes_the_cam_to_the_mask() -> None:
    cam = np.zeros((4, 4), dtype=np.float32)
    cam[:2, :2] = 1.0
    big_quadrant = np.zeros((64, 64), bool)
    big_quadrant[:32, :32] = True
    assert cam_on_target(cam, big_quadrant) > 0.85
    assert cam_on_target(cam, ~big_quadrant) < 0.15
    with pytest.raises(InputError):
        cam_on_target(np.full((4, 4), np.nan), big_quadrant)


def test_roi_mask_is_clipped_to_the_image() -> None:
    mask = roi_mask((10, 20), Roi(cx=10, cy=5, h=4, w=6))
    assert mask.dtype == bool and mask.shape == (10, 20)
    assert mask.sum() == 24 and mask[3:7, 7:13].all()
    edge = roi_mask((10, 20), Roi(cx=0, cy=0, h=4, w=4))
    assert edge.sum() == 4 and edge[:2, :2].all()
    assert not roi_mask((10, 20), Roi(cx=-50, cy=5, h=4, w=4)).any()
    assert not roi_mask((10, 20), Roi(cx=90, cy=90, h=4, w=4)).any()


def test_overlay_blends_jet_colours_in_rgb() -> None:
    image = np.full((16, 24, 3), 128, dtype=np.uint8)
    cam = np.zeros((4, 4), dtype=np.float32)
    cam[:, 2:] = 1.0
    out = overlay(image, cam, alpha=0.5)
    assert out.shape == image.shape and out.dtype == np.uint8
    cold, hot = out[8, 0].astype(int), out[8, -1].astype(int)
    assert cold[2] > cold[0]  # JET 0 is blue: the RGB blue channel wins
    assert hot[0] > hot[2]  # JET 1 is red
    assert np.array_equal(overlay(image, cam, alpha=0.0), image)


def test_overlay_refuses_bad_input() -> None:
    with pytest.raises(InputError, match="uint8"):
        overlay(np.zeros((8, 8), np.uint8), np.zeros((8, 8)))
    with pytest.raises(InputError, match="alpha"):
        overlay(np.zeros((8, 8, 3), np.uint8), np.zeros((8, 8)), alpha=1.5)
