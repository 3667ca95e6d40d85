"""What ``inspkit simulate`` does before and around the line run (CLI-private).

The one place, with ``_sim.py``, where inspkit meets the simulator: it builds
the first model with the training library when the workspace has none,
tunes the legacy station, sets up model maintenance (the update policy, the
workspace's training and test tensors), and drives the run with a progress bar.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from inspkit.cli._common import err_console
from inspkit.errors import InputError
from inspkit.recipe import LabelKind, Recipe, load_recipe, with_overrides

_RUN_FILES = ("metrics.csv", "report.md", "mes.db", "recipe.yaml")


@dataclass(frozen=True)
class Plan:
    """A run ready to start: the request, the vision station, the model and its maintainer (or None)."""

    request: Any  # simulator.runner.SimRequest
    vision: Any
    model: Any
    maintainer: Any = None  # simulator.maintainer.Maintainer


def prepare(recipe_path: Path | None, workspace: Path | None, out: Path | None,
            overrides: dict[str, Any], device: str, command: str, policy: str | None = None) -> Plan:
    """Resolve the recipe and run folder, get a model (training one if needed), tune the vision station.

    ``policy`` names the update policy (None: the recipe's ``manage.policy``);
    any but ``none`` reviews and updates the model during the run.

    Raises:
        InputError: a bad recipe, run folder or policy name.
    """
    from inspkit.cli.simulate import default_out
    from simulator.runner import SimRequest, tuned_station

    recipe = _recipe(recipe_path, workspace, overrides)
    chosen = _policy(recipe, policy)
    run_dir = out or default_out(recipe.name)
    _check_run_dir(run_dir)
    ws_path = workspace or run_dir / "workspace"
    model = _model(recipe, ws_path, device)
    maintainer = None if chosen.name == "none" else _maintainer(recipe, ws_path, model, chosen)
    with _status("tuning the legacy vision station on the set-up period"):
        vision = tuned_station(recipe, recipe.seed)
    request = SimRequest(recipe, recipe.seed, recipe.simulate.days, recipe.connect.goal, run_dir, command,
                         policy=chosen.name)
    return Plan(request, vision, model, maintainer)


def run_with_progress(plan: Plan):  # noqa: ANN201  (SimOutcome)
    """Run the line with a bar over simulated days."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    from simulator.runner import run_simulation

    req = plan.request
    columns = (TextColumn("[bold]simulated days"), BarColumn(), MofNCompleteColumn(),
               TextColumn("{task.fields[note]}"), TimeElapsedColumn(), TimeRemainingColumn())
    with Progress(*columns, console=err_console, transient=True) as bar:
        task = bar.add_task("days", total=req.days, note="")

        def on_day(row) -> None:  # noqa: ANN001
            note = f"model acc {row.model_accuracy:.1%}" if row.model_accuracy is not None else ""
            bar.update(task, completed=row.day + 1, note=note or bar.tasks[0].fields["note"])

        return run_simulation(req, plan.vision, plan.model, on_day, plan.maintainer)


def _recipe(path: Path | None, workspace: Path | None, overrides: dict[str, Any]) -> Recipe:
    if path is None:
        from inspkit.store.workspace import Workspace

        with Workspace.open(workspace) as ws:  # type: ignore[arg-type]
            recipe = ws.recipe
    else:
        recipe = load_recipe(path)
    recipe = with_overrides(recipe, overrides)
    if recipe.labels is not LabelKind.OK_NG:
        raise InputError(f"recipe {recipe.name} labels parts into classes; the line simulator needs an OK/NG recipe")
    return recipe


def _policy(recipe: Recipe, name: str | None):  # noqa: ANN202  (inspkit.maintain.policy.Policy)
    from inspkit.maintain.policy import parse_policy

    try:
        return parse_policy(recipe.manage.policy if name is None else name, recipe.manage.beta)
    except ValueError as exc:
        raise InputError(str(exc)) from None


def _maintainer(recipe: Recipe, ws_path: Path, adapter, policy):  # noqa: ANN001, ANN202
    """The line's maintainer: the workspace's training set D and test split, the manage settings."""
    from inspkit.data.views import training_view
    from inspkit.models.dataset import load_tensors
    from inspkit.models.engine import FitConfig
    from inspkit.store.workspace import Workspace
    from simulator.maint_learner import TorchLearner
    from simulator.maintainer import Maintainer, MaintainSettings

    meta, device = adapter.inferencer.meta, adapter.inferencer.device
    with _status("loading the training and test images for model maintenance"), Workspace.open(ws_path) as ws:
        view = training_view(ws)
        train, test = (load_tensors(ws, view.split(n), meta.input_size, meta.classes) for n in ("train", "test"))
    if not len(train):
        raise InputError(f"workspace {ws_path} has no training samples to re-train on; "
                         "train its model with 'inspkit train' or pass --policy none")
    m, t = recipe.manage, recipe.train
    epochs = int(meta.extra.get("epochs") or recipe.simulate.epochs or t.epochs)  # as the first model trained
    finetune_cfg = FitConfig(m.finetune_epochs, t.batch_size, m.finetune_lr, t.weight_decay, recipe.seed, device)
    retrain_cfg = FitConfig(epochs, t.batch_size, t.lr, t.weight_decay, recipe.seed, device)
    learner = TorchLearner(adapter, train, test, finetune_cfg, retrain_cfg)
    return Maintainer(MaintainSettings(policy, m, recipe.seed), learner)


def _check_run_dir(run_dir: Path) -> None:
    """A run folder is new, empty, or an earlier run's (which is replaced)."""
    if run_dir.exists() and not run_dir.is_dir():
        raise InputError(f"--out {run_dir} is a file; give a folder for the run")
    if run_dir.is_dir() and any(run_dir.iterdir()) and not any((run_dir / f).exists() for f in _RUN_FILES):
        raise InputError(f"--out {run_dir} holds other files; give an empty folder or an earlier run's folder")


def _model(recipe: Recipe, ws_path: Path, device: str):  # noqa: ANN202  (ModelAdapter)
    from inspkit.cli._sim import ModelAdapter
    from inspkit.models.inferencer import Inferencer
    from inspkit.models.store import ModelStore
    from inspkit.store.workspace import Workspace

    ws = Workspace.open(ws_path) if (ws_path / "inspkit.yaml").exists() else Workspace.create(ws_path, recipe)
    with ws:
        if ModelStore(ws_path / "models").production() is None:
            _train_first(ws, recipe, device)
    return ModelAdapter(Inferencer.load(ws_path / "models", device=device))


def _train_first(ws, recipe: Recipe, device: str) -> None:  # noqa: ANN001
    from inspkit.cli._sim import setup_images
    from inspkit.cli._common import TRAIN_BARS, StepBars
    from inspkit.models.bootstrap import train_first_model
    from inspkit.models.device import resolve_device

    sim = recipe.simulate
    first = with_overrides(recipe, {"train.candidates": [sim.model or recipe.train.candidates[0]],
                                    "image_size": sim.image_size or None, "train.repeats": 1,
                                    "augment.factor": sim.augment_factor or None, "train.epochs": sim.epochs or None})
    err_console.print(f"no model in {ws.root} yet: training {first.train.candidates[0]} on "
                      f"{sim.setup_images} labelled images from the {sim.setup_days} set-up days")
    with _status("rendering the set-up images"):
        images = setup_images(first, recipe.seed)
    with StepBars(TRAIN_BARS) as bars:
        selection = train_first_model(ws, first, images, resolve_device(device), bars.update)
    if selection.meta is None:
        raise InputError(f"{first.train.candidates[0]} does not fit the {recipe.line.cycle_time_ms:g} ms cycle time; "
                         "set simulate.model to a faster architecture")


def _status(text: str):  # noqa: ANN202
    return err_console.status(text)
