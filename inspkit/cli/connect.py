"""``inspkit connect``: the edge service between the vision station, the PLC and the MES."""

from __future__ import annotations

import signal
import threading
import time
from pathlib import Path

import typer
from rich.table import Table

from inspkit.cli._common import WorkspaceOpt, console, err_console, open_workspace, warn
from inspkit.errors import InputError
from inspkit.recipe_line import FailSafe
from inspkit.types import Goal

connect_app = typer.Typer(
    help="Run the edge service (inspkit connect --plc … ), or judge a shadow period (inspkit connect report).",
    no_args_is_help=False, add_completion=False,
)


@connect_app.callback(invoke_without_command=True)
def connect(
    ctx: typer.Context,
    workspace: Path = WorkspaceOpt,
    goal: Goal = typer.Option(None, "--goal", help="fp-reduction, tp-improvement or replacement (default: the recipe's connect.goal)."),
    shadow: bool = typer.Option(None, "--shadow/--live", help="Shadow: record the model's verdicts, let the vision station's drive the PLC (default: the recipe's connect.shadow)."),
    listen: str = typer.Option("127.0.0.1:9500", "--listen", help="HOST:PORT for vision PCs (loopback by default; 0.0.0.0 opens it to the network)."),
    plc: str = typer.Option(None, "--plc", help="The PLC: modbus://HOST:PORT[?unit=N], or memory:// to run without one."),
    mes: str = typer.Option(None, "--mes", help="The MES: sqlite:///PATH or postgresql://USER@HOST:PORT/DB (default: a SQLite file in the workspace)."),
    key_file: Path = typer.Option(None, "--key-file", help="A file holding the shared key; frames must then carry its HMAC."),
    fail_safe: FailSafe = typer.Option(None, "--fail-safe", help="The verdict when the model cannot answer in time: vision or NG (default: the recipe's)."),
    deadline_ms: float = typer.Option(None, "--deadline-ms", min=1.0, help="Frame received → verdict at the PLC (default: connect.deadline_ms, else the line's cycle time)."),
    minutes: float = typer.Option(None, "--minutes", min=0.0, help="Stop after this many minutes (default: run until Ctrl-C or SIGTERM)."),
    device: str = typer.Option("auto", "--device", help="auto, cpu or cuda."),
) -> None:
    """Answer every part from the vision station with the production model, write the PLC, record the MES.

    A newly promoted model version is picked up while running. A part the
    model cannot answer within the deadline gets the fail-safe verdict.
    Results wait in a durable outbox while the MES is down.
    """
    if ctx.invoked_subcommand is not None:
        return
    from inspkit.connect.client import parse_address
    from inspkit.connect.edge import EdgeOptions, default_mes_url

    if plc is None:
        raise InputError("give the PLC with --plc modbus://HOST:PORT (or --plc memory:// to run without one)")
    host, port = parse_address(listen)
    with open_workspace(workspace) as ws:
        config = _config(ws.recipe, goal, shadow, fail_safe, deadline_ms)
        regmap = ws.recipe.connect.plc
    options = EdgeOptions(workspace, config, host, port, plc, mes or default_mes_url(workspace), _key(key_file),
                          device, regmap=regmap)
    _serve(options, minutes)


@connect_app.command("report")
def report(
    workspace: Path = WorkspaceOpt,
    mes: str = typer.Option(None, "--mes", help="The MES to read (default: the workspace's SQLite MES)."),
    goal: Goal = typer.Option(None, "--goal", help="The goal to judge routing for (default: the recipe's connect.goal)."),
    truth: Path = typer.Option(None, "--truth", help="A CSV of line,station,serial,truth (adds to the reviewed truth)."),
    min_parts: int = typer.Option(100, "--min-parts", min=1, help="Truth-known parts needed before going live is supported."),
    since: str = typer.Option(None, "--since", help="Only parts decided from this time on (ISO 8601, local time unless it has an offset)."),
    until: str = typer.Option(None, "--until", help="Only parts decided before this time (ISO 8601)."),
) -> None:
    """Compare model, vision and reviewed truth over the shadow period: is the model ready to go live?"""
    from inspkit.connect.edge import default_mes_url
    from inspkit.connect.mes import open_mes
    from inspkit.connect.report import read_truth_csv, reviewed_truth, shadow_report

    with open_workspace(workspace) as ws:
        known = reviewed_truth(ws)
        goal = goal or ws.recipe.connect.goal
    if truth is not None:
        known.update(read_truth_csv(truth))
    sink = open_mes(mes or default_mes_url(workspace))
    try:
        records = sink.records()
    finally:
        sink.close()
    lo, hi = _when(since, "--since", float("-inf")), _when(until, "--until", float("inf"))
    records = [r for r in records if lo <= r.decided_s < hi]
    _render_report(shadow_report(records, known, goal, min_parts))


def _when(text: str | None, option: str, default: float) -> float:
    """Unix seconds of an ISO 8601 time given on the command line."""
    if text is None:
        return default
    from datetime import datetime

    try:
        return datetime.fromisoformat(text).timestamp()
    except ValueError:
        raise InputError(f"{option} {text!r} is not a time; give ISO 8601, e.g. 2026-11-20 or 2026-11-20T06:00") from None


def _config(recipe, goal, shadow, fail_safe, deadline_ms):  # noqa: ANN001, ANN202
    from inspkit.connect.service import ServiceConfig

    spec = recipe.connect
    deadline = deadline_ms or spec.deadline_ms or recipe.line.cycle_time_ms
    if spec.plc_budget_ms >= deadline:
        raise InputError(f"the deadline ({deadline:g} ms) must be longer than connect.plc_budget_ms "
                         f"({spec.plc_budget_ms:g} ms); raise --deadline-ms or lower the budget")
    return ServiceConfig(goal or spec.goal, spec.shadow if shadow is None else shadow,
                         fail_safe or spec.fail_safe, deadline / 1000, spec.plc_budget_ms / 1000, spec.keep_samples)


def _key(path: Path | None) -> bytes | None:
    if path is None:
        return None
    try:
        key = path.read_bytes().strip()
    except OSError as exc:
        raise InputError(f"cannot read the key file {path}: {exc.strerror or exc}") from None
    if len(key) < 16:
        raise InputError(f"the key in {path} is {len(key)} bytes; use at least 16 random bytes")
    return key


def _serve(options, minutes: float | None) -> None:  # noqa: ANN001
    from inspkit.connect.edge import start_edge
    from inspkit.connect.mes import redact_url

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    edge = start_edge(options, listener=_print_event)
    host, port = edge.address
    cfg = options.config
    console.print(f"listening on {host}:{port} · goal {cfg.goal.value}{' (shadow)' if cfg.shadow else ''} · "
                  f"model {edge.slot.version or 'none'} · deadline {cfg.deadline_s * 1000:g} ms · "
                  f"fail-safe {cfg.fail_safe.value} · PLC {options.plc_url} · MES {redact_url(options.mes_url)}")
    if edge.slot.version is None:
        warn(["no production model in the workspace: every part gets the fail-safe verdict until one is "
              "promoted ('inspkit train', 'inspkit models promote')"])
    if host not in ("127.0.0.1", "::1", "localhost") and options.key is None:
        warn([f"listening on {host} without --key-file: anyone on the network can send frames"])
    ends = None if minutes is None else time.monotonic() + minutes * 60
    try:
        while not stop.wait(0.2) and (ends is None or time.monotonic() < ends):
            pass
    except KeyboardInterrupt:
        pass
    err_console.print("stopping: delivering the MES outbox…")
    drained = edge.stop()
    _render_stats(edge, drained)


def _print_event(event) -> None:  # noqa: ANN001
    colour = {"fail-safe": "yellow", "plc": "red", "mes": "red", "model": "cyan"}.get(event.kind, "white")
    err_console.print(f"[{colour}]{event.kind}[/]: {event.message}", highlight=False)


def _render_stats(edge, drained: bool) -> None:  # noqa: ANN001
    import numpy as np

    s = edge.service.stats()
    table = Table(title="edge service", title_justify="left")
    for col in ("parts", "by model", "by vision", "fail-safe", "PLC failures", "resent", "MES delivered",
                "outbox left", "p50 ms", "p99 ms"):
        table.add_column(col, justify="right")
    lat = np.asarray(edge.service.latencies_ms) if edge.service.latencies_ms else np.zeros(1)
    table.add_row(*map(str, (s.parts, s.by_model, s.by_vision, s.fail_safe, s.plc_failures, s.repeats,
                             edge.delivered, edge.left_in_outbox)),
                  f"{np.percentile(lat, 50):.1f}", f"{np.percentile(lat, 99):.1f}")
    console.print(table)
    if not drained:
        err_console.print("[yellow]warning:[/] the MES did not take every result; they stay in the outbox "
                          "and are delivered when 'inspkit connect' runs again")


def _render_report(r) -> None:  # noqa: ANN001
    table = Table(title=f"shadow period · goal {r.goal.value} · {r.parts} part(s), {r.with_truth} with known truth",
                  title_justify="left")
    for col in ("verdicts by", "parts", "accuracy", "NG passed as OK", "OK rejected"):
        table.add_column(col, justify="right" if col != "verdicts by" else "left")
    for name, t in (("vision station", r.vision), ("model (parts it inspected)", r.model), ("live routing", r.live)):
        acc = "–" if t.accuracy is None else f"{100 * t.accuracy:.1f} %"
        table.add_row(name, str(t.parts), acc, str(t.escapes), str(t.false_rejects))
    console.print(table)
    console.print(f"model inspected {r.inspected} part(s); agreed with the vision station on {r.agree}; "
                  f"fail-safe verdicts: {r.fail_safe}")
    verdict = "[green]go live: yes[/]" if r.go_live else "[yellow]go live: not yet[/]"
    console.print(f"{verdict} — {r.reason}")


def register(app: typer.Typer) -> None:
    """Add the command group to the app."""
    app.add_typer(connect_app, name="connect")
