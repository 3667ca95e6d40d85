"""``inspkit update``: learn from the failed samples — fine-tune, or re-train when FSR > β."""

from __future__ import annotations

from pathlib import Path

import typer

from inspkit.cli._common import WorkspaceOpt, console, err_console


def update(
    workspace: Path = WorkspaceOpt,
    finetune: bool = typer.Option(False, "--finetune", help="Fine-tune production on D̄ at the small "
                                  "manage.finetune_lr (Eq. 9); on a line, run it while the line is idle."),
    retrain: bool = typer.Option(False, "--retrain", help="Re-train from scratch on D ∪ ∪D̄ (Eq. 11–12) "
                                 "whatever the FSR; the main server's job."),
    beta: float = typer.Option(None, "--beta", help="Re-train when FSR > β (default: the recipe's manage.beta)."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Only say what would be done."),
    device: str = typer.Option("auto", "--device", help="auto, cpu or cuda."),
) -> None:
    """Update the production model from reviewed failed samples.

    Without --finetune or --retrain the FSR decides: re-train when
    FSR = |∪D̄| / |D| > β, otherwise fine-tune on the samples no update has
    learned from yet. The new version is promoted only if it is not worse on
    the test split and on the failed samples; otherwise it stays a candidate.
    """
    from inspkit.cli._common import open_workspace
    from inspkit.errors import InputError
    from inspkit.maintain.update import plan_update, run_update
    from inspkit.models.device import resolve_device

    if finetune and retrain:
        raise InputError("give --finetune or --retrain, not both (or neither: the FSR decides)")
    mode = "finetune" if finetune else "retrain" if retrain else "auto"
    with open_workspace(workspace) as ws:
        plan = plan_update(ws, mode, beta)
        console.print(f"FSR {plan.fsr:.3f} (β {plan.beta:g}; {len(plan.accumulated)} failed of |D| "
                      f"{plan.training_size}); pending for a fine-tune: {len(plan.pending)}")
        console.print(f"plan: {plan.reason}")
        if dry_run or plan.action.value == "none":
            if plan.action.value == "none":
                err_console.print("nothing to do; no version was made")
            return
        with err_console.status(f"{plan.action.value} in progress…"):
            out = run_update(ws, plan, resolve_device(device))
    _print(out)


def _print(out) -> None:  # noqa: ANN001  (UpdateOutcome; imported lazily)
    for name, (old, new) in (out.accuracy or {}).items():
        if old == old:
            console.print(f"  {name} accuracy: {out.parent} {old:.3f} → {out.version} {new:.3f}")
    c = out.compute
    console.print(f"  compute: {c.cpu_s:.1f} CPU s, {c.wall_s:.1f} s wall, {c.images} training images seen")
    style = "green" if out.promoted else "yellow"
    console.print(f"[{style}]{out.version}[/] {out.reason}")


def register(app: typer.Typer) -> None:
    """Add the command to the app."""
    app.command("update")(update)
