"""``inspkit augment``: perspective, colour and noise augmentation."""

from __future__ import annotations

from pathlib import Path

import typer

from inspkit.cli._common import WorkspaceOpt, console, open_workspace, progress, warn
from inspkit.errors import InputError


def augment(
    workspace: Path = WorkspaceOpt,
    factor: int = typer.Option(None, "--factor", "-n", help="Augmented children per sample (default: the recipe's augment.factor)."),
    ops: str = typer.Option("perspective,color,noise", "--ops", help="Comma-separated ops, applied in order."),
    seed: int = typer.Option(None, help="Seed (default: the recipe's); the same seed repeats a run exactly."),
    gan: bool = typer.Option(False, "--gan", help="Instead: train a conditional GAN on the --label images and add "
                             "--count generated ones to the training split (paper Table 1, image generation)."),
    label: str = typer.Option("NG", "--label", help="With --gan: the label to learn and make."),
    defect_type: str = typer.Option(None, "--defect-type", help="With --gan: make only this defect type "
                                    "(default: every type, in proportion to the real images)."),
    count: int = typer.Option(None, "--count", help="With --gan: generated images to add."),
    steps: int = typer.Option(1000, "--steps", min=1, help="With --gan: GAN training steps."),
    device: str = typer.Option("auto", "--device", help="With --gan: auto, cpu or cuda."),
) -> None:
    """Add augmented children to labelled samples (train split or not yet split; never val or test).

    With --gan, a small conditional GAN learns the workspace's --label images
    (conditioned on the defect type) and adds --count generated images; the
    generator is stored as a model version, and a quality check and contact
    sheets are written to runs/gan-*/.
    """
    if gan:
        if count is None:
            raise InputError("--gan needs --count N: how many images to generate")
        _gan(workspace, label, defect_type, count, steps, seed, device)
        return
    from inspkit.data.augment import augment_samples
    from inspkit.data.augment_ops import parse_ops
    from inspkit.recipe import with_overrides

    try:
        op_names = parse_ops(ops)
    except ValueError as exc:
        raise InputError(f"--ops: {exc}") from None
    with open_workspace(workspace) as ws:
        recipe = with_overrides(ws.recipe, {"augment.factor": factor, "seed": seed})
        with progress("augmenting", None) as step:  # children stored; the total is not known up front
            report = augment_samples(ws, recipe.augment.factor, op_names, recipe.augment, recipe.seed, step)
    warn(report.warnings)
    console.print(
        f"augmented [bold]{report.sources}[/] samples x{recipe.augment.factor} ({', '.join(op_names)}): "
        f"created {report.created}, {report.duplicates} already there, {report.skipped_held_out} val/test samples left alone"
    )


def _gan(workspace: Path, label: str, defect_type: str | None, count: int, steps: int, seed: int | None,
         device: str) -> None:
    from inspkit.cli._common import StepBars
    from inspkit.models.device import resolve_device
    from inspkit.models.gan import GanConfig
    from inspkit.models.gan_augment import GanRequest, gan_augment
    from inspkit.models.gan_quality import gan_quality, write_sheets

    with open_workspace(workspace) as ws:
        dev = resolve_device(device)
        cfg = GanConfig(steps=steps, seed=ws.recipe.seed if seed is None else seed, device=dev)
        with StepBars({"load": "images", "step": "GAN steps"}) as bars:
            report = gan_augment(ws, GanRequest(label, count, defect_type, cfg), bars.update)
        warn(report.warnings)
        made_text = ", ".join(f"{n} {name}" for name, n in report.made.items())
        console.print(f"GAN [bold]{report.version}[/] learned {sum(report.real.values())} real {label} images "
                      f"in {report.seconds:.0f} s; added {report.created} generated training samples ({made_text})")
        made = [ws.samples.get(i) for i in report.sample_ids]
        real = [ws.samples.get(i) for i in report.real_ids]
        out = ws.root / "runs" / f"gan-{report.version}"
        console.print(f"contact sheets: {', '.join(str(p) for p in write_sheets(ws, out, made, real))}")
        _print_quality(gan_quality(ws, label, made, real, dev), label)


def _print_quality(q, label: str) -> None:  # noqa: ANN001  (GanQuality)
    if q.classifier is None:
        console.print("quality check skipped: it needs a production classifier in the workspace ('inspkit train')")
        return
    console.print(f"quality ({q.classifier}'s features): called {label} {q.called:.0%}; "
                  f"fidelity {q.fidelity:.2f} (distance to {q.held_out} held-out real images, 1 = as close as real); "
                  f"diversity {q.diversity:.2f} (1 = as varied as real)")


def register(app: typer.Typer) -> None:
    """Add the command to the app."""
    app.command("augment")(augment)
