"""The review page's HTTP API: decisions stored at once, history kept, one-line errors, no paths."""

from __future__ import annotations

import json
import shutil
import threading
import sqlite3
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from inspkit.errors import InputError, WorkspaceError
from inspkit.maintain.review_server import ReviewServer, start_server
from inspkit.maintain.reviews import ReviewStore
from inspkit.store.workspace import Workspace


@pytest.fixture
def server(scored_ws: Path) -> Iterator[ReviewServer]:
    handle = start_server(scored_ws, alpha=0.5)
    yield handle
    handle.close()


@pytest.fixture(scope="module")
def refusing(_scored_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ReviewServer]:
    """One server for the tests of requests that must store nothing (a copy per test is slow)."""
    root = tmp_path_factory.mktemp("refusing") / "ws"
    shutil.copytree(_scored_template, root)
    handle = start_server(root, alpha=0.5)
    yield handle
    handle.close()
    assert _rows(root) == []


def _request(server: ReviewServer, path: str, body: bytes | None = None,
             headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    req = urllib.request.Request(server.url.rstrip("/") + path, data=body, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


def _get(server: ReviewServer, path: str) -> tuple[int, Any]:
    status, _, body = _request(server, path)
    return status, json.loads(body)


def _post(server: ReviewServer, payload: object) -> tuple[int, Any]:
    status, _, body = _request(server, "/api/decision", json.dumps(payload).encode(),
                                {"Content-Type": "application/json"})
    return status, json.loads(body)


def _ids(server: ReviewServer) -> list[int]:
    return [item["sample_id"] for item in _get(server, "/api/queue")[1]["items"]]


def _rows(root: Path) -> list[tuple[int, int, str, str | None, str]]:
    """The stored review rows, read by a connection of our own (what another process sees)."""
    conn = sqlite3.connect(root / "samples.db")
    try:
        return conn.execute("SELECT sample_id, correct, label, attention, source FROM reviews ORDER BY id").fetchall()
    finally:
        conn.close()


def _assert_one_line_error(status: int, data: Any, expected_status: int, words: str) -> None:
    assert status == expected_status
    assert set(data) == {"error"} and "\n" not in data["error"]
    assert words in data["error"]


def test_queue_lists_every_doubtful_sample_with_counts(server: ReviewServer) -> None:
    status, data = _get(server, "/api/queue")
    assert status == 200
    assert data["counts"] == {"total": 12, "left": 12, "failed": 0}
    item = data["items"][0]
    assert {"sample_id", "predicted", "p_ok", "model_version", "inspected_at", "state", "failed"} <= set(item)
    assert {i["state"] for i in data["items"]} == {"pending"} and item["model_version"] == "v0001"


def test_a_wrong_answer_is_stored_at_once_with_the_other_label(server: ReviewServer, scored_ws: Path) -> None:
    sid = _ids(server)[0]
    status, data = _post(server, {"sample_id": sid, "correct": False, "attention": None})
    assert status == 200
    state = data["state"]
    assert state["state"] == "done" and state["failed"] is True
    assert state["label"] == ("OK" if state["predicted"] == "NG" else "NG")
    assert data["counts"]["left"] == 11 and data["counts"]["failed"] == 1
    assert _rows(scored_ws) == [(sid, 0, state["label"], None, "web")]


def test_right_then_stage_two_completes_the_sample(server: ReviewServer, scored_ws: Path) -> None:
    sid = _ids(server)[1]
    _, first = _post(server, {"sample_id": sid, "correct": True, "attention": None})
    assert first["state"]["state"] == "stage-2" and first["counts"]["left"] == 12
    _, second = _post(server, {"sample_id": sid, "correct": True, "attention": "training-fail"})
    assert second["state"]["state"] == "done" and second["state"]["failed"] is True
    assert second["counts"]["left"] == 11
    assert [r[3] for r in _rows(scored_ws)] == [None, "training-fail"]


def test_reviewing_again_keeps_the_history_and_the_last_answer_counts(server: ReviewServer,
                                                                      scored_ws: Path) -> None:
    sid = _ids(server)[2]
    _post(server, {"sample_id": sid, "correct": False, "attention": None})
    _post(server, {"sample_id": sid, "correct": True, "attention": "well-trained"})
    status, data = _get(server, f"/api/sample/{sid}")
    assert status == 200
    assert [(h["correct"], h["attention"]) for h in data["history"]] == [(0, None), (1, "well-trained")]
    assert data["state"]["failed"] is False and data["state"]["reviews"] == 2
    with Workspace.open(scored_ws) as ws:
        assert ReviewStore(ws.conn).failed() == []


def test_a_wrong_prediction_refuses_stage_two(server: ReviewServer, scored_ws: Path) -> None:
    sid = _ids(server)[0]
    status, data = _post(server, {"sample_id": sid, "correct": False, "attention": "training-fail"})
    _assert_one_line_error(status, data, 400, "stage 2")
    assert _rows(scored_ws) == []


def test_unknown_samples_are_404_with_one_line(server: ReviewServer, scored_ws: Path) -> None:
    _assert_one_line_error(*_get(server, "/api/sample/999999"), 404, "999999")
    _assert_one_line_error(*_post(server, {"sample_id": 999999, "correct": True, "attention": None}), 404, "999999")
    assert _request(server, "/cam/999999.png")[0] == 404
    assert _rows(scored_ws) == []


@pytest.mark.parametrize(("payload", "words"), [
    ([1, 2], "JSON object"),
    ({"sample_id": "1", "correct": True}, "sample_id"),
    ({"sample_id": 1, "correct": "yes"}, "correct"),
    ({"sample_id": 1, "correct": True, "attention": "fine"}, "attention"),
    ({"sample_id": 1, "correct": True, "path": "/etc"}, "unknown field"),
])
def test_bad_decisions_are_400(refusing: ReviewServer, payload: object, words: str) -> None:
    _assert_one_line_error(*_post(refusing, payload), 400, words)


def test_bad_json_and_other_content_types_are_refused(refusing: ReviewServer) -> None:
    status, _, body = _request(refusing, "/api/decision", b"{not json", {"Content-Type": "application/json"})
    _assert_one_line_error(status, json.loads(body), 400, "not valid JSON")
    status, _, body = _request(refusing, "/api/decision", b'{"sample_id": 1, "correct": true}',
                               {"Content-Type": "text/plain"})
    _assert_one_line_error(status, json.loads(body), 415, "JSON")


@pytest.mark.parametrize("path", [
    "/img/../x", "/img/../samples.db", "/img/%2e%2e/inspkit.yaml", "/cam/1/../../x.png",
    "/review.html", "/web/review.js", "/img/-1.png", "/img/1.png.png", "/api/sample/1.5",
])
def test_no_path_is_taken_from_the_request(refusing: ReviewServer, path: str) -> None:
    status, data = _get(refusing, path)
    _assert_one_line_error(status, data, 404, "")


def test_pictures_are_the_models_view_and_its_overlay_enlarged(refusing: ReviewServer) -> None:
    sid = _ids(refusing)[0]
    pictures = []
    for kind in ("img", "cam"):
        status, headers, body = _request(refusing, f"/{kind}/{sid}.png")
        assert status == 200 and headers["Content-Type"] == "image/png"
        pictures.append(cv2.imdecode(np.frombuffer(body, np.uint8), cv2.IMREAD_COLOR))
    assert pictures[0].shape == pictures[1].shape == (256, 256, 3)
    assert not np.array_equal(pictures[0], pictures[1])
    again = cv2.imdecode(np.frombuffer(_request(refusing, f"/cam/{sid}.png")[2], np.uint8), cv2.IMREAD_COLOR)
    assert np.array_equal(again, pictures[1])


def test_the_page_and_its_files_are_served(refusing: ReviewServer) -> None:
    status, headers, body = _request(refusing, "/")
    assert status == 200 and b'src="/review.js"' in body
    assert "default-src 'self'" in headers["Content-Security-Policy"]
    for path, kind in (("/review.js", "javascript"), ("/review.css", "css")):
        status, headers, _ = _request(refusing, path)
        assert status == 200 and kind in headers["Content-Type"]


def test_other_host_names_are_refused_on_loopback(refusing: ReviewServer) -> None:
    status, _, body = _request(refusing, "/api/queue", headers={"Host": "attacker.example:80"})
    _assert_one_line_error(status, json.loads(body), 403, "loopback")
    assert _request(refusing, "/api/queue", headers={"Host": "localhost"})[0] == 200


def test_bad_setup_fails_before_serving(scored_ws: Path, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="alpha|α"):
        ReviewServer(scored_ws, alpha=0.7)
    with pytest.raises(WorkspaceError):
        ReviewServer(tmp_path / "nowhere", alpha=0.1)
    with ReviewServer(scored_ws, alpha=0.1) as first:
        port = int(first.url.rsplit(":", 1)[1].strip("/"))
        with pytest.raises(InputError, match="cannot listen"):
            ReviewServer(scored_ws, alpha=0.1, port=port)


def test_close_frees_the_port_even_when_never_served(scored_ws: Path) -> None:
    server = ReviewServer(scored_ws, alpha=0.5)
    server.close()
    started = start_server(scored_ws, alpha=0.5)
    started.close()
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(started.url, timeout=5)


def test_serve_forever_after_start_waits_until_closed(scored_ws: Path) -> None:
    server = start_server(scored_ws, alpha=0.5)
    stopper = threading.Timer(0.3, server.close)  # what Ctrl-C's handler does in the CLI
    stopper.start()
    server.serve_forever()
    stopper.join()
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(server.url, timeout=5)
