"""``inspkit review``: the unreliable samples a person should look at, in two stages."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from inspkit.cli._common import WorkspaceOpt, console, open_workspace, progress

_SHOWN = 15


def review(
    workspace: Path = WorkspaceOpt,
    alpha: float = typer.Option(None, "--alpha", help="Review samples with |p − 0.5| ≤ α (default: the recipe's "
                                "manage.alpha; 0.5, the paper's value, selects every sample)."),
    serve: bool = typer.Option(False, "--serve", help="Open the review page in a local web server."),
    host: str = typer.Option("127.0.0.1", "--host", help="With --serve, the address to listen on (loopback by default)."),
    port: int = typer.Option(8765, "--port", min=0, max=65535, help="With --serve, the port (0 picks a free one)."),
    export: Path = typer.Option(None, "--export", help="Write the review queue to this CSV for review elsewhere."),
    import_: Path = typer.Option(None, "--import", help="Store the decisions filled in a CSV made by --export."),
    device: str = typer.Option("auto", "--device", help="auto, cpu or cuda (scoring and Grad-CAM)."),
) -> None:
    """Score newly inspected samples and list, export, import or serve the review queue.

    Stage 1: is the prediction right? Stage 2 (right ones): does the Grad-CAM
    look at the part ("Well-trained") or elsewhere ("Training FAIL")? Wrong
    and Training FAIL samples are the failed samples that 'inspkit update'
    learns from.
    """
    from inspkit.maintain.reviews import ReviewStore

    with open_workspace(workspace) as ws:
        alpha = ws.recipe.manage.alpha if alpha is None else alpha
        reviews = ReviewStore(ws.conn)
        if import_ is not None:
            from inspkit.maintain.review_csv import import_decisions

            stored = import_decisions(import_, reviews)
            console.print(f"imported {stored} decision(s) from {import_}")
        else:
            _score(ws, device)
        queue = reviews.queue(alpha)
        if export is not None:
            _export(ws, export, queue)
        _print_queue(queue, alpha)
    if serve:
        _serve(workspace, alpha, host, port, device)


def _score(ws, device: str) -> None:  # noqa: ANN001
    from inspkit.maintain.queue import score_new
    from inspkit.models.inferencer import Inferencer

    inf = Inferencer.load(ws.root / "models", None, device)
    with progress(f"scoring new samples with {inf.version}", None) as step:
        seen = [0]

        def on_progress(done: int, total: int) -> None:
            step(done - seen[0])
            seen[0] = done

        scored = score_new(ws, inf, on_progress=on_progress)
    if scored.new:
        console.print(f"scored {scored.new} newly inspected sample(s) with {scored.version}")


def _export(ws, path: Path, queue) -> None:  # noqa: ANN001
    from inspkit.maintain.review_csv import export_queue

    paths = {s.prediction.sample_id: ws.samples.get(s.prediction.sample_id).image_path for s in queue}
    console.print(f"wrote {export_queue(path, queue, paths)} row(s) to {path}; fill 'correct' "
                  "(right/wrong) and, for right ones, 'attention' (well-trained/training-fail), then --import it")


def _print_queue(queue, alpha: float) -> None:  # noqa: ANN001
    left = [s for s in queue if not s.done]
    failed = sum(s.failed for s in queue)
    console.print(f"review queue (|p − 0.5| ≤ {alpha:g}): [bold]{len(queue)}[/] sample(s), "
                  f"[bold]{len(left)}[/] left, {failed} failed so far")
    if not left:
        return
    table = Table(title=f"next to review (first {min(_SHOWN, len(left))})", title_justify="left")
    for col in ("sample", "predicted", "p(OK)", "version", "inspected", "state"):
        table.add_column(col, justify="right" if col in ("sample", "p(OK)") else "left")
    for s in left[:_SHOWN]:
        p = s.prediction
        state = "stage 2 (Grad-CAM)" if s.correct else "stage 1"
        table.add_row(str(p.sample_id), p.predicted, f"{p.p_ok:.3f}", p.model_version, p.inspected_at, state)
    console.print(table)
    console.print("review them with 'inspkit review --serve', or --export a CSV and --import it back")


def _serve(workspace: Path, alpha: float, host: str, port: int, device: str) -> None:
    from inspkit.maintain.review_server import start_server
    from inspkit.models.device import resolve_device

    server = start_server(Path(workspace), alpha, host=host, port=port, device=resolve_device(device))
    console.print(f"review page: [bold]{server.url}[/]  (Ctrl-C to stop; every decision is stored at once)")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        console.print("stopped; decisions are stored")
    finally:
        server.close()


def register(app: typer.Typer) -> None:
    """Add the command to the app."""
    app.command("review")(review)
