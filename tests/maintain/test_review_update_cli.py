"""``inspkit review`` (list, export, import), ``inspkit update`` and the maintenance part of ``status``."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from inspkit.cli import app
from inspkit.maintain.reviews import ReviewStore
from inspkit.store.workspace import Workspace


def _run(*args: object):
    return CliRunner().invoke(app, [str(a) for a in args])


def _fill(path: Path, answers: dict[int, tuple[str, str]]) -> None:
    """Fill 'correct'/'attention' of the exported rows at the given positions."""
    rows = list(csv.DictReader(path.open()))
    for i, (correct, attention) in answers.items():
        rows[i]["correct"], rows[i]["attention"] = correct, attention
    with path.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=rows[0].keys())
        writer.writeheader()
        writer.writerows(rows)


def _registry(ws: Path) -> dict:
    return json.loads((ws / "models" / "registry.json").read_text())


def _review_some_as_failed(ws: Path, tmp_path: Path, n: int) -> None:
    out = tmp_path / "queue.csv"
    assert _run("review", "-w", ws, "--export", out).exit_code == 0
    _fill(out, {i: ("wrong", "") if i % 2 else ("right", "training-fail") for i in range(n)})
    result = _run("review", "-w", ws, "--import", out)
    assert result.exit_code == 0, result.output


def test_review_lists_the_queue_and_refuses_a_bad_alpha(scored_ws: Path) -> None:
    result = _run("review", "-w", scored_ws)
    assert result.exit_code == 0, result.output
    assert "12 sample(s), 12 left" in result.output
    bad = _run("review", "-w", scored_ws, "--alpha", "0.7")
    assert bad.exit_code != 0 and "alpha is 0.7" in bad.output and "Traceback" not in bad.output


def test_export_import_round_trip_counts_failed_samples(scored_ws: Path, tmp_path: Path) -> None:
    _review_some_as_failed(scored_ws, tmp_path, 4)
    with Workspace.open(scored_ws) as ws:
        assert len(ReviewStore(ws.conn).failed()) == 4
    again = tmp_path / "again.csv"
    _run("review", "-w", scored_ws, "--export", again)
    assert _run("review", "-w", scored_ws, "--import", again).output.startswith("imported 0 decision(s)")


def test_import_of_an_unknown_sample_or_bad_value_stores_nothing(scored_ws: Path, tmp_path: Path) -> None:
    out = tmp_path / "queue.csv"
    _run("review", "-w", scored_ws, "--export", out)
    _fill(out, {0: ("wrong", ""), 1: ("maybe", "")})
    bad = _run("review", "-w", scored_ws, "--import", out)
    assert bad.exit_code != 0 and "line 3: correct is 'maybe'" in bad.output
    text = out.read_text().replace("maybe", "right").splitlines()
    text[1] = "999999" + text[1][text[1].index(","):]
    out.write_text("\n".join(text) + "\n")
    unknown = _run("review", "-w", scored_ws, "--import", out)
    assert unknown.exit_code != 0 and "sample 999999 is not in the review queue" in unknown.output
    with Workspace.open(scored_ws) as ws:
        assert ReviewStore(ws.conn).failed() == []


def test_update_with_empty_failed_set_is_a_no_op(scored_ws: Path) -> None:
    result = _run("update", "-w", scored_ws, "--finetune")
    assert result.exit_code == 0, result.output
    assert "D̄ is empty" in result.output and "no version was made" in result.output
    assert sorted(_registry(scored_ws)["versions"]) == ["v0001"]


def test_finetune_makes_a_child_version_and_consumes_its_samples(scored_ws: Path, tmp_path: Path,
                                                                 monkeypatch) -> None:
    import inspkit.maintain.update as update

    _review_some_as_failed(scored_ws, tmp_path, 3)
    monkeypatch.setattr(update, "_pair", lambda old, new, data, device: (0.5, 0.75))
    result = _run("update", "-w", scored_ws, "--finetune", "--device", "cpu")
    assert result.exit_code == 0, result.output
    meta = json.loads((scored_ws / "models" / "v0002" / "meta.json").read_text())
    assert meta["parent"] == "v0001" and meta["extra"]["update"] == "finetune" and meta["extra"]["samples"] == 3
    assert "promoted: not worse (test 0.500 → 0.750" in result.output
    assert _registry(scored_ws)["production"] == "v0002"
    again = _run("update", "-w", scored_ws, "--finetune")
    assert "D̄ is empty" in again.output  # the same samples are not learned twice


def test_a_worse_version_stays_a_candidate_and_says_why(scored_ws: Path, tmp_path: Path, monkeypatch) -> None:
    import inspkit.maintain.update as update

    _review_some_as_failed(scored_ws, tmp_path, 2)
    monkeypatch.setattr(update, "_pair", lambda old, new, data, device: (0.9, 0.8))
    result = _run("update", "-w", scored_ws, "--finetune", "--device", "cpu")
    assert result.exit_code == 0, result.output
    assert "kept as a candidate: test accuracy 0.800 < 0.900" in result.output
    reg = _registry(scored_ws)
    assert reg["production"] == "v0001" and reg["versions"]["v0002"]["stage"] == "candidate"


def test_a_crash_during_an_update_leaves_production_and_no_partial_version(scored_ws: Path, tmp_path: Path,
                                                                           monkeypatch) -> None:
    import inspkit.maintain.update as update

    _review_some_as_failed(scored_ws, tmp_path, 2)

    def crash(*_a, **_k):
        raise RuntimeError("power cut")

    monkeypatch.setattr(update, "finetune", crash)
    result = _run("update", "-w", scored_ws, "--finetune", "--device", "cpu")
    assert result.exit_code != 0 and "power cut" in result.output
    assert _registry(scored_ws)["production"] == "v0001"
    assert sorted(p.name for p in (scored_ws / "models").iterdir() if p.is_dir()) == ["v0001"]
    with Workspace.open(scored_ws) as ws:
        assert ReviewStore(ws.conn).updates() == []


def test_fsr_over_beta_retrains_and_resets_the_accumulation(scored_ws: Path, tmp_path: Path,
                                                            monkeypatch) -> None:
    import inspkit.maintain.update as update

    monkeypatch.setattr(update, "_pair", lambda old, new, data, device: (0.5, 0.75))
    _review_some_as_failed(scored_ws, tmp_path, 6)
    status = _run("status", "-w", scored_ws)
    assert "re-train due" in status.output and "v0001" in status.output
    result = _run("update", "-w", scored_ws, "--beta", "0.05", "--device", "cpu")
    assert result.exit_code == 0, result.output
    assert "FSR" in result.output and "re-train on D ∪ 6 failed samples (FSR" in result.output
    meta = json.loads((scored_ws / "models" / "v0002" / "meta.json").read_text())
    assert meta["extra"]["update"] == "retrain"
    assert _registry(scored_ws)["production"] == "v0002"
    after = _run("status", "-w", scored_ws)
    assert "FSR 0.000" in after.output and "|D| 34" in after.output  # D grew by the 6 merged samples


@pytest.mark.parametrize("beta", ["0", "1.5"])
def test_beta_out_of_range_is_refused(scored_ws: Path, beta: str) -> None:
    result = _run("update", "-w", scored_ws, "--beta", beta)
    assert result.exit_code != 0 and f"beta is {float(beta)}" in result.output


def test_the_demo_reviewer_answers_from_ground_truth(scored_ws: Path, tmp_path: Path) -> None:
    from simulator.review_fill import fill

    out = tmp_path / "queue.csv"
    _run("review", "-w", scored_ws, "--export", out)
    answered, wrong = fill(scored_ws, out)
    assert answered == 12
    assert _run("review", "-w", scored_ws, "--import", out).exit_code == 0
    with Workspace.open(scored_ws) as ws:
        failed = ReviewStore(ws.conn).failed()
        assert len(failed) == wrong
        assert all(ws.samples.get(f.sample_id).truth.label == f.label for f in failed)
