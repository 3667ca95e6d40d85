"""``inspkit init``: create a workspace from a recipe."""

from __future__ import annotations

from pathlib import Path

import typer

from inspkit.cli._common import console


def init(
    workspace: Path = typer.Argument(..., help="Folder to create the workspace in."),
    recipe: Path = typer.Option(..., "--recipe", "-r", help="Recipe YAML, e.g. recipes/cylinder-bonding.yaml."),
    seed: int = typer.Option(None, help="Override the recipe's seed."),
    image_size: int = typer.Option(None, "--image-size", help="Override the recipe's model input size, e.g. to "
                                   "match a model another line trained at another size (inspkit expand)."),
) -> None:
    """Create a workspace: resolved recipe, samples.db, images/, models/, runs/."""
    from inspkit.recipe import load_recipe, with_overrides
    from inspkit.store.workspace import Workspace

    resolved = with_overrides(load_recipe(recipe), {"seed": seed, "image_size": image_size})
    with Workspace.create(workspace, resolved) as ws:
        console.print(f"created workspace [bold]{ws.root}[/] for recipe [bold]{resolved.name}[/] "
                      f"({resolved.task.value}, {len(resolved.taxonomy)} types)")


def register(app: typer.Typer) -> None:
    """Add the command to the app."""
    app.command("init")(init)
