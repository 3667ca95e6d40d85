"""ONNX export: real timm models round-trip through onnxruntime; bad exports write nothing."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
timm = pytest.importorskip("timm")
ort = pytest.importorskip("onnxruntime")

from inspkit.errors import InputError, InspkitError
from inspkit.models.onnx_export import OPSET, OnnxCheck, export_onnx


class TinyNet(torch.nn.Module):
    """A conv classifier small enough to export in milliseconds."""

    def __init__(self, classes: int = 2) -> None:
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 4, 3, padding=1)
        self.head = torch.nn.Linear(4, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(torch.relu(self.conv(x)).mean(dim=(2, 3)))


class ExportDiffers(TinyNet):
    """Adds 1 to its logits only while being exported: the file cannot match eager."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        logits = super().forward(x)
        return logits + 1.0 if torch.onnx.is_in_onnx_export() else logits


class FrozenBatch(TinyNet):
    """Turns the batch size into a Python int, which tracing freezes at the trace batch."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        logits = super().forward(x)
        return logits.new_zeros(int(x.shape[0]), 2) + logits.sum()


class MakesNaN(TinyNet):
    """NaN logits: both runtimes agree on NaN, which must not count as agreement."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(x) * float("nan")


class NoOnnxOp(TinyNet):
    """Uses an operator the ONNX exporter has no translation for."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = torch.relu(self.conv(x)).mean(dim=(2, 3))
        return self.head(torch.linalg.svdvals(features[:, :, None] * features[:, None, :4]))


def _timm(name: str) -> torch.nn.Module:
    torch.manual_seed(0)
    return timm.create_model(name, pretrained=False, num_classes=2)


@pytest.mark.parametrize(("name", "size"), [("resnet18", 32), ("mobilenetv3_small_050", 64)])
def test_timm_model_exports_and_runs_with_dynamic_batch(
    tmp_path: Path, name: str, size: int
) -> None:
    model = _timm(name)
    path = tmp_path / f"{name}.onnx"

    check = export_onnx(model, size, path)

    assert isinstance(check, OnnxCheck)
    assert check.ok and check.path == path and check.opset == OPSET
    assert check.max_abs_diff < 1e-5 and check.tolerance == 1e-4
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]  # no temp file left
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == ["image"]
    assert session.get_inputs()[0].shape == ["batch", 3, size, size]
    assert [o.name for o in session.get_outputs()] == ["logits"]
    images = np.random.default_rng(7).standard_normal((3, 3, size, size), dtype=np.float32)
    (logits,) = session.run(None, {"image": images})
    with torch.no_grad():
        expected = model.eval()(torch.from_numpy(images)).numpy()
    assert logits.shape == (3, 2)
    np.testing.assert_allclose(logits, expected, atol=1e-4)


def test_missing_folders_are_created_and_training_mode_is_restored(tmp_path: Path) -> None:
    model = TinyNet().train()
    path = tmp_path / "models" / "v1" / "model.onnx"

    check = export_onnx(model, 16, path, samples=2, seed=3)

    assert path.is_file() and check.ok
    assert model.training


def test_model_that_exports_differently_raises_and_writes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "out" / "model.onnx"

    with pytest.raises(InspkitError, match=r"disagrees with torch: .* 1 > tolerance 0\.0001"):
        export_onnx(ExportDiffers(), 16, path)

    assert not path.parent.exists() or list(path.parent.iterdir()) == []


def test_failed_check_keeps_the_previous_file(tmp_path: Path) -> None:
    path = tmp_path / "model.onnx"
    path.write_bytes(b"previous good model")

    with pytest.raises(InspkitError, match="nothing was written"):
        export_onnx(ExportDiffers(), 16, path)

    assert path.read_bytes() == b"previous good model"
    assert [p.name for p in tmp_path.iterdir()] == ["model.onnx"]


@pytest.mark.filterwarnings("ignore::torch.jit.TracerWarning")
def test_batch_size_frozen_by_tracing_is_caught(tmp_path: Path) -> None:
    path = tmp_path / "model.onnx"

    with pytest.raises(InspkitError, match="inf > tolerance"):
        export_onnx(FrozenBatch(), 16, path)

    assert not path.exists()


def test_nan_logits_fail_the_check(tmp_path: Path) -> None:
    with pytest.raises(InspkitError, match="nan > tolerance"):
        export_onnx(MakesNaN(), 16, tmp_path / "model.onnx", samples=1)

    assert list(tmp_path.iterdir()) == []


def test_unexportable_op_is_an_inspkit_error(tmp_path: Path) -> None:
    with pytest.raises(InspkitError, match="cannot export NoOnnxOp to ONNX opset 17: .*svdvals"):
        export_onnx(NoOnnxOp(), 16, tmp_path / "model.onnx")

    assert list(tmp_path.iterdir()) == []


def test_parent_that_is_a_file_is_an_input_error(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")

    with pytest.raises(InputError, match="cannot write the ONNX file"):
        export_onnx(TinyNet(), 16, blocker / "model.onnx", samples=1)


@pytest.mark.parametrize(
    "kwargs", [{"samples": 0}, {"channels": 0}, {"tolerance": -1.0}, {"tolerance": float("nan")}]
)
def test_bad_arguments_are_input_errors(tmp_path: Path, kwargs: dict) -> None:
    with pytest.raises(InputError):
        export_onnx(TinyNet(), 16, tmp_path / "model.onnx", **kwargs)
