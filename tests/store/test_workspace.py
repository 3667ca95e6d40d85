"""Workspace and sample store: durability settings, round trips, dedup, crash safety."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from inspkit.errors import StorageFullError, WorkspaceError
from inspkit.recipe import load_recipe, with_overrides
from inspkit.store.check import check_workspace
from inspkit.store.samples import Sample, Truth
from inspkit.store.workspace import MARKER, NewImage, Workspace
from inspkit.types import Box, Roi
from tests.conftest import ROOT


def _image(data: bytes, **kw: object) -> NewImage:
    sample = Sample(content_hash="", image_path="", width=1, height=1, source="test", **kw)
    return NewImage(data=data, ext=".png", sample=sample)


def test_create_makes_the_layout_and_open_reads_it(ws: Workspace) -> None:
    for name in ("inspkit.yaml", "samples.db", "images", "models", "runs"):
        assert (ws.root / name).exists()
    with Workspace.open(ws.root) as again:
        assert again.recipe == ws.recipe


def test_database_is_wal_with_full_sync(ws: Workspace) -> None:
    assert ws.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert ws.conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL


def test_create_refuses_an_existing_workspace_and_open_a_plain_folder(ws: Workspace, tmp_path: Path) -> None:
    with pytest.raises(WorkspaceError, match="already a workspace"):
        Workspace.create(ws.root, ws.recipe)
    with pytest.raises(WorkspaceError, match="not an inspkit workspace"):
        Workspace.open(tmp_path)


def test_duplicates_are_skipped_in_a_batch_and_across_batches(ws: Workspace) -> None:
    first = ws.add_images([_image(b"a"), _image(b"b"), _image(b"a")])
    assert len(first.ids) == 2 and first.duplicates == 1
    second = ws.add_images([_image(b"b"), _image(b"c")])
    assert len(second.ids) == 1 and second.duplicates == 1
    assert ws.samples.count() == 3 and check_workspace(ws, deep=True).ok


boxes = st.lists(
    st.builds(Box, st.floats(0, 500), st.floats(0, 500), st.floats(1, 99), st.floats(1, 99),
              st.sampled_from(["hair", "dust"]), st.floats(0, 1)),
    max_size=3,
).map(tuple)
texts = st.none() | st.text(min_size=1, max_size=12)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    data=st.binary(min_size=1, max_size=64), line=texts, serial=texts, label=st.sampled_from([None, "OK", "NG"]),
    split=st.sampled_from([None, "train", "val", "test"]), bxs=boxes,
    roi=st.none() | st.builds(Roi, st.floats(0, 99), st.floats(0, 99), st.floats(1, 99), st.floats(1, 99)),
    truth=st.none() | st.builds(Truth, st.sampled_from(["OK", "NG"]), st.none(), boxes),
)
def test_sample_round_trip(ws, data, line, serial, label, split, bxs, roi, truth) -> None:
    if ws.samples.known_hashes([__import__("hashlib").sha256(data).hexdigest()]):
        return
    item = _image(data, line=line, part_serial=serial, label=label, split=split, boxes=bxs, roi=roi,
                  truth=truth, derivation={"op": "test", "k": 1})
    (sid,) = ws.add_images([item]).ids
    got = ws.samples.get(sid)
    want = item.sample
    assert (got.line, got.part_serial, got.label, got.split, got.boxes, got.roi, got.truth) == (
        want.line, want.part_serial, want.label, want.split, want.boxes, want.roi, want.truth)
    assert got.derivation == {"op": "test", "k": 1}
    assert ws.path(got.image_path).read_bytes() == data


def test_storage_guard_refuses_and_writes_nothing(tmp_path: Path, recipe_file: Path) -> None:
    recipe = with_overrides(load_recipe(recipe_file), {"storage.warn_free_gb": 1e6, "storage.min_free_gb": 1e6})
    ws = Workspace.create(tmp_path / "full", recipe)
    with pytest.raises(StorageFullError, match="nothing was written"):
        ws.add_images([_image(b"x")])
    assert ws.samples.count() == 0 and not any((ws.root / "images").rglob("*.*"))


def test_storage_guard_warns_below_the_warning_level(tmp_path: Path, recipe_file: Path) -> None:
    recipe = with_overrides(load_recipe(recipe_file), {"storage.warn_free_gb": 1e6, "storage.min_free_gb": 0.0})
    ws = Workspace.create(tmp_path / "low", recipe)
    result = ws.add_images([_image(b"x")])
    assert result.ids and "storage low" in result.warnings[0]


def test_leftovers_of_a_killed_writer_are_swept_on_open(ws: Workspace) -> None:
    ws.add_images([_image(b"kept")])
    orphan = ws.root / "images" / "ab" / ("ab" + "0" * 62 + ".png")
    orphan.parent.mkdir(parents=True, exist_ok=True)
    orphan.write_bytes(b"never committed")
    (orphan.parent / ".half.png.123.tmp").write_bytes(b"half")
    (ws.root / MARKER).touch()
    assert not check_workspace(ws).ok
    with Workspace.open(ws.root) as reopened:
        report = check_workspace(reopened, deep=True)
    assert report.ok and report.samples == 1


_WRITER = """
import sys
from inspkit.store.workspace import Workspace, NewImage
from inspkit.store.samples import Sample, Truth
ws = Workspace.open(sys.argv[1])
n = 0
while True:
    batch = []
    for _ in range(16):
        n += 1
        s = Sample(content_hash="", image_path="", width=1, height=1, source="kill", truth=Truth("NG"))
        batch.append(NewImage(data=f"{sys.argv[2]}-{n}".encode() * 50, ext=".png", sample=s, mask_png=f"m{n}".encode()))
    ws.add_images(batch)
    print(n, flush=True)
"""


def test_killing_a_writer_at_any_moment_leaves_a_consistent_store(ws: Workspace) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for round_no, delay_s in enumerate((0.05, 0.2, 0.35, 0.5, 0.8, 1.1)):
        proc = subprocess.Popen([sys.executable, "-c", _WRITER, str(ws.root), str(round_no)],
                                env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        time.sleep(delay_s)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        with Workspace.open(ws.root) as reopened:
            report = check_workspace(reopened, deep=True)
            assert report.ok, report
    assert ws.samples.count() > 0
