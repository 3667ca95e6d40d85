"""``label``: OK (1) / NG (0) and the defect type, by the recipe's written policy (paper 3.1.1).

Labels come from a folder layout (``ok/`` + ``ng/<type>/``, or MVTec-style
``good/`` + ``<type>/``; ``<class>/`` for multiclass recipes), a CSV file, YOLO
box files, or, for synthetic data, the ground truth. Every label is checked
against the recipe's taxonomy before anything is written; a batch is one
transaction, and a new label flows down to the sample's crops and
augmentations.
"""

from __future__ import annotations

import csv
import hashlib
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from inspkit.data.collect import CollectReport, import_files, list_folder
from inspkit.data.derive import derive_boxes
from inspkit.data.imageio import is_image_name
from inspkit.errors import InputError, LabelError
from inspkit.recipe import LabelKind, Recipe
from inspkit.store.samples import LabelUpdate, Sample
from inspkit.store.workspace import Workspace
from inspkit.types import Box

_OK_DIRS = {"ok", "good"}
_SKIP_DIRS = {"ground_truth"}  # MVTec keeps its defect masks here


@dataclass
class LabelReport:
    """What a labelling run did.

    Attributes:
        labelled: Samples whose label was written (descendants not counted).
        imported: Images that were not in the workspace and were collected first.
        skipped: Reason -> names skipped for it.
        collect: The import report, when images were collected.
    """

    labelled: int = 0
    imported: int = 0
    skipped: dict[str, list[str]] = field(default_factory=dict)
    collect: CollectReport | None = None


def check_label(recipe: Recipe, label: str, defect_type: str | None, where: str) -> None:
    """Refuse a label or defect type the recipe's taxonomy does not know.

    Raises:
        LabelError: naming the valid values.
    """
    valid = recipe.label_names()
    if label not in valid:
        raise LabelError(f"{where}: label '{label}' is not one of: {', '.join(valid)}")
    if recipe.labels is LabelKind.OK_NG and defect_type is not None:
        if label != "NG":
            raise LabelError(f"{where}: an OK sample cannot have defect type '{defect_type}'")
        if defect_type not in recipe.taxonomy:
            raise LabelError(
                f"{where}: defect type '{defect_type}' is not in the recipe's taxonomy; "
                f"known types: {', '.join(recipe.taxonomy)}"
            )


def apply_labels(ws: Workspace, updates: Sequence[LabelUpdate]) -> int:
    """Write labels in one transaction, flowing them down to derived samples."""
    rows = []
    for up in updates:
        rows.append((up.sample_id, up.label, up.defect_type, up.boxes))
        rows.extend(_descendant_rows(ws, up.sample_id, up))
    with ws.writing(), ws.samples.transaction():
        ws.samples.update_labels(rows)
    return len(updates)


LabelRow = tuple[int, str, "str | None", "tuple[Box, ...]"]


def _descendant_rows(
    ws: Workspace, sample_id: int, up: LabelUpdate, boxes: tuple[Box, ...] | None = None
) -> list[LabelRow]:
    """Label rows for every sample derived from ``sample_id``, boxes moved along."""
    rows: list[LabelRow] = []
    for child in ws.samples.children(sample_id):
        child_boxes = derive_boxes(child, up.boxes if boxes is None else boxes)
        rows.append((child.id, up.label, up.defect_type, child_boxes))
        rows.extend(_descendant_rows(ws, child.id, up, child_boxes))
    return rows


def label_from_truth(ws: Workspace) -> LabelReport:
    """Label every raw synthetic frame with its ground truth (the policy applied perfectly)."""
    frames = list(ws.samples.select("parent_id IS NULL AND truth_label IS NOT NULL"))
    if not frames:
        raise InputError("no samples with ground truth; this works on 'collect --source sim:N' frames")
    updates = [LabelUpdate(s.id, s.truth.label, s.truth.defect_type, s.truth.boxes) for s in frames]
    return LabelReport(labelled=apply_labels(ws, updates))


def label_from_folders(
    ws: Workspace, folder: Path, on_progress: Callable[[int], None] | None = None
) -> LabelReport:
    """Label images by the folder they sit in, collecting any not yet stored."""
    files = [p for p in list_folder(folder) if not _SKIP_DIRS & set(p.relative_to(folder).parts)]
    named = [(p, folder_label(ws.recipe, p.relative_to(folder))) for p in files if is_image_name(p)]
    if not named:
        raise InputError(f"{folder} holds no images in ok/ + ng/<type>/ or good/ + <type>/ folders")
    for path, (label, dtype) in named:
        check_label(ws.recipe, label, dtype, str(path.relative_to(folder)))
    report = LabelReport(collect=CollectReport())
    import_files(ws, [p for p, _ in named], folder, report.collect, on_progress)
    report.imported = report.collect.added
    report.skipped = dict(report.collect.skipped)
    updates = []
    for path, (label, dtype) in named:
        sample = sample_for_file(ws, path)
        if sample is not None:
            updates.append(LabelUpdate(sample.id, label, dtype))
    report.labelled = apply_labels(ws, updates)
    return report


def folder_label(recipe: Recipe, rel: Path) -> tuple[str, str | None]:
    """``(label, defect_type)`` from an image's path relative to the labelled folder.

    Raises:
        LabelError: the path fits none of the layouts.
    """
    dirs = [d.lower() for d in rel.parts[:-1]]
    if not dirs:
        raise LabelError(f"{rel} is not inside a label folder (ok/, ng/<type>/, good/ or <type>/)")
    if recipe.labels is LabelKind.MULTICLASS:
        return rel.parts[-2], None
    if _OK_DIRS & set(dirs):
        return "OK", None
    if "ng" in dirs:
        after = rel.parts[dirs.index("ng") + 1:-1]
        return "NG", after[0] if after else None
    return "NG", rel.parts[-2]


def label_from_csv(ws: Workspace, csv_path: Path) -> LabelReport:
    """Label stored samples from a CSV with columns ``image`` (path or hash), ``label``, ``defect_type``.

    Rows naming a sample that is not in the workspace are skipped and counted.
    """
    rows = _read_csv(csv_path)
    report = LabelReport()
    updates = []
    for n, row in enumerate(rows, start=2):
        label, dtype = row["label"].strip(), (row.get("defect_type") or "").strip() or None
        check_label(ws.recipe, label, dtype, f"{csv_path.name} line {n}")
        sample = _sample_for_ref(ws, row["image"].strip(), csv_path.parent)
        if sample is None:
            report.skipped.setdefault("unknown sample", []).append(row["image"])
        else:
            updates.append(LabelUpdate(sample.id, label, dtype, sample.boxes))
    report.labelled = apply_labels(ws, updates)
    return report


def _read_csv(path: Path) -> list[dict[str, str]]:
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise InputError(f"cannot read label CSV {path}: {exc}") from None
    if not rows or not {"image", "label"} <= set(rows[0]):
        raise InputError(f"{path} needs a header with columns image,label[,defect_type] and at least one row")
    return rows


def _sample_for_ref(ws: Workspace, ref: str, base: Path) -> Sample | None:
    path = Path(ref) if Path(ref).is_absolute() else base / ref
    if path.is_file():
        return sample_for_file(ws, path)
    return ws.samples.by_hash(ref.lower())


def sample_for_file(ws: Workspace, path: Path) -> Sample | None:
    try:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None
    return ws.samples.by_hash(digest)


def label_table(ws: Workspace) -> dict[tuple[str | None, str | None], int]:
    """Counts of raw frames by ``(label, defect_type)``."""
    rows = ws.conn.execute(
        "SELECT label, defect_type, COUNT(*) FROM samples WHERE parent_id IS NULL AND source != 'augment' "
        "GROUP BY label, defect_type ORDER BY label, defect_type"
    )
    return {(r[0], r[1]): r[2] for r in rows}


def most_common(labels: Sequence[str]) -> str | None:
    """The most frequent label (first seen on ties), ``None`` for none."""
    return Counter(labels).most_common(1)[0][0] if labels else None
