"""``label --yolo``: box labels in the YOLO text format for detector data.

A folder holds images and, for each image ``x.png``, a ``x.txt`` beside it or
in a sibling ``labels/`` folder: one ``class cx cy w h`` line per box, in
coordinates normalised to the image size. Class names come from
``classes.txt`` in the folder, else the recipe's taxonomy order. An empty
file labels the image OK; boxes label it NG with the commonest box class as
its defect type. Images not yet stored are collected first.
"""

from __future__ import annotations

from pathlib import Path

from inspkit.data.collect import CollectReport, import_files, list_folder
from inspkit.data.imageio import is_image_name
from inspkit.data.label import (
    LabelReport, apply_labels, check_label, most_common, sample_for_file,
)
from inspkit.errors import InputError, LabelError
from inspkit.store.samples import LabelUpdate
from inspkit.store.workspace import Workspace
from inspkit.types import Box


def label_from_yolo(ws: Workspace, folder: Path) -> LabelReport:
    """Label images in ``folder`` from their YOLO box files."""
    names = _class_names(ws, folder)
    images = [p for p in list_folder(folder) if is_image_name(p)]
    if not images:
        raise InputError(f"{folder} holds no images next to YOLO label files")
    report = LabelReport(collect=CollectReport())
    parsed = []
    for image in images:
        txt = _label_file(folder, image)
        if txt is None:
            report.skipped.setdefault("no label file", []).append(image.name)
        else:
            parsed.append((image, _read_boxes(txt, names)))
    import_files(ws, [p for p, _ in parsed], folder, report.collect)
    report.imported = report.collect.added
    updates = []
    for image, norm_boxes in parsed:
        sample = sample_for_file(ws, image)
        if sample is None:
            continue  # counted as corrupt or unreadable by the import
        boxes = tuple(_to_pixels(b, sample.width, sample.height) for b in norm_boxes)
        label = "NG" if boxes else "OK"
        dtype = most_common([b.label for b in boxes])
        check_label(ws.recipe, label, dtype, image.name)
        updates.append(LabelUpdate(sample.id, label, dtype, boxes))
    report.labelled = apply_labels(ws, updates)
    return report


def _class_names(ws: Workspace, folder: Path) -> list[str]:
    path = folder / "classes.txt"
    names = path.read_text(encoding="utf-8").split() if path.is_file() else list(ws.recipe.taxonomy)
    unknown = [n for n in names if n not in ws.recipe.taxonomy]
    if unknown:
        raise LabelError(
            f"classes.txt names '{unknown[0]}', which is not in the recipe's taxonomy; "
            f"known types: {', '.join(ws.recipe.taxonomy)}"
        )
    return names


def _label_file(folder: Path, image: Path) -> Path | None:
    for candidate in (image.with_suffix(".txt"), image.parent.parent / "labels" / f"{image.stem}.txt"):
        if candidate.is_file():
            return candidate
    return None


def _read_boxes(txt: Path, names: list[str]) -> list[Box]:
    boxes = []
    for n, line in enumerate(txt.read_text(encoding="utf-8").splitlines(), start=1):
        parts = line.split()
        if not parts:
            continue
        try:
            cls, cx, cy, w, h = int(parts[0]), *map(float, parts[1:5])
            name = names[cls]
        except (ValueError, IndexError):
            raise InputError(
                f"{txt.name} line {n}: expected 'class cx cy w h' with class 0..{len(names) - 1}"
            ) from None
        boxes.append(Box(cx, cy, h, w, name))
    return boxes


def _to_pixels(b: Box, width: int, height: int) -> Box:
    return Box(b.cx * width, b.cy * height, b.h * height, b.w * width, b.label)
