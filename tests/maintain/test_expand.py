"""``inspkit expand``: a line-A model becomes a version in line B's workspace, or a one-line error."""

from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from inspkit.cli import app
from inspkit.maintain.expand import SourceRef, parse_source
from inspkit.models.store import ModelStore
from tests.conftest import RECIPES, small_recipe_dict


def _run(*args: object) -> str:
    result = CliRunner().invoke(app, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture(scope="session")
def _lines(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Line A with a tiny trained model; line B with 24 labelled and 8 unlabelled cropped frames."""
    base = tmp_path_factory.mktemp("lines")
    recipe = base / "recipe.yaml"
    recipe.write_text(yaml.safe_dump(small_recipe_dict(), sort_keys=False))
    a, b = base / "A", base / "B"
    _run("init", a, "--recipe", recipe)
    _run("collect", "-w", a, "--source", "sim:40")
    _run("label", "-w", a, "--from-truth")
    _run("crop", "-w", a)
    _run("train", "-w", a, "--candidates", "timm:resnet18", "--epochs", "1")
    recipe_b = base / "recipe-48px.yaml"  # line B's model size comes from init --image-size, as in the README
    recipe_b.write_text(yaml.safe_dump(small_recipe_dict(image_size=48), sort_keys=False))
    _run("init", b, "--recipe", recipe_b, "--image-size", "32")
    _run("collect", "-w", b, "--source", "sim:24", "--line", "B")
    _run("label", "-w", b, "--from-truth")
    _run("collect", "-w", b, "--source", "sim:8", "--line", "B", "--seed", "5")
    _run("crop", "-w", b)
    return base


@pytest.fixture
def lines(_lines: Path, tmp_path: Path) -> Path:
    target = tmp_path / "lines"
    shutil.copytree(_lines, target)
    return target


def _meta(ws: Path, version: str) -> dict:
    return json.loads((ws / "models" / version / "meta.json").read_text())


def test_dann_with_labels_stores_a_production_version_with_lineage(lines: Path) -> None:
    out = _run("expand", "--from", lines / "A", "--to", lines / "B", "--method", "dann",
               "--labels", "4", "--epochs", "1", "--device", "cpu")
    meta = _meta(lines / "B", "v0001")
    assert meta["extra"]["expanded_from"]["version"] == "v0001"
    assert meta["extra"]["expanded_from"]["workspace"] == str((lines / "A").resolve())
    assert (meta["extra"]["method"], meta["extra"]["labels"]) == ("dann", 4)
    assert ModelStore(lines / "B" / "models").production() == "v0001"  # line B had no model
    rows = (lines / "B" / "models" / "v0001" / "checkpoints.csv").read_text().splitlines()
    assert len(rows) == 3 and sum(r.endswith(",1") for r in rows[1:]) == 1  # epochs 0 and 1, one kept
    assert meta["roi"] is not None  # line B's crop window, applied to its raw frames
    assert "chose epoch" in out and "20 labelled line-B images not learned from" in out
    assert "dann from A:v0001" in _run("models", "list", "-w", lines / "B")


def test_adda_unsupervised_then_a_second_version_stays_candidate(lines: Path) -> None:
    _run("expand", "--from", f"{lines / 'A'}:v0001", "--to", lines / "B", "--method", "adda",
         "--epochs", "1", "--select", "dev", "--device", "cpu")
    _run("expand", "--from", lines / "A", "--to", lines / "B", "--method", "finetune",
         "--labels", "6", "--epochs", "1", "--device", "cpu")
    store = ModelStore(lines / "B" / "models")
    assert [v.meta.version for v in store.list()] == ["v0001", "v0002"]
    assert store.production() == "v0001"
    assert _meta(lines / "B", "v0001")["extra"]["criterion"] == "dev"
    assert _meta(lines / "B", "v0002")["extra"]["labels"] == 6


def test_the_stored_version_inspects_line_b_frames(lines: Path) -> None:
    from inspkit.data.imageio import read_image
    from inspkit.models.inferencer import Inferencer
    from inspkit.store.workspace import Workspace

    _run("expand", "--from", lines / "A", "--to", lines / "B", "--method", "dann", "--epochs", "1", "--device", "cpu")
    with Workspace.open(lines / "B") as ws:
        frame = next(iter(ws.samples.select("parent_id IS NULL")))
        image = read_image(ws.path(frame.image_path))
    result = Inferencer.load(lines / "B" / "models", device="cpu").predict(image)
    assert result.label in ("OK", "NG") and 0.0 <= result.p_ok <= 1.0


def _fingerprint(ws: Path) -> tuple:
    files = sorted((str(p.relative_to(ws)), hashlib.sha256(p.read_bytes()).hexdigest())
                   for p in ws.rglob("*") if p.is_file() and not p.name.startswith(("samples.db", ".lock")))
    with sqlite3.connect(ws / "samples.db") as conn:
        rows = conn.execute("SELECT * FROM samples ORDER BY id").fetchall()
    return files, rows


def _other_recipe(lines: Path, name: str, crop: bool = True, **changes: object) -> Path:
    data = small_recipe_dict(**changes)
    if name == "icons":
        data = yaml.safe_load((RECIPES / "nav-icons.yaml").read_text())
        data.update(image_size=32, storage={"warn_free_gb": 0.001, "min_free_gb": 0.0})
    path = lines / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    ws = lines / name
    _run("init", ws, "--recipe", path)
    _run("collect", "-w", ws, "--source", "sim:6")
    if crop:
        _run("crop", "-w", ws)
    return ws


def _taxonomy_without_lump() -> dict:
    taxonomy = dict(small_recipe_dict()["taxonomy"])
    del taxonomy["lump"]
    return {"taxonomy": taxonomy}


BAD = {
    "classes": (lambda lines: ["--to", _other_recipe(lines, "icons")], "classes differ"),
    "taxonomy": (lambda lines: ["--to", _other_recipe(lines, "tax", **_taxonomy_without_lump())],
                 "taxonomies differ (only on line A: lump"),
    "input size": (lambda lines: ["--to", _other_recipe(lines, "big", image_size=48)], "input sizes differ"),
    "frames, not crops": (lambda lines: ["--to", _other_recipe(lines, "raw", crop=False)],
                          "inspects ROI crops but line B's images are whole frames"),
    "crops and frames mixed": (lambda lines: _uncropped_frames_in_b(lines), "4 of line B's frames are not cropped yet"),
    "negative labels": (lambda lines: ["--labels", "-1"], "--labels must be 0 or more"),
    "finetune on one label": (lambda lines: ["--method", "finetune", "--labels", "1"], "N ≥ 2"),
    "zero learning rate": (lambda lines: ["--lr", "0"], "--lr must be above 0"),
    "empty target": (lambda lines: ["--to", _empty(lines)], "has no images"),
    "missing version": (lambda lines: ["--from", f"{lines / 'A'}:v0042"], "'v0042' does not exist"),
    "not a workspace": (lambda lines: ["--from", lines / "nowhere"], "is not an inspkit workspace"),
    "too many labels": (lambda lines: ["--labels", "25"], "line B has 24 labelled images"),
    "finetune without labels": (lambda lines: ["--method", "finetune"], "give --labels N"),
    "same workspace": (lambda lines: ["--from", lines / "B"], "same workspace"),
}


def _uncropped_frames_in_b(lines: Path) -> list:
    _run("collect", "-w", lines / "B", "--source", "sim:4", "--line", "B", "--seed", "9")
    return []


def _empty(lines: Path) -> Path:
    _run("init", lines / "empty", "--recipe", lines / "recipe.yaml")
    return lines / "empty"


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_input_is_one_line_and_changes_nothing(lines: Path, case: str) -> None:
    make, message = BAD[case]
    extra = make(lines)
    args = {"--from": lines / "A", "--to": lines / "B", "--method": "dann", "--epochs": "1", "--device": "cpu"}
    args.update(dict(zip(extra[::2], extra[1::2])))
    touched = [Path(args["--to"]), lines / "A"]
    before = [_fingerprint(ws) for ws in touched if (ws / "samples.db").exists()]
    result = CliRunner().invoke(app, ["expand"] + [str(x) for kv in args.items() for x in kv])
    assert result.exit_code != 0
    assert message in result.output, result.output
    assert len(result.output.strip().splitlines()) == 1 and "Traceback" not in result.output
    assert [_fingerprint(ws) for ws in touched if (ws / "samples.db").exists()] == before


@pytest.mark.parametrize("text, ref", [
    ("lineA", SourceRef(Path("lineA"))),
    ("lineA:v0003", SourceRef(Path("lineA"), "v0003")),
    ("odd:name", SourceRef(Path("odd:name"))),
    ("a:b:v0012", SourceRef(Path("a:b"), "v0012")),
])
def test_source_is_a_workspace_with_an_optional_version(text: str, ref: SourceRef) -> None:
    assert parse_source(text) == ref
