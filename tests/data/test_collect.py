"""collect: folder import, skips with reasons, duplicates, watching a folder."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from inspkit.data.collect import collect_folder, watch_folder
from inspkit.errors import InputError
from inspkit.store.check import check_workspace
from tests.conftest import write_png


def test_folder_import_counts_duplicates_and_skips(ws, tmp_path: Path) -> None:
    src = tmp_path / "vision-pc"
    write_png(src / "a.png", 1)
    write_png(src / "sub" / "b.png", 2)
    (src / "copy.png").write_bytes((src / "a.png").read_bytes())
    (src / "notes.txt").write_text("not an image")
    (src / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    report = collect_folder(ws, src)
    assert report.added == 2 and report.duplicates == 1
    assert report.skipped == {"not an image file": ["notes.txt"], "corrupt image": ["broken.png"]}
    again = collect_folder(ws, src)
    assert again.added == 0 and again.duplicates == 3
    sample = ws.samples.get(report.ids[0])
    assert sample.source == "folder:vision-pc" and sample.part_serial == "a" and sample.width == 24
    assert sample.line == ws.recipe.line.line and sample.captured_at.endswith("Z")
    assert check_workspace(ws, deep=True).ok


def test_empty_and_missing_folders_are_one_line_errors(ws, tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="holds no files"):
        collect_folder(ws, tmp_path / "empty")
    with pytest.raises(InputError, match="not a readable folder"):
        collect_folder(ws, tmp_path / "missing")
    assert ws.samples.count() == 0


def test_unreadable_file_is_skipped_and_counted(ws, tmp_path: Path, monkeypatch) -> None:
    src = tmp_path / "src"
    locked = write_png(src / "locked.png", 3)
    write_png(src / "fine.png", 4)
    real_read = Path.read_bytes

    def read_bytes(self: Path) -> bytes:  # permissions do not bind root, so refuse here
        if self == locked:
            raise PermissionError(13, "Permission denied")
        return real_read(self)

    monkeypatch.setattr(Path, "read_bytes", read_bytes)
    report = collect_folder(ws, src)
    assert report.added == 1 and report.skipped == {"unreadable": ["locked.png"]}


def test_watch_imports_new_files_only_once_they_stop_growing(ws, tmp_path: Path) -> None:
    src = tmp_path / "watched"
    src.mkdir()
    full = write_png(tmp_path / "staging" / "part.png", 5).read_bytes()
    stop = threading.Event()
    batches = []

    def writer() -> None:
        target = src / "part.png"
        with open(target, "wb") as fh:  # written in two halves, like a slow vision PC
            fh.write(full[: len(full) // 2])
            fh.flush()
            time.sleep(0.3)  # shorter than settle_s: must not be imported half-written
            fh.write(full[len(full) // 2:])
        write_png(src / "second.png", 6)
        time.sleep(1.2)
        stop.set()

    thread = threading.Thread(target=writer)
    thread.start()
    report = watch_folder(ws, src, stop.is_set, poll_s=0.05, on_batch=lambda r: batches.append(r.added), settle_s=0.5)
    thread.join()
    assert report.added == 2 and not report.skipped and sum(batches) >= 2
    assert check_workspace(ws, deep=True).ok
