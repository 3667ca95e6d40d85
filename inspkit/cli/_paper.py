"""``inspkit simulate --protocol paper``: the paper's update-policy comparison (CLI-private).

Glue only: resolve the recipe and settings, run :func:`simulator.paper.run_protocol`
under a progress bar, write the files, render a table. The simulator is
imported here and nowhere else in inspkit's library.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from rich.table import Table

from inspkit.cli._common import console, err_console
from inspkit.errors import InputError
from inspkit.recipe import LabelKind, Recipe, load_recipe, with_overrides

PROTOCOLS = ("line", "paper")
_OUR_FILES = ("fig10.csv", "fig10.png", "summary.md", "run.json")


@dataclass(frozen=True)
class PaperRequest:
    """What the command line asked for.

    Attributes:
        recipe_path: The recipe YAML. out: The run folder (None: a new one).
        compare: Comma-separated policy names.
        overrides: Recipe values from flags (dotted keys; None keeps the recipe's).
        spec_values: ProtocolSpec fields from flags (None keeps the default).
        device: auto, cpu or cuda. command: The command line, for the record.
    """

    recipe_path: Path
    out: Path | None
    compare: str
    overrides: dict[str, Any]
    spec_values: dict[str, Any]
    device: str
    command: str


def check_protocol(name: str) -> str:
    """The protocol name, or an InputError naming the choices."""
    if name not in PROTOCOLS:
        raise InputError(f"unknown protocol {name!r}; expected one of: {', '.join(PROTOCOLS)}")
    return name


def run_paper(req: PaperRequest) -> None:
    """Resolve, run with a progress bar, write the files and print the summary."""
    from inspkit.models.device import resolve_device
    from simulator.paper_report import summarise, write_outputs

    recipe = _recipe(req)
    policies = _policies(req.compare, recipe.manage.beta)
    spec = _spec(recipe, req.spec_values)
    out = req.out or Path("simulate-runs") / f"{recipe.name}-paper-{datetime.now():%Y%m%d-%H%M%S}"
    _check_out(out)
    result = _run(recipe, spec, policies, resolve_device(req.device))
    files = write_outputs(result, out, req.command)
    console.print(_table(summarise(result), result))
    console.print(f"figure: [bold]{files.png}[/]  table: {files.csv}  summary: {files.summary}  run: {files.run_json}")


def _recipe(req: PaperRequest) -> Recipe:
    recipe = with_overrides(load_recipe(req.recipe_path), req.overrides)
    if recipe.labels is not LabelKind.OK_NG:
        raise InputError(f"recipe {recipe.name} labels parts into classes; the paper protocol needs an OK/NG recipe")
    return recipe


def _policies(names: str, beta: float) -> list[Any]:
    from inspkit.maintain.policy import parse_policies

    try:
        return parse_policies(names, beta)
    except ValueError as exc:
        raise InputError(f"--compare: {exc}") from None


def _spec(recipe: Recipe, values: dict[str, Any]) -> Any:
    """ProtocolSpec defaults, the recipe's seed and days, then the flags."""
    from simulator.paper_data import ProtocolSpec

    given = {k: v for k, v in values.items() if v is not None}
    spec = dataclasses.replace(ProtocolSpec(), seed=recipe.seed, days=recipe.simulate.days)
    spec = dataclasses.replace(spec, **given)
    if spec.image_size < 16 or spec.epochs < 1:
        raise InputError(f"--image-size must be at least 16 and --epochs at least 1; "
                         f"got {spec.image_size} and {spec.epochs}")
    if spec.days < spec.tick_days:
        raise InputError(f"--days {spec.days} is shorter than one tick ({spec.tick_days} days); give more days")
    return spec


def _check_out(out: Path) -> None:
    """A new or empty folder, or an earlier comparison's (its files are replaced)."""
    if out.exists() and not out.is_dir():
        raise InputError(f"--out {out} is a file; give a folder for the run")
    if out.is_dir() and any(out.iterdir()) and not any((out / f).exists() for f in _OUR_FILES):
        raise InputError(f"--out {out} holds other files; give an empty folder or an earlier comparison's")


def _run(recipe: Recipe, spec: Any, policies: list[Any], device: str) -> Any:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from simulator.paper import run_protocol, total_steps

    columns = (TextColumn("[bold]paper protocol"), BarColumn(), MofNCompleteColumn(),
               TextColumn("{task.fields[note]}"), TimeElapsedColumn())
    with Progress(*columns, console=err_console, transient=True) as bar:
        task = bar.add_task("steps", total=total_steps(spec, len(policies)), note="")
        return run_protocol(recipe, spec, policies, device,
                            lambda n, note: bar.update(task, advance=n, note=note))


def _table(summaries: list[Any], result: Any) -> Table:
    table = Table(title=f"update policies over {result.spec.days} days (initial model: "
                        f"{result.initial_test_accuracy:.1%} on the test set)", title_justify="left")
    for col in ("policy", "mean test", "min test", "final test", "mean current", "re-trains",
                "fine-tunes", "CPU s", "CPU vs wt-only"):
        table.add_column(col, justify="left" if col == "policy" else "right")
    for s in summaries:
        ratio = "—" if s.cpu_vs_baseline is None else f"{s.cpu_vs_baseline:.2f}"
        table.add_row(s.policy, f"{s.mean_test:.1%}", f"{s.min_test:.1%}", f"{s.final_test:.1%}",
                      f"{s.mean_current:.1%}", str(s.retrains), str(s.finetunes), f"{s.cpu_s:.1f}", ratio)
    return table
