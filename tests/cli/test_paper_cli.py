"""``inspkit simulate --protocol paper``: bad input gives one line; a tiny run writes its files."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from inspkit.cli import app
from tests.cli.test_cli import _error_line
from tests.conftest import RECIPES


def _run(runner, *args):
    return runner.invoke(app, ["simulate", *(str(a) for a in args)])


@pytest.mark.parametrize(("args", "expected"), [
    (("--protocol", "fig11"), "unknown protocol 'fig11'"),
    (("--protocol", "paper", "--compare", "ft-only,sometimes"), "unknown update policy 'sometimes'"),
    (("--protocol", "paper", "--compare", "fsr,fsr"), "named twice"),
    (("--protocol", "paper", "--beta", "1.5"), "'manage.beta' is 1.5"),
    (("--protocol", "paper", "--alpha", "-0.1"), "'manage.alpha' is -0.1"),
    (("--protocol", "paper", "--image-size", "8"), "--image-size must be at least 16"),
    (("--protocol", "paper", "--days", "10"), "shorter than one tick"),
])
def test_bad_input_gives_one_line_errors(runner, tmp_path: Path, args: tuple, expected: str) -> None:
    assert expected in _error_line(_run(runner, *args, "--out", tmp_path / "out"))


def test_workspace_is_refused(runner, tmp_path: Path) -> None:
    assert "drop --workspace" in _error_line(_run(runner, "--protocol", "paper", "-w", tmp_path))


def test_a_tiny_run_writes_figure_table_and_summary(runner, tmp_path: Path) -> None:
    data = yaml.safe_load((RECIPES / "cylinder-bonding.yaml").read_text())
    data["product"].update(frame_h=64, frame_w=64)
    data["roi"] = {"cx": 32, "cy": 32, "h": 44, "w": 44, "margin": 0.0}
    recipe = tmp_path / "tiny.yaml"
    recipe.write_text(yaml.safe_dump(data, sort_keys=False))
    out = tmp_path / "run"
    result = _run(runner, "--protocol", "paper", "-r", recipe, "--compare", "ft-only,wt-only", "--days", 30,
                  "--image-size", 16, "--epochs", 1, "--out", out)
    assert result.exit_code == 0, result.output
    for name in ("fig10.png", "fig10.csv", "summary.md", "run.json"):
        assert (out / name).is_file(), name
    assert len((out / "fig10.csv").read_text().splitlines()) == 1 + 2 * 2
    assert "wt-only" in result.output and "fig10.png" in result.output
