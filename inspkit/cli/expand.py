"""``inspkit expand``: move line A's model to line B by fine-tuning or domain adaptation."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from inspkit.cli._common import StepBars, console
from inspkit.maintain.adapt_types import Criterion, Method


def expand(
    source: str = typer.Option(..., "--from", help="Line A's workspace, optionally with a version: WS_A or WS_A:v0003 "
                               "(default: its production model)."),
    target: Path = typer.Option(..., "--to", help="Line B's workspace: its images (and any labels) are adapted to; "
                                "the new version is stored there."),
    method: Method = typer.Option(..., "--method", help="finetune: train on N labelled line-B images. dann: "
                                  "gradient reversal. adda: an adversarially trained line-B encoder. dann and adda "
                                  "use line A's labelled images, line B's unlabelled ones and, with --labels, N labelled."),
    labels: int = typer.Option(0, "--labels", help="Labelled line-B images to learn from (balanced over classes); "
                               "line B's other labelled images are only measured on."),
    select: Criterion = typer.Option(Criterion.IM, "--select", help="How the epoch to keep is chosen without line-B "
                                     "labels: im (information maximisation), entropy, dev (deep embedded "
                                     "validation), or last."),
    epochs: int = typer.Option(10, "--epochs", min=1, help="Passes over line B's images."),
    lr: float = typer.Option(None, "--lr", help="Learning rate (default: 3e-4; adda 1e-4)."),
    batch_size: int = typer.Option(None, "--batch-size", min=2, help="Images per domain per step (default: line B's recipe)."),
    seed: int = typer.Option(None, "--seed", help="Seed (default: line B's recipe)."),
    device: str = typer.Option("auto", "--device", help="auto, cpu or cuda."),
) -> None:
    """Adapt a model of one line to another line of the same product; store it in line B's workspace.

    Every epoch is a checkpoint (epoch 0 is line A's model; for dann and adda
    with batch-norm statistics from line B's images); the one kept is chosen
    by --select. When line B has labelled images beyond the N
    learned from, the table shows each checkpoint's accuracy on them, so you
    can see how well the criterion picked.
    """
    from inspkit.cli._common import open_workspace
    from inspkit.errors import InputError
    from inspkit.maintain.expand import ExpandRequest, expand as run, parse_source
    from inspkit.models.device import resolve_device

    if lr is not None and lr <= 0:
        raise InputError(f"--lr must be above 0, not {lr:g}")
    req = ExpandRequest(parse_source(source), method, labels, select, epochs, resolve_device(device),
                        lr, batch_size, seed)
    with open_workspace(target) as ws, StepBars({"load": "images", "epoch": "epochs"}) as bars:
        out = run(ws, req, bars.update)
    _render(out)


def _render(out) -> None:  # noqa: ANN001  (ExpandOutcome; imported lazily)
    res, c = out.result, out.counts
    console.print(f"line A {out.source_version} → {out.meta.extra['method']} on line B: {c['target']} line-B images, "
                  f"{c['labelled']} with labels; {c['source']} line-A images ({c['source_val']} validation)")
    console.print(_table(out))
    chosen = next(r for r in res.rows if r.epoch == res.chosen_epoch)
    if c["probe"]:
        best = max(res.rows, key=lambda r: r.probe_accuracy)
        console.print(f"{out.meta.extra['criterion']} chose epoch {chosen.epoch}: {chosen.probe_accuracy:.3f} on "
                      f"{c['probe']} labelled line-B images not learned from (best epoch {best.epoch}: "
                      f"{best.probe_accuracy:.3f}; line A's model as it is: {out.source_probe_accuracy:.3f})")
    else:
        console.print(f"{out.meta.extra['criterion']} chose epoch {chosen.epoch}; line B has no other labelled "
                      "images, so its accuracy there is unknown — run it in shadow mode first (inspkit connect --shadow)")
    stage = "promoted to production" if out.promoted else "stored as a candidate (promote it with 'inspkit models promote')"
    console.print(f"compute: {res.compute.cpu_s:.0f} CPU s, {res.compute.wall_s:.0f} s wall; checkpoints in {out.run_dir}")
    console.print(f"version [bold]{out.meta.version}[/] in line B's store, {stage}")


def _table(out) -> Table:  # noqa: ANN001
    res = out.result
    table = Table(title=f"Checkpoints (kept: {out.meta.extra['criterion']}'s choice)", title_justify="left")
    for col in ("epoch", "im ↑", "entropy ↓", "dev ↓", "accuracy on line B", "kept"):
        table.add_column(col, justify="right")
    for row in res.rows:
        s = row.scores
        acc = f"{row.probe_accuracy:.3f}" if row.probe_accuracy == row.probe_accuracy else "—"
        table.add_row(str(row.epoch), _num(s["im"]), _num(s["entropy"]), _num(s["dev"]), acc,
                      "✓" if row.epoch == res.chosen_epoch else "")
    return table


def _num(x: float) -> str:
    return f"{x:.3f}" if x == x else "—"


def register(app: typer.Typer) -> None:
    """Add the command to the app."""
    app.command("expand")(expand)
