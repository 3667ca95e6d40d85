"""A YOLO-format dataset written from labelled boxes, for Ultralytics training.

``images/{split}/`` (links to the workspace's files, copies where links fail),
``labels/{split}/*.txt`` with ``class cx cy w h`` normalised to the image, an
empty file for an OK image, and ``data.yaml``.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

from inspkit.errors import InputError, LabelError
from inspkit.store.atomic import atomic_write_text
from inspkit.types import Box

SPLITS = ("train", "val", "test")


@dataclass(frozen=True)
class YoloItem:
    """One image of a detector dataset.

    Attributes:
        image_path: The image file (any format OpenCV and Ultralytics read).
        boxes: Ground-truth boxes in the image's pixels; empty for an OK image.
        split: ``train``, ``val`` or ``test``.
    """

    image_path: Path
    boxes: tuple[Box, ...]
    split: str



def write_dataset(out_dir: Path, items: Sequence[YoloItem], classes: Sequence[str]) -> Path:
    """Write a YOLO dataset: images, label files and ``data.yaml``.

    ``images/{split}/`` holds symlinks to the files (copies where links fail);
    ``labels/{split}/*.txt`` one ``class cx cy w h`` line per box, normalised to
    the image size (read from the file), empty for an OK image. Earlier
    ``images/`` and ``labels/`` in ``out_dir`` are replaced: no stale image trains.

    Args:
        out_dir: Dataset folder; created if missing.
        items: The images with their boxes and splits.
        classes: Class names in index order; every box label must be one of them.

    Returns:
        Path of the written ``data.yaml`` (absolute ``path``, ``names``).

    Raises:
        InputError: A split is unknown, train or val is empty, or an image is unreadable.
        LabelError: A box label is not in ``classes``.
    """
    _check_items(items)
    index = {name: i for i, name in enumerate(classes)}
    out_dir = out_dir.resolve()
    for folder in ("images", "labels"):
        shutil.rmtree(out_dir / folder, ignore_errors=True)
        for split in SPLITS:
            (out_dir / folder / split).mkdir(parents=True, exist_ok=True)
    for n, item in enumerate(items):
        # A running number keeps two files with the same name apart.
        stem = f"{n:06d}_{item.image_path.stem}"
        image = out_dir / "images" / item.split / f"{stem}{item.image_path.suffix}"
        _place_image(item.image_path, image)
        label = out_dir / "labels" / item.split / f"{stem}.txt"
        label.write_text(_label_lines(item, index), encoding="utf-8")
    data = {
        "path": str(out_dir), "train": "images/train", "val": "images/val", "test": "images/test",
        "nc": len(classes), "names": dict(enumerate(classes)),
    }
    atomic_write_text(out_dir / "data.yaml", yaml.safe_dump(data, sort_keys=False))
    return out_dir / "data.yaml"


def _check_items(items: Sequence[YoloItem]) -> None:
    for item in items:
        if item.split not in SPLITS:
            raise InputError(
                f"{item.image_path.name}: split '{item.split}' is not one of {', '.join(SPLITS)}"
            )
        if not item.image_path.is_file():
            raise InputError(f"image {item.image_path} does not exist")
    present = {item.split for item in items}
    if not {"train", "val"} <= present:
        raise InputError("a detector dataset needs at least one train and one val image")


def _place_image(source: Path, target: Path) -> None:
    try:
        target.symlink_to(source.resolve())
    except OSError:  # no symlinks here (e.g. Windows without the privilege)
        shutil.copyfile(source, target)


def _label_lines(item: YoloItem, index: dict[str, int]) -> str:
    width, height = _image_size(item.image_path)
    lines = []
    for box in item.boxes:
        if box.label not in index:
            raise LabelError(
                f"{item.image_path.name}: box label '{box.label}' is not a detector class; "
                f"known classes: {', '.join(index)}"
            )
        norm = _normalised(box, width, height)
        if norm is not None:
            lines.append(f"{index[box.label]} " + " ".join(f"{v:.6f}" for v in norm))
    return "".join(f"{line}\n" for line in lines)


def _image_size(path: Path) -> tuple[int, int]:
    """``(width, height)`` from the file header, without decoding the pixels."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            return im.size
    except (OSError, UnidentifiedImageError):
        raise InputError(f"{path} is not a readable image") from None


def _normalised(box: Box, width: int, height: int) -> tuple[float, float, float, float] | None:
    """``(cx, cy, w, h)`` in 0..1, clipped to the image; None when nothing is left inside.

    Ultralytics drops every label of an image whose coordinates leave 0..1,
    so a box hanging over the edge is cut to the image rather than lost.
    """
    x0, x1 = max(0.0, box.cx - box.w / 2), min(float(width), box.cx + box.w / 2)
    y0, y1 = max(0.0, box.cy - box.h / 2), min(float(height), box.cy + box.h / 2)
    if x1 <= x0 or y1 <= y0:
        return None
    return ((x0 + x1) / 2 / width, (y0 + y1) / 2 / height, (x1 - x0) / width, (y1 - y0) / height)
