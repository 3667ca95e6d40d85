"""What a policy comparison writes: fig10.csv, fig10.png, summary.md and run.json.

Compute is compared with wt-only's (whole re-training at every tick with
failed samples), measured in the same run, because only a ratio measured on
the same machine at the same time means anything.
"""

from __future__ import annotations

import csv
import io
import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path

from inspkit.store.atomic import atomic_write_bytes, atomic_write_text
from simulator.paper import PaperResult, TickRecord
from simulator.paper_plot import fig10_png

CSV_COLUMNS = ("tick", "day", "policy", "action", "fsr", "reviewed", "failed", "train_size",
               "test_accuracy", "current_accuracy", "cpu_s", "wall_s", "cum_cpu_s")
#: Columns that depend on the machine's speed, not on the seed.
TIMING_COLUMNS = ("cpu_s", "wall_s", "cum_cpu_s")
BASELINE = "wt-only"


@dataclass(frozen=True)
class PolicySummary:
    """One policy over the whole run.

    Attributes:
        policy: Its name.
        mean_test, min_test, final_test: Accuracy on the fixed test set over the ticks.
        mean_current: Mean accuracy on each tick's current parts.
        retrains, finetunes: Updates done.
        cpu_s, wall_s: Their total compute.
        cpu_vs_baseline: ``cpu_s`` over wt-only's in the same run (None without wt-only).
    """

    policy: str
    mean_test: float
    min_test: float
    final_test: float
    mean_current: float
    retrains: int
    finetunes: int
    cpu_s: float
    wall_s: float
    cpu_vs_baseline: float | None


@dataclass(frozen=True)
class PaperFiles:
    """Where a comparison's outputs are."""

    csv: Path
    png: Path
    summary: Path
    run_json: Path


def summarise(result: PaperResult) -> list[PolicySummary]:
    """One summary per policy, in the order run."""
    base = [r for r in result.rows if r.policy == BASELINE]
    base_cpu = sum(r.cpu_s for r in base) if base else None
    return [_summary(name, [r for r in result.rows if r.policy == name], base_cpu) for name in result.policies]


def _summary(name: str, rows: list[TickRecord], base_cpu: float | None) -> PolicySummary:
    test = [r.test_accuracy for r in rows] or [math.nan]
    current = [r.current_accuracy for r in rows] or [math.nan]
    cpu = sum(r.cpu_s for r in rows)
    return PolicySummary(
        name, sum(test) / len(test), min(test), test[-1], sum(current) / len(current),
        sum(r.action == "retrain" for r in rows), sum(r.action == "finetune" for r in rows),
        cpu, sum(r.wall_s for r in rows), cpu / base_cpu if base_cpu else None,
    )


def csv_text(result: PaperResult) -> str:
    """fig10.csv: one row per tick and policy."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    cumulative: dict[str, float] = {}
    for r in result.rows:
        cumulative[r.policy] = cumulative.get(r.policy, 0.0) + r.cpu_s
        writer.writerow([r.tick, f"{r.day:g}", r.policy, r.action, f"{r.fsr:.4f}", r.reviewed, r.failed,
                         r.train_size, f"{r.test_accuracy:.4f}", f"{r.current_accuracy:.4f}",
                         f"{r.cpu_s:.3f}", f"{r.wall_s:.3f}", f"{cumulative[r.policy]:.3f}"])
    return buf.getvalue()


def summary_markdown(result: PaperResult, summaries: list[PolicySummary], command: str = "") -> str:
    """summary.md: the settings and one table row per policy."""
    spec = result.spec
    lines = [
        "# Update policies compared (paper section 5.3, Fig. 10)", "",
        (f"{spec.days} days, a tick every {spec.tick_days} days with {2 * spec.new_per_class} new labelled "
         f"images; initial model: {2 * spec.initial_per_class} images, {spec.model} at {spec.image_size} px, "
         f"{spec.epochs} epochs (each re-training: the same image budget); fixed test set "
         f"{2 * spec.test_per_class} images from the set-up months; α = {result.manage.alpha}, "
         f"β = {result.manage.beta}, CAM threshold {result.manage.cam_threshold}, seed {spec.seed}."), "",
        (f"Initial model: {result.initial_test_accuracy:.1%} on the test set, "
         f"{result.initial_current_accuracy:.1%} on the first tick's parts; trained in "
         f"{result.initial_compute.cpu_s:.1f} CPU s."), "",
        ("| policy | mean test | min test | final test | mean current | re-trains | fine-tunes "
         "| CPU s | wall s | CPU vs wt-only |"),
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    lines += [_md_row(s) for s in summaries]
    lines += ["", f"Run took {result.wall_s:.0f} s (images: {result.data_s:.0f} s)."]
    if command:
        lines += ["", f"Command: `{command}`"]
    return "\n".join(lines) + "\n"


def _md_row(s: PolicySummary) -> str:
    ratio = "—" if s.cpu_vs_baseline is None else f"{s.cpu_vs_baseline:.2f}"
    return (f"| {s.policy} | {s.mean_test:.1%} | {s.min_test:.1%} | {s.final_test:.1%} | {s.mean_current:.1%} "
            f"| {s.retrains} | {s.finetunes} | {s.cpu_s:.1f} | {s.wall_s:.1f} | {ratio} |")


def run_json(result: PaperResult, summaries: list[PolicySummary], command: str = "") -> str:
    """run.json: settings, the initial model and the per-policy summaries."""
    doc = {
        "command": command, "spec": asdict(result.spec), "manage": asdict(result.manage),
        "policies": list(result.policies), "initial": {
            **asdict(result.initial_compute), "test_accuracy": result.initial_test_accuracy,
            "current_accuracy": result.initial_current_accuracy},
        "data_s": result.data_s, "wall_s": result.wall_s, "summary": [asdict(s) for s in summaries],
    }
    return json.dumps(doc, indent=2, default=str) + "\n"


def write_outputs(result: PaperResult, out_dir: Path, command: str = "") -> PaperFiles:
    """Write the four files into ``out_dir`` (made if missing), each atomically."""
    out_dir.mkdir(parents=True, exist_ok=True)
    files = PaperFiles(out_dir / "fig10.csv", out_dir / "fig10.png", out_dir / "summary.md", out_dir / "run.json")
    summaries = summarise(result)
    atomic_write_text(files.csv, csv_text(result))
    atomic_write_bytes(files.png, fig10_png(result.rows, result.policies, result.initial_test_accuracy))
    atomic_write_text(files.summary, summary_markdown(result, summaries, command))
    atomic_write_text(files.run_json, run_json(result, summaries, command))
    return files
