"""``augment --gan``: a conditional GAN's images become marked training samples; bad requests are one line."""

from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3
from pathlib import Path

import pytest
import torch
import yaml
from typer.testing import CliRunner

from inspkit.cli import app
from inspkit.models.gan import build_generator, check_size, generate, train_gan, GanConfig
from tests.conftest import small_recipe_dict


def _run(*args: object) -> str:
    result = CliRunner().invoke(app, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    return result.output


@pytest.mark.parametrize("size", [32, 48, 64, 224])
def test_generator_makes_images_of_the_recipe_size(size: int) -> None:
    out = build_generator(size, 3, 32)(torch.randn(2, 64), torch.tensor([0, 2]))
    assert out.shape == (2, 3, size, size) and out.min() >= -1 and out.max() <= 1


@pytest.mark.parametrize("size", [16, 100, 512])
def test_sizes_the_gan_cannot_make_are_refused(size: int) -> None:
    with pytest.raises(ValueError, match="32 to 256 px"):
        check_size(size)


def test_generation_is_seeded_and_conditioned() -> None:
    images = torch.randint(0, 256, (12, 3, 32, 32), dtype=torch.uint8)
    result = train_gan(images, torch.arange(12) % 3, 3, GanConfig(steps=3, batch_size=4, width=32))
    classes = torch.tensor([0, 1, 2, 0])
    a = generate(result.generator, classes, seed=5, device="cpu")
    assert a.dtype == torch.uint8 and a.shape == (4, 3, 32, 32)
    assert torch.equal(a, generate(result.generator, classes, seed=5, device="cpu"))
    assert not torch.equal(a, generate(result.generator, classes, seed=6, device="cpu"))


@pytest.fixture(scope="session")
def _trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("gan")
    recipe = base / "recipe.yaml"
    recipe.write_text(yaml.safe_dump(small_recipe_dict(), sort_keys=False))
    ws = base / "ws"
    _run("init", ws, "--recipe", recipe)
    _run("collect", "-w", ws, "--source", "sim:48")
    _run("label", "-w", ws, "--from-truth")
    _run("crop", "-w", ws)
    _run("train", "-w", ws, "--candidates", "timm:resnet18", "--epochs", "1")
    return base


@pytest.fixture
def trained(_trained: Path, tmp_path: Path) -> Path:
    shutil.copytree(_trained, tmp_path / "gan")
    return tmp_path / "gan" / "ws"


def _generated(ws: Path) -> list[dict]:
    with sqlite3.connect(ws / "samples.db") as conn:
        conn.row_factory = sqlite3.Row
        rows = conn.execute("SELECT * FROM samples WHERE derivation LIKE '%\"gan\"%'").fetchall()
    return [dict(r) for r in rows]


def test_gan_adds_marked_training_samples_linked_to_a_stored_generator(trained: Path) -> None:
    out = _run("augment", "-w", trained, "--gan", "--count", "6", "--steps", "4", "--device", "cpu")
    rows = _generated(trained)
    assert len(rows) == 6
    assert {(r["source"], r["split"], r["label"]) for r in rows} == {("augment", "train", "NG")}
    derivations = [json.loads(r["derivation"]) for r in rows]
    assert {d["generator"] for d in derivations} == {"v0002"}
    meta = json.loads((trained / "models" / "v0002" / "meta.json").read_text())
    assert meta["task"] == "generate" and meta["input_size"] == 32
    assert {r["defect_type"] for r in rows} <= set(meta["classes"])
    assert "quality (v0001's features)" in out and "fidelity" in out
    sheets = list((trained / "runs").glob("gan-v0002/generated.png"))
    assert len(sheets) == 1 and sheets[0].stat().st_size > 0
    _run("crop", "-w", trained)  # a later crop leaves generated images alone: they are no camera frames
    with sqlite3.connect(trained / "samples.db") as conn:
        ids = ",".join(str(r["id"]) for r in rows)
        assert conn.execute(f"SELECT COUNT(*) FROM samples WHERE parent_id IN ({ids})").fetchone()[0] == 0


def test_one_defect_type_on_request_and_the_generator_never_inspects(trained: Path) -> None:
    _run("augment", "-w", trained, "--gan", "--count", "3", "--defect-type", "lump", "--steps", "2", "--device", "cpu")
    assert [r["defect_type"] for r in _generated(trained)] == ["lump"] * 3
    _run("augment", "-w", trained, "--gan", "--count", "2", "--steps", "2", "--device", "cpu")
    assert len(_generated(trained)) == 5  # the same seed again still adds new images
    result = CliRunner().invoke(app, ["models", "promote", "v0002", "-w", str(trained)])
    assert result.exit_code != 0 and "cannot inspect parts" in result.output


def _fingerprint(ws: Path) -> tuple:
    files = sorted((str(p.relative_to(ws)), hashlib.sha256(p.read_bytes()).hexdigest())
                   for p in ws.rglob("*") if p.is_file() and not p.name.startswith(("samples.db", ".lock")))
    with sqlite3.connect(ws / "samples.db") as conn:
        return files, conn.execute("SELECT * FROM samples ORDER BY id").fetchall()


def _few(trained: Path) -> list[str]:
    few = trained.parent / "few"
    _run("init", few, "--recipe", trained.parent / "recipe.yaml")
    _run("collect", "-w", few, "--source", "sim:8")
    _run("label", "-w", few, "--from-truth")
    return ["-w", str(few)]


def _detector(trained: Path) -> list[str]:
    recipe = trained.parent / "detect.yaml"
    data = small_recipe_dict(task="detect")
    data["train"]["candidates"] = ["yolo:yolov8n"]
    recipe.write_text(yaml.safe_dump(data, sort_keys=False))
    _run("init", trained.parent / "det", "--recipe", recipe)
    return ["-w", str(trained.parent / "det")]


BAD = {
    "detector recipe": (lambda ws: ["--count", "2"] + _detector(ws), "makes images for classifiers"),
    "count zero": (lambda ws: ["--count", "0"], "--count must be 1 or more"),
    "no count": (lambda ws: [], "--gan needs --count N"),
    "unknown type": (lambda ws: ["--count", "2", "--defect-type", "scratch"], "unknown defect type 'scratch'"),
    "unknown label": (lambda ws: ["--count", "2", "--label", "MAYBE"], "label 'MAYBE' is not one of"),
    "too few images": (lambda ws: ["--count", "2"] + _few(ws), "needs at least 10 labelled NG images"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_requests_are_one_line_and_change_nothing(trained: Path, case: str) -> None:
    make, message = BAD[case]
    extra = make(trained)
    target = Path(extra[extra.index("-w") + 1]) if "-w" in extra else trained
    before = _fingerprint(target)
    args = ["augment", "-w", str(trained), "--gan", "--steps", "2", "--device", "cpu"] + extra
    result = CliRunner().invoke(app, args)
    assert result.exit_code != 0 and message in result.output, result.output
    assert len(result.output.strip().splitlines()) == 1
    assert _fingerprint(target) == before
