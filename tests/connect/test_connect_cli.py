"""``inspkit connect`` and ``inspkit connect report`` as a user runs them; ``simulate --realtime``."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from inspkit.cli import app
from inspkit.connect.client import EdgeClient
from inspkit.connect.edge import start_edge
from inspkit.types import Goal, Verdict
from tests.conftest import small_recipe_dict
from tests.connect.edge_fixtures import edge_ws, frame_image, options, store_fresh_model  # noqa: F401


def test_connect_says_what_is_missing_in_one_line(runner, edge_ws: Path) -> None:  # noqa: ANN001
    result = runner.invoke(app, ["connect", "-w", str(edge_ws)])
    assert result.exit_code == 2 and "--plc modbus://HOST:PORT" in result.output
    result = runner.invoke(app, ["connect", "-w", str(edge_ws), "--plc", "ftp://plc"])
    assert result.exit_code == 2 and "not a PLC address" in result.output
    result = runner.invoke(app, ["connect", "-w", str(edge_ws), "--plc", "memory://", "--listen", "nowhere"])
    assert result.exit_code == 2 and len(result.output.strip().splitlines()) == 1
    short = edge_ws.parent / "key"
    short.write_text("abc")
    result = runner.invoke(app, ["connect", "-w", str(edge_ws), "--plc", "memory://", "--key-file", str(short)])
    assert result.exit_code == 2 and "at least 16" in result.output
    result = runner.invoke(app, ["connect", "-w", str(edge_ws), "--plc", "memory://", "--mes", "mysql://x/y",
                                 "--listen", "127.0.0.1:0", "--minutes", "0.01"])
    assert result.exit_code == 2 and "mysql" in result.output and "Traceback" not in result.output


def test_connect_runs_for_the_given_minutes_and_prints_its_counts(runner, edge_ws: Path) -> None:  # noqa: ANN001
    result = runner.invoke(app, ["connect", "-w", str(edge_ws), "--plc", "memory://", "--listen", "127.0.0.1:0",
                                 "--minutes", "0.02", "--device", "cpu"])
    assert result.exit_code == 0, result.output
    assert "listening on 127.0.0.1:" in result.output and "model v0001" in result.output
    assert "outbox left" in result.output


def test_a_shadow_period_is_reported_against_the_truth(runner, edge_ws: Path) -> None:  # noqa: ANN001
    running = start_edge(options(edge_ws, Goal.FP_REDUCTION, shadow=True))
    truth = edge_ws.parent / "truth.csv"
    rows = ["line,station,serial,truth"]
    with EdgeClient(*running.address, timeout_s=10) as client:
        for serial in range(12):
            good = serial % 3 != 0
            reply = client.inspect(serial, frame_image(good, serial), Verdict.NG, "L1", "S1")
            assert reply.final is Verdict.NG and reply.status == "shadow" and reply.model is not None
            rows.append(f"L1,S1,{serial},{'OK' if good else 'NG'}")
    assert running.stop()
    truth.write_text("\n".join(rows) + "\n")
    mes = f"sqlite:///{edge_ws.parent / 'mes.db'}"
    result = runner.invoke(app, ["connect", "report", "-w", str(edge_ws), "--mes", mes, "--truth", str(truth),
                                 "--goal", "fp-reduction", "--min-parts", "5"])
    assert result.exit_code == 0, result.output
    assert "12 part(s), 12 with known truth" in result.output
    assert "vision station" in result.output and "live routing" in result.output and "go live" in result.output
    assert "model inspected 12 part(s)" in result.output
    later = runner.invoke(app, ["connect", "report", "-w", str(edge_ws), "--mes", mes, "--since", "2999-01-01"])
    assert later.exit_code == 0 and "0 part(s)" in later.output and "not yet" in later.output
    bad = runner.invoke(app, ["connect", "report", "-w", str(edge_ws), "--mes", mes, "--since", "yesterday"])
    assert bad.exit_code == 2 and "ISO 8601" in bad.output


def test_simulate_realtime_ends_every_part_with_one_mes_record_and_one_plc_result(runner, tmp_path: Path) -> None:  # noqa: ANN001
    data = small_recipe_dict()
    data["line"]["cycle_time_ms"] = 200
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(yaml.safe_dump(data, sort_keys=False))
    assert runner.invoke(app, ["init", str(tmp_path / "ws"), "--recipe", str(recipe)]).exit_code == 0
    store_fresh_model(tmp_path / "ws" / "models")
    out = tmp_path / "run"
    result = runner.invoke(app, ["simulate", "--realtime", "--minutes", "0.1", "-w", str(tmp_path / "ws"),
                                 "--out", str(out), "--device", "cpu"])
    assert result.exit_code == 0, result.output + (out / "connect.log").read_text()
    counts = json.loads((out / "realtime.json").read_text())
    assert counts["sent"] >= 20
    assert counts["sent"] == counts["replies"] == counts["plc_results"] == counts["mes_records"]
    assert counts["errors"] == 0 and counts["mes_duplicates"] == 0
    assert "exactly one MES record and one PLC result" in result.output
    assert (out / "truth.csv").read_text().count("\n") == counts["sent"] + 1


def test_connect_without_a_model_warns_that_every_part_gets_the_fail_safe(runner, tmp_path: Path,  # noqa: ANN001
                                                                          recipe_file: Path) -> None:
    assert runner.invoke(app, ["init", str(tmp_path / "bare"), "--recipe", str(recipe_file)]).exit_code == 0
    result = runner.invoke(app, ["connect", "-w", str(tmp_path / "bare"), "--plc", "memory://",
                                 "--listen", "127.0.0.1:0", "--minutes", "0.01"])
    assert result.exit_code == 0, result.output
    assert "no production model" in result.output and "model none" in result.output
