"""The selection table: one line per candidate, saved with the run as Markdown and CSV."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from pathlib import Path

from inspkit.models.candidates import CandidateRow
from inspkit.store.atomic import atomic_write_text


def columns(task: str) -> tuple[str, ...]:
    """Column names of the table for a task."""
    quality = "mAP50" if task == "detect" else "AUROC"
    return ("candidate", "accuracy", "loss", quality, "params M", "GFLOPs", "p50 ms", "p99 ms", "fits")


def table_rows(rows: Sequence[CandidateRow], task: str, budget_ms: float) -> list[tuple[str, ...]]:
    """The table's cells as text (mean ± std over repeats)."""
    quality = "map50" if task == "detect" else "auroc"
    out = []
    for r in rows:
        c = r.cost
        out.append((
            r.name, _pm(r, "accuracy"), _pm(r, "loss"), _pm(r, quality),
            f"{c.params / 1e6:.2f}", f"{c.gflops:.3f}", f"{c.p50_ms:.1f}", f"{c.p99_ms:.1f}",
            "yes" if r.fits else "no",
        ))
    return out


def write_tables(run_dir: Path, rows: Sequence[CandidateRow], task: str, budget_ms: float) -> None:
    """``table.md`` and ``table.csv`` in the run folder."""
    head, body = columns(task), table_rows(rows, task, budget_ms)
    md = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    md += ["| " + " | ".join(cells) + " |" for cells in body]
    atomic_write_text(run_dir / "table.md", "\n".join(md) + "\n")
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(head)
    writer.writerows(body)
    atomic_write_text(run_dir / "table.csv", buf.getvalue())


def _pm(row: CandidateRow, key: str) -> str:
    mean, std = row.mean(key), row.std(key)
    if mean != mean:  # NaN: not measurable (e.g. AUROC with one class in the test split)
        return "—"
    return f"{mean:.3f} ± {std:.3f}" if len(row.runs) > 1 else f"{mean:.3f}"
