"""Fill an exported review CSV from ground truth: a stand-in for the system manager in demos.

``inspkit review --export q.csv`` writes the queue; this answers stage 1
(right / wrong) from each sample's ground truth, as a person who follows the
defect policy would, and stage 2 with "well-trained" for right predictions
(judging a heatmap is left to people: the simulated line's reviewer scores it
with the CAM-on-target share instead). Rows without ground truth stay blank.

    python -m simulator.review_fill WS q.csv
"""

from __future__ import annotations

import argparse
import csv
import io
from pathlib import Path

from inspkit.store.atomic import atomic_write_text
from inspkit.store.workspace import Workspace


def fill(workspace: Path, path: Path) -> tuple[int, int]:
    """Answer every row whose sample has ground truth; returns (answered, wrong)."""
    rows = list(csv.DictReader(path.open(encoding="utf-8")))
    answered = wrong = 0
    with Workspace.open(workspace) as ws:
        for row in rows:
            sample = ws.samples.get(int(row["sample_id"]))
            if sample is None or sample.truth is None:
                continue
            right = sample.truth.label == row["predicted"]
            row["correct"] = "right" if right else "wrong"
            row["attention"] = "well-trained" if right else ""
            row["label"] = sample.truth.label
            row["reviewer"] = "ground truth"
            answered += 1
            wrong += not right
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0].keys()) if rows else ["sample_id"], lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    atomic_write_text(path, out.getvalue())
    return answered, wrong


def main() -> None:
    """Command-line entry: ``python -m simulator.review_fill WS CSV``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workspace", type=Path)
    parser.add_argument("csv", type=Path)
    args = parser.parse_args()
    answered, wrong = fill(args.workspace, args.csv)
    print(f"answered {answered} row(s) from ground truth; {wrong} prediction(s) were wrong")


if __name__ == "__main__":
    main()
