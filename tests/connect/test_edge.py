"""The running edge service over TCP: parts answered, kept and recorded; bad frames refused; HMAC."""

from __future__ import annotations

import socket
import struct
import threading
from pathlib import Path

import pytest

from inspkit.connect.client import EdgeClient, EdgeReplyError
from inspkit.connect.edge import start_edge
from inspkit.connect.mes import open_mes
from inspkit.connect.protocol import ErrorFrame, decode, encode
from inspkit.connect.protocol import PingFrame
from inspkit.maintain.reviews import ReviewStore
from inspkit.models.store import ModelStore
from inspkit.store.workspace import Workspace
from inspkit.types import Verdict
from tests.connect.edge_fixtures import edge, edge_ws, frame_image, options, store_fresh_model  # noqa: F401

pytestmark = pytest.mark.usefixtures("edge_ws")


def _mes_rows(path: Path) -> list:
    sink = open_mes(f"sqlite:///{path}")
    try:
        return sink.records()
    finally:
        sink.close()


def test_parts_are_answered_recorded_in_the_mes_and_kept_for_review(edge_ws: Path) -> None:
    running = start_edge(options(edge_ws))
    with EdgeClient(*running.address, timeout_s=10) as client:
        replies = [client.inspect(s, frame_image(s % 2 == 0, s), Verdict.OK, "L1", "S1") for s in range(12)]
    assert running.stop()  # drained
    assert all(r.by == "model" and r.version == "v0001" and 0 <= r.p_ok <= 1 for r in replies)
    rows = _mes_rows(edge_ws.parent / "mes.db")
    assert sorted(r.serial for r in rows) == list(range(12))
    assert {r.final_verdict for r in rows} <= {"OK", "NG"} and all(r.model_version == "v0001" for r in rows)
    with Workspace.open(edge_ws) as ws:
        kept = list(ws.samples.select("source = 'connect:L1/S1'"))
        assert sorted(int(s.part_serial) for s in kept) == list(range(12))
        p_kept = {int(s.part_serial): ReviewStore(ws.conn).prediction(s.id).p_ok for s in kept}
    assert p_kept == pytest.approx({r.serial: r.p_ok for r in replies})


def test_bad_frames_get_an_error_reply_and_the_service_goes_on(edge) -> None:  # noqa: ANN001
    host, port = edge.address
    with socket.create_connection((host, port), timeout=5) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\n\r\n")  # not our protocol: the frame boundary is lost
        reply = decode(_read_reply(sock))
        assert isinstance(reply, ErrorFrame) and reply.code == "bad-magic"
    with socket.create_connection((host, port), timeout=5) as sock:
        bad_json = b"{not json"
        prefix = struct.pack("!2sBBBBHI", b"IK", 1, 2, 0, 0, len(bad_json), 0)
        sock.sendall(prefix + bad_json)  # boundary intact: error reply, connection stays
        assert decode(_read_reply(sock)).code == "bad-header"
        sock.sendall(encode(PingFrame()))
        assert decode(_read_reply(sock)).ready is True
    with EdgeClient(host, port) as client:
        assert client.inspect(99, frame_image(), Verdict.NG, "L1", "S1").serial == 99
    assert edge.server.frames_refused == 2


def _read_reply(sock: socket.socket) -> bytes:
    prefix = _exact(sock, 12)
    _, _, _, flags, _, header_len, body_len = struct.unpack("!2sBBBBHI", prefix)
    return prefix + _exact(sock, header_len + body_len + (32 if flags & 1 else 0))


def _exact(sock: socket.socket, n: int) -> bytes:
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        assert chunk, "the service closed the connection before replying"
        buf += chunk
    return buf


def test_with_a_shared_key_unauthenticated_frames_are_refused(edge_ws: Path) -> None:
    key = b"0123456789abcdef-shared"
    running = start_edge(options(edge_ws, key=key))
    try:
        with EdgeClient(*running.address) as client, pytest.raises(EdgeReplyError, match="auth"):
            client.inspect(1, frame_image(), Verdict.OK, "L1", "S1")
        with EdgeClient(*running.address, key=key) as client:
            assert client.inspect(2, frame_image(), Verdict.OK, "L1", "S1").by == "model"
    finally:
        running.stop()
    assert [r.serial for r in _mes_rows(edge_ws.parent / "mes.db")] == [2]


def test_a_model_swap_under_load_drops_and_doubles_nothing(edge_ws: Path) -> None:
    running = start_edge(options(edge_ws))
    sent = {0: [], 1: []}
    replies: dict[int, list] = {0: [], 1: []}

    def station(k: int) -> None:
        with EdgeClient(*running.address, timeout_s=20) as client:
            for i in range(60):
                serial = k * 1000 + i
                sent[k].append(serial)
                replies[k].append(client.inspect(serial, frame_image(True, serial), Verdict.OK, "L1", f"S{k}"))

    threads = [threading.Thread(target=station, args=(k,)) for k in (0, 1)]
    for t in threads:
        t.start()
    while len(replies[0]) < 15:
        threading.Event().wait(0.01)
    store_fresh_model(edge_ws / "models", seed=1)  # v0002, promoted mid-run
    for t in threads:
        t.join()
    assert running.stop()
    answered = [r for k in (0, 1) for r in replies[k]]
    assert [r.serial for r in replies[0]] == sent[0] and [r.serial for r in replies[1]] == sent[1]
    assert all(r.by == "model" for r in answered)
    assert {r.version for r in answered} == {"v0001", "v0002"}
    rows = _mes_rows(edge_ws.parent / "mes.db")
    assert len(rows) == 120 and len({(r.station, r.serial) for r in rows}) == 120
    assert ModelStore(edge_ws / "models").production() == "v0002"


def test_results_reach_a_postgresql_mes(edge_ws: Path, pg_url: str) -> None:
    running = start_edge(options(edge_ws, mes_url=pg_url))
    with EdgeClient(*running.address, timeout_s=10) as client:
        for serial in range(10):
            client.inspect(serial, frame_image(True, serial), Verdict.OK, "L1", "S1")
    assert running.stop()
    sink = open_mes(pg_url)
    try:
        assert sorted(r.serial for r in sink.records()) == list(range(10))
    finally:
        sink.close()
