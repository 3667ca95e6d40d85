"""YOLO detector wrapper: dataset layout, offline training, evaluation, prediction.

Training runs once per module (yolov8n, 2 epochs, 64 px, 8 images) with the
network blocked; the tests below read what it recorded.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

import cv2
import numpy as np
import pytest
import yaml

from inspkit.errors import InputError, LabelError
from inspkit.models import yolo
from inspkit.models.yolo import YoloItem
from inspkit.types import Box

CLASSES = ("scratch", "dent")
SPLIT_OF = ("train",) * 4 + ("val",) * 2 + ("test",) * 2
HOME_SETTINGS = Path.home() / ".config" / "Ultralytics"


def _square_image(path: Path, seed: int, defect: bool) -> Path:
    """A 64x64 grey-noise part; a defect is a bright 16 px square at (20..35, 24..39)."""
    rng = np.random.default_rng(seed)
    image = rng.integers(40, 80, (64, 64, 3), dtype=np.uint8)
    if defect:
        image[24:40, 20:36] = 250
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), image)
    return path


DEFECT_BOX = Box(cx=28.0, cy=32.0, h=16.0, w=16.0, label="scratch")


def _items(folder: Path) -> list[YoloItem]:
    items = []
    for i, split in enumerate(SPLIT_OF):
        defect = i % 2 == 1
        path = _square_image(folder / f"part{i}.png", seed=i, defect=defect)
        items.append(YoloItem(path, (DEFECT_BOX,) if defect else (), split))
    return items


def _rows(label_file: Path) -> list[list[str]]:
    return [line.split() for line in label_file.read_text().splitlines()]


def _snapshot(folder: Path) -> dict[str, float]:
    if not folder.exists():
        return {}
    return {str(p): p.stat().st_mtime for p in folder.rglob("*")}


# --- write_dataset -------------------------------------------------------------------------


def test_write_dataset_layout_and_labels(tmp_path: Path) -> None:
    ok = _square_image(tmp_path / "src" / "ok.png", 1, defect=False)
    ng = _square_image(tmp_path / "src" / "ng.png", 2, defect=True)
    wide = tmp_path / "src" / "wide.png"
    cv2.imwrite(str(wide), np.zeros((50, 100, 3), np.uint8))
    items = [
        YoloItem(ok, (), "train"),
        YoloItem(ng, (DEFECT_BOX, Box(10, 20, 4, 8, "dent", 0.9)), "train"),
        # Hangs over the right edge: cut to the image, centre moves inside.
        YoloItem(wide, (Box(cx=95, cy=25, h=10, w=20, label="dent"),), "val"),
    ]
    ds = tmp_path / "ds"
    data_yaml = yolo.write_dataset(ds, items, CLASSES)

    data = yaml.safe_load(data_yaml.read_text())
    assert data["path"] == str(ds.resolve())
    assert [data[k] for k in ("train", "val", "test")] == [f"images/{s}" for s in yolo.SPLITS]
    assert data["names"] == {0: "scratch", 1: "dent"}
    assert data["nc"] == 2
    images = sorted(p.name for p in (ds / "images" / "train").iterdir())
    assert images == ["000000_ok.png", "000001_ng.png"]
    assert (ds / "images" / "val" / "000002_wide.png").read_bytes() == wide.read_bytes()
    assert (ds / "images" / "test").is_dir()

    labels = ds / "labels"
    assert (labels / "train" / "000000_ok.txt").read_text() == ""
    rows = _rows(labels / "train" / "000001_ng.txt")
    assert [r[0] for r in rows] == ["0", "1"]
    assert [float(v) for v in rows[0][1:]] == pytest.approx([28 / 64, 32 / 64, 16 / 64, 16 / 64])
    assert [float(v) for v in rows[1][1:]] == pytest.approx([10 / 64, 20 / 64, 8 / 64, 4 / 64])
    (wide_row,) = _rows(labels / "val" / "000002_wide.txt")
    assert wide_row[0] == "1"
    # x from 85 to 100 (cut at 100) on a 100 x 50 image.
    assert [float(v) for v in wide_row[1:]] == pytest.approx([0.925, 0.5, 0.15, 0.2])


def test_write_dataset_replaces_stale_files(tmp_path: Path) -> None:
    items = _items(tmp_path / "src")
    yolo.write_dataset(tmp_path / "ds", items, CLASSES)
    yolo.write_dataset(tmp_path / "ds", items[:6], CLASSES)
    assert not any((tmp_path / "ds" / "images" / "test").iterdir())
    assert not any((tmp_path / "ds" / "labels" / "test").iterdir())


def test_write_dataset_rejects_bad_input(tmp_path: Path) -> None:
    items = _items(tmp_path / "src")
    with pytest.raises(LabelError, match="rust"):
        bad = YoloItem(items[1].image_path, (Box(5, 5, 2, 2, "rust"),), "train")
        yolo.write_dataset(tmp_path / "ds", [bad, *items], CLASSES)
    with pytest.raises(InputError, match="split"):
        yolo.write_dataset(tmp_path / "ds", [YoloItem(items[0].image_path, (), "holdout")], CLASSES)
    with pytest.raises(InputError, match="val"):
        yolo.write_dataset(tmp_path / "ds", items[:4], CLASSES)


# --- predict_boxes without a model ---------------------------------------------------------


class _FakeTensor:
    def __init__(self, values: list) -> None:
        self._values = np.asarray(values, dtype=np.float32)

    def cpu(self) -> _FakeTensor:
        return self

    def numpy(self) -> np.ndarray:
        return self._values


@dataclass
class _FakeDetector:
    """Records what predict_boxes hands to Ultralytics; answers one box per image."""

    seen: list = field(default_factory=list)
    kwargs: dict = field(default_factory=dict)

    def predict(self, source: list, **kwargs: object) -> list:
        self.seen, self.kwargs = source, kwargs
        boxes = SimpleNamespace(
            xywh=_FakeTensor([[10, 20, 6, 4]]), conf=_FakeTensor([0.7]), cls=_FakeTensor([1]),
        )
        return [SimpleNamespace(boxes=boxes) for _ in source]


def test_predict_boxes_feeds_bgr_and_maps_boxes() -> None:
    rgb = np.zeros((8, 8, 3), np.uint8)
    rgb[..., 0] = 200  # red
    detector = _FakeDetector()
    out = yolo.predict_boxes(detector, [rgb, rgb], imgsz=64, conf_floor=0.25, classes=CLASSES)
    assert detector.seen[0][0, 0].tolist() == [0, 0, 200]  # blue-green-red order
    assert detector.kwargs["conf"] == 0.25 and detector.kwargs["imgsz"] == 64
    assert detector.kwargs["batch"] == 2
    # Ultralytics' xywh is (cx, cy, w, h); Box is (cx, cy, h, w).
    assert out == [(Box(10.0, 20.0, 4.0, 6.0, "dent", pytest.approx(0.7)),)] * 2
    assert yolo.predict_boxes(detector, [], 64, 0.25, CLASSES) == []


# --- offline environment --------------------------------------------------------------------


def test_offline_environment_switches_everything_off() -> None:
    yolo.offline_environment()
    from ultralytics import utils

    settings_file = Path(utils.USER_CONFIG_DIR) / "settings.json"
    before = settings_file.stat().st_mtime_ns
    yolo.offline_environment()  # idempotent: nothing rewritten
    assert settings_file.stat().st_mtime_ns == before
    assert os.environ["YOLO_OFFLINE"] == "1" and os.environ["YOLO_AUTOINSTALL"] == "false"
    assert utils.SETTINGS["sync"] is False and utils.SETTINGS["api_key"] == ""
    assert not any(utils.SETTINGS[k] for k in ("mlflow", "comet", "clearml", "wandb", "dvc"))
    assert not utils.is_online()
    for font in ("Arial.ttf", "Arial.Unicode.ttf"):
        assert (Path(utils.USER_CONFIG_DIR) / font).stat().st_size > 0


def test_load_detector_never_fetches_a_missing_file(tmp_path: Path) -> None:
    # "yolov8n.pt" is a name Ultralytics would download when missing.
    with pytest.raises(InputError, match="does not exist"):
        yolo.load_detector(tmp_path / "yolov8n.pt", "cpu")
    assert not (tmp_path / "yolov8n.pt").exists()


def test_unknown_architecture_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="yolov99z"):
        yolo.train_detector(
            "yolov99z", tmp_path / "data.yaml", tmp_path,
            epochs=1, imgsz=64, batch=2, device="cpu", seed=0,
        )


# --- one training run with the network blocked -----------------------------------------------


@dataclass
class OfflineRun:
    run: yolo.DetectorRun
    test_metrics: dict[str, float]
    predictions: list[tuple[Box, ...]]
    epochs_seen: list[tuple[int, int]]
    network_attempts: list[str]
    amp_checks: int
    home_before: dict[str, float]
    home_after: dict[str, float]
    cwd_files: list[str]
    detector: object


def _block_network(mp: pytest.MonkeyPatch, attempts: list[str]) -> None:
    def refuse(name: str):
        def call(*args: object, **kwargs: object) -> None:
            attempts.append(f"{name}{args[:2]!r}")
            raise OSError(f"test blocks the network ({name})")
        return call

    mp.setattr(socket.socket, "connect", refuse("connect"))
    mp.setattr(socket.socket, "connect_ex", refuse("connect_ex"))
    mp.setattr(socket, "create_connection", refuse("create_connection"))
    mp.setattr(socket, "getaddrinfo", refuse("getaddrinfo"))
    mp.setattr(urllib.request, "urlopen", refuse("urlopen"))


@pytest.fixture(scope="module")
def offline_run(tmp_path_factory: pytest.TempPathFactory) -> OfflineRun:
    root = tmp_path_factory.mktemp("yolo")
    workdir = root / "cwd"
    workdir.mkdir()
    items = _items(root / "src")
    home_before = _snapshot(HOME_SETTINGS)
    attempts: list[str] = []
    epochs_seen: list[tuple[int, int]] = []
    amp_calls: list[object] = []
    with pytest.MonkeyPatch.context() as mp:
        _block_network(mp, attempts)
        mp.chdir(workdir)
        yolo.offline_environment()
        import ultralytics.engine.trainer as trainer_mod

        mp.setattr(trainer_mod, "check_amp", lambda model: amp_calls.append(model) or False)
        data_yaml = yolo.write_dataset(root / "ds", items, CLASSES)
        run = yolo.train_detector(
            "yolov8n", data_yaml, root / "run", epochs=2, imgsz=64, batch=4, device="cpu", seed=0,
            on_epoch=lambda done, total: epochs_seen.append((done, total)),
        )
        test_metrics = yolo.evaluate(run.weights, data_yaml, "test", 64, "cpu")
        detector = yolo.load_detector(run.weights, "cpu")
        rgb = [cv2.cvtColor(cv2.imread(str(i.image_path)), cv2.COLOR_BGR2RGB) for i in items[:3]]
        predictions = yolo.predict_boxes(detector, rgb, 64, 0.001, CLASSES)
        cwd_files = sorted(str(p.relative_to(workdir)) for p in workdir.rglob("*"))
    return OfflineRun(
        run, test_metrics, predictions, epochs_seen, attempts, len(amp_calls),
        home_before, _snapshot(HOME_SETTINGS), cwd_files, detector,
    )


def test_offline_training_makes_no_network_attempt(offline_run: OfflineRun) -> None:
    assert offline_run.network_attempts == []


def test_offline_training_leaves_home_and_cwd_alone(offline_run: OfflineRun) -> None:
    assert offline_run.home_after == offline_run.home_before
    # No yolo*.pt (AMP check), no Arial*.ttf (font check), no runs/ folder.
    assert offline_run.cwd_files == []


def test_amp_check_does_not_run(offline_run: OfflineRun) -> None:
    assert offline_run.amp_checks == 0


def test_train_detector_returns_a_run(offline_run: OfflineRun) -> None:
    run = offline_run.run
    assert run.weights.is_file() and run.weights.name in {"best.pt", "last.pt"}
    assert set(run.metrics) == {"precision", "recall", "map50", "map50_95"}
    assert all(0.0 <= v <= 1.0 for v in run.metrics.values())
    assert run.map50 == run.metrics["map50"]
    assert run.seconds > 0
    assert offline_run.epochs_seen == [(1, 2), (2, 2)]


def test_evaluate_returns_metrics(offline_run: OfflineRun) -> None:
    metrics = offline_run.test_metrics
    assert set(metrics) == {"precision", "recall", "map50", "map50_95"}
    assert all(0.0 <= v <= 1.0 for v in metrics.values())


def test_predict_boxes_is_well_formed(offline_run: OfflineRun) -> None:
    assert len(offline_run.predictions) == 3
    for boxes in offline_run.predictions:
        for box in boxes:
            assert box.label in CLASSES
            assert 0.001 <= box.confidence <= 1.0
            assert 0 <= box.cx <= 64 and 0 <= box.cy <= 64
            assert 0 < box.w <= 64 and 0 < box.h <= 64


def test_param_count_and_gflops(offline_run: OfflineRun) -> None:
    params, gflops = yolo.param_count_and_gflops(offline_run.detector, 64)
    assert 1_000_000 < params < 5_000_000  # yolov8n: about 3.0 M
    assert gflops > 0
    # The bare torch model gives the same answer.
    assert yolo.param_count_and_gflops(offline_run.detector.model, 64) == (params, gflops)


# --- the same, outside pytest ------------------------------------------------------------------

# Runs in a plain interpreter: Ultralytics skips telemetry and Platform callbacks when
# pytest is imported, so only a process without pytest shows what a plant would see.
_SCRIPT = """
import socket, sys, urllib.request
from pathlib import Path
import cv2, numpy as np
tried = []
def refuse(*a, **k):
    tried.append(repr(a[:2])); raise OSError("blocked")
socket.socket.connect = socket.create_connection = refuse
socket.getaddrinfo = urllib.request.urlopen = refuse
from inspkit.models import yolo
from inspkit.types import Box
root = Path(sys.argv[1])
items = []
for i, split in enumerate(["train"] * 4 + ["val"] * 2):
    image = np.full((64, 64, 3), 60, np.uint8)
    if i % 2:
        image[24:40, 20:36] = 250
    cv2.imwrite(str(root / f"src{i}.png"), image)
    boxes = (Box(28, 32, 16, 16, "scratch"),) if i % 2 else ()
    items.append(yolo.YoloItem(root / f"src{i}.png", boxes, split))
data = yolo.write_dataset(root / "ds", items, ["scratch"])
run = yolo.train_detector(
    "yolov8n", data, root / "run", epochs=1, imgsz=64, batch=4, device="cpu", seed=0)
detector = yolo.load_detector(run.weights, "cpu")
yolo.predict_boxes(detector, [np.zeros((64, 64, 3), np.uint8)], 64, 0.1, ["scratch"])
from ultralytics.utils import TESTS_RUNNING
assert not TESTS_RUNNING and "pytest" not in sys.modules
assert not tried, tried
"""


def test_offline_outside_pytest(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "YOLO_"))}
    env["YOLO_CONFIG_DIR"] = str(tmp_path / "cfg")
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[2])
    home_before = _snapshot(HOME_SETTINGS)
    done = subprocess.run(
        [sys.executable, "-c", _SCRIPT, str(tmp_path)], cwd=tmp_path, env=env,
        capture_output=True, text=True, timeout=300, check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout == ""  # the library never prints
    made = sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith("src"))
    assert made == ["cfg", "ds", "run"]
    assert _snapshot(HOME_SETTINGS) == home_before
