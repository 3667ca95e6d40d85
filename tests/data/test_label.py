"""label: folder layouts, CSV, YOLO, ground truth; taxonomy checks; labels flow to crops."""

from __future__ import annotations

from pathlib import Path

import pytest

from inspkit.data.collect import collect_folder
from inspkit.data.crop import crop_samples
from inspkit.data.label import label_from_csv, label_from_folders, label_table
from inspkit.data.label_yolo import label_from_yolo
from inspkit.errors import InputError, LabelError
from inspkit.types import Roi
from tests.conftest import write_png


def _labels(ws) -> dict[str, tuple[str | None, str | None]]:
    return {s.part_serial: (s.label, s.defect_type) for s in ws.samples.select("parent_id IS NULL")}


def test_ok_ng_layout_imports_and_labels(ws, tmp_path: Path) -> None:
    root = tmp_path / "labelled"
    write_png(root / "ok" / "p1.png", 1)
    write_png(root / "ng" / "lump" / "p2.png", 2)
    write_png(root / "NG" / "broken_bead" / "p3.png", 3)
    report = label_from_folders(ws, root)
    assert report.labelled == 3 and report.imported == 3
    assert _labels(ws) == {"p1": ("OK", None), "p2": ("NG", "lump"), "p3": ("NG", "broken_bead")}
    assert label_table(ws)[("NG", "lump")] == 1


def test_mvtec_layout_with_ground_truth_masks(ws, tmp_path: Path) -> None:
    root = tmp_path / "mvtec"
    write_png(root / "train" / "good" / "g.png", 1)
    write_png(root / "test" / "air_bubbles" / "b.png", 2)
    write_png(root / "ground_truth" / "air_bubbles" / "b_mask.png", 3)
    report = label_from_folders(ws, root)
    assert report.imported == 2
    assert _labels(ws) == {"g": ("OK", None), "b": ("NG", "air_bubbles")}


def test_unknown_defect_type_is_refused_with_the_known_types(ws, tmp_path: Path) -> None:
    root = tmp_path / "labelled"
    write_png(root / "ok" / "p1.png", 1)
    write_png(root / "ng" / "scratch" / "p2.png", 2)
    with pytest.raises(LabelError, match="'scratch'.*known types: broken_bead, lump"):
        label_from_folders(ws, root)
    assert ws.samples.count() == 0  # refused before anything was stored


def test_csv_labels_stored_samples_and_counts_unknown_ones(ws, tmp_path: Path) -> None:
    src = tmp_path / "src"
    write_png(src / "a.png", 1)
    write_png(src / "b.png", 2)
    collect_folder(ws, src)
    b_hash = ws.samples.by_hash(__import__("hashlib").sha256((src / "b.png").read_bytes()).hexdigest()).content_hash
    csv = tmp_path / "labels.csv"
    csv.write_text(f"image,label,defect_type\nsrc/a.png,OK,\n{b_hash},NG,lump\nsrc/ghost.png,OK,\n")
    report = label_from_csv(ws, csv)
    assert report.labelled == 2 and report.skipped == {"unknown sample": ["src/ghost.png"]}
    assert _labels(ws) == {"a": ("OK", None), "b": ("NG", "lump")}


def test_csv_with_a_bad_label_changes_nothing(ws, tmp_path: Path) -> None:
    src = tmp_path / "src"
    write_png(src / "a.png", 1)
    write_png(src / "b.png", 2)
    collect_folder(ws, src)
    csv = tmp_path / "labels.csv"
    csv.write_text("image,label,defect_type\nsrc/a.png,OK,\nsrc/b.png,MAYBE,\n")
    with pytest.raises(LabelError, match="'MAYBE' is not one of: OK, NG"):
        label_from_csv(ws, csv)
    assert _labels(ws) == {"a": (None, None), "b": (None, None)}
    csv.write_text("file,verdict\nx,OK\n")
    with pytest.raises(InputError, match="image,label"):
        label_from_csv(ws, csv)


def test_yolo_boxes_label_and_flow_into_crops(ws, tmp_path: Path) -> None:
    root = tmp_path / "yolo"
    write_png(root / "images" / "d.png", 1, size=64)
    write_png(root / "images" / "c.png", 2, size=64)
    (root / "labels").mkdir()
    (root / "labels" / "d.txt").write_text("1 0.5 0.5 0.25 0.125\n")
    (root / "labels" / "c.txt").write_text("")
    report = label_from_yolo(ws, root)
    assert report.labelled == 2
    assert _labels(ws) == {"d": ("NG", "lump"), "c": ("OK", None)}
    (d,) = ws.samples.select("part_serial = 'd' AND parent_id IS NULL")
    (box,) = d.boxes
    assert (box.cx, box.cy, box.w, box.h, box.label) == (32, 32, 16, 8, "lump")
    crop_samples(ws, Roi(40, 40, 32, 32))
    (child,) = ws.samples.children(d.id)
    assert child.label == "NG" and child.boxes[0].cx == pytest.approx(32 - 24)


def test_relabelling_a_frame_relabels_its_crops(ws, tmp_path: Path) -> None:
    root = tmp_path / "labelled"
    write_png(root / "ok" / "p1.png", 1)
    label_from_folders(ws, root)
    crop_samples(ws, Roi(12, 12, 16, 16))
    (frame,) = ws.samples.select("parent_id IS NULL")
    csv = tmp_path / "fix.csv"
    csv.write_text(f"image,label,defect_type\n{frame.content_hash},NG,lump\n")
    label_from_csv(ws, csv)
    (child,) = ws.samples.children(frame.id)
    assert (child.label, child.defect_type) == ("NG", "lump")
