"""EdgeClient against a tiny in-test edge: round trips, ERROR replies, one reconnect, bounded timeouts."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator

import numpy as np
import pytest

from inspkit.connect.client import EdgeClient, EdgeReplyError, EdgeTimeoutError, parse_address
from inspkit.connect.protocol import (
    AckFrame,
    ErrorFrame,
    Frame,
    PartFrame,
    PingFrame,
    PongFrame,
    ProtocolError,
    ResultFrame,
    TriggerFrame,
    decode_image,
    encode,
    read_frame,
)
from inspkit.errors import ConnectError, InputError
from inspkit.types import Verdict

KEY = b"line key"
IMAGE = np.random.default_rng(1).integers(0, 256, (16, 12, 3), dtype=np.uint8)
DROP = object()  # a handler's answer: close the connection without replying

Handler = Callable[[Frame, int], "Frame | object | None"]


def result_for(part: PartFrame, final: Verdict = Verdict.NG) -> ResultFrame:
    return ResultFrame(part.serial, part.line, part.station, final, 0.125, final, "model", "v0001",
                       "ok", None, 3.0)


def answer(frame: Frame, connection: int) -> Frame | object | None:
    """A well-behaved edge."""
    if isinstance(frame, PartFrame):
        return result_for(frame)
    if isinstance(frame, TriggerFrame):
        return AckFrame(frame.serial)
    return PongFrame("v0001", True, "replacement", False)


class TinyEdge:
    """A loopback server; ``handler(frame, connection_number)`` gives the reply, DROP, or None (silence)."""

    def __init__(self, handler: Handler, key: bytes | None = None) -> None:
        self.handler, self.key = handler, key
        self.received: list[tuple[int, Frame]] = []
        self.connections = 0
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.open: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            self.connections += 1
            self.open.append(conn)
            threading.Thread(target=self._serve, args=(conn, self.connections), daemon=True).start()

    def _serve(self, conn: socket.socket, number: int) -> None:
        def recv_exact(n: int) -> bytes:
            data = b""
            while len(data) < n:
                chunk = conn.recv(n - len(data))
                if not chunk:
                    raise EOFError
                data += chunk
            return data

        with conn:
            while True:
                try:
                    frame = read_frame(recv_exact, self.key)
                except ProtocolError as err:
                    conn.sendall(encode(ErrorFrame(None, err.code, err.message[:200]), self.key))
                    continue
                except (EOFError, OSError):
                    return
                self.received.append((number, frame))
                reply = self.handler(frame, number)
                if reply is DROP:
                    return
                if reply is not None:
                    conn.sendall(encode(reply, self.key))  # type: ignore[arg-type]

    def close(self) -> None:
        self.listener.close()
        for conn in self.open:
            conn.close()


@pytest.fixture
def edge_factory() -> Iterator[Callable[..., TinyEdge]]:
    edges: list[TinyEdge] = []

    def make(handler: Handler = answer, key: bytes | None = None) -> TinyEdge:
        edges.append(TinyEdge(handler, key))
        return edges[-1]

    yield make
    for edge in edges:
        edge.close()


def test_inspect_round_trip(edge_factory: Callable[..., TinyEdge]) -> None:
    edge = edge_factory(key=KEY)
    with EdgeClient("127.0.0.1", edge.port, key=KEY) as client:
        result = client.inspect(41, IMAGE, Verdict.NG, "L1", "S1", t=1.5)
        assert (result.serial, result.final, result.by) == (41, Verdict.NG, "model")
        assert client.inspect(42, IMAGE[..., 0], None, "L1", "S1", encoding="jpeg").serial == 42
        assert client._sock is not None
        assert client._sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
    part = edge.received[0][1]
    assert isinstance(part, PartFrame) and (part.vision, part.t) == (Verdict.NG, 1.5)
    assert np.array_equal(decode_image(part), IMAGE)
    assert edge.connections == 1  # one connection for both parts


def test_ping_and_trigger(edge_factory: Callable[..., TinyEdge]) -> None:
    edge = edge_factory()
    with EdgeClient("127.0.0.1", edge.port) as client:
        assert client.ping() == PongFrame("v0001", True, "replacement", False)
        assert client.trigger(9, "L1", "S1") is None
    assert isinstance(edge.received[0][1], PingFrame)
    trigger = edge.received[1][1]
    assert isinstance(trigger, TriggerFrame) and trigger.serial == 9 and trigger.t > 1.6e9


def test_an_error_reply_raises_with_the_frame(edge_factory: Callable[..., TinyEdge]) -> None:
    refusal = ErrorFrame(5, "bad-image", "the png cannot be decoded")
    edge = edge_factory(lambda frame, n: refusal if isinstance(frame, PartFrame) else answer(frame, n))
    with EdgeClient("127.0.0.1", edge.port) as client:
        with pytest.raises(EdgeReplyError, match="bad-image") as info:
            client.inspect(5, IMAGE, Verdict.OK, "L1", "S1")
        assert info.value.frame == refusal and isinstance(info.value, ConnectError)
        assert client.ping().ready  # the connection is still usable


def test_a_wrong_key_is_answered_with_an_auth_error(edge_factory: Callable[..., TinyEdge]) -> None:
    edge = edge_factory(key=KEY)
    # The edge's ERROR is signed with its own key, so this client refuses it too.
    with EdgeClient("127.0.0.1", edge.port, key=b"not the key") as client, pytest.raises(ConnectError):
        client.ping()
    with EdgeClient("127.0.0.1", edge.port) as client:
        with pytest.raises(EdgeReplyError) as info:
            client.ping()
        assert info.value.frame.code == "auth"


def test_a_reply_for_another_serial_raises(edge_factory: Callable[..., TinyEdge]) -> None:
    edge = edge_factory(lambda frame, n: result_for(PartFrame(frame.serial + 1, "L1", "S1", 0.0, None,
                                                              "raw", (1, 1, 1), b"\0")))
    with EdgeClient("127.0.0.1", edge.port) as client, \
            pytest.raises(ConnectError, match="serial 8, expected 7"):
        client.inspect(7, IMAGE, Verdict.OK, "L1", "S1")


def test_reconnects_once_and_resends_after_the_edge_dropped_the_connection(
        edge_factory: Callable[..., TinyEdge]) -> None:
    edge = edge_factory(lambda frame, n: DROP if n == 1 else answer(frame, n))
    with EdgeClient("127.0.0.1", edge.port) as client:
        assert client.inspect(3, IMAGE, Verdict.NG, "L1", "S1").serial == 3
    assert [n for n, _ in edge.received] == [1, 2]
    assert edge.received[0][1] == edge.received[1][1]  # the very same frame again


def test_reconnects_after_an_idle_connection_was_closed(edge_factory: Callable[..., TinyEdge]) -> None:
    edge = edge_factory()
    with EdgeClient("127.0.0.1", edge.port) as client:
        client.ping()
        for conn in edge.open:  # the edge restarts, say
            conn.shutdown(socket.SHUT_RDWR)
        assert client.inspect(4, IMAGE, None, "L1", "S1").serial == 4
    assert edge.connections == 2


def test_gives_up_after_the_second_drop(edge_factory: Callable[..., TinyEdge]) -> None:
    edge = edge_factory(lambda frame, n: DROP)
    with EdgeClient("127.0.0.1", edge.port) as client, pytest.raises(ConnectError, match="tried twice"):
        client.ping()
    assert edge.connections == 2


def test_a_silent_edge_times_out_within_the_bound(edge_factory: Callable[..., TinyEdge]) -> None:
    edge = edge_factory(lambda frame, n: None if n == 1 else answer(frame, n))
    with EdgeClient("127.0.0.1", edge.port, timeout_s=0.3) as client:
        start = time.monotonic()
        with pytest.raises(EdgeTimeoutError, match="did not answer within 0.3 s") as info:
            client.inspect(1, IMAGE, Verdict.OK, "L1", "S1")
        assert 0.25 < time.monotonic() - start < 1.0
        assert isinstance(info.value, TimeoutError) and isinstance(info.value, ConnectError)
        assert client.ping().ready  # a fresh connection: no late reply mistaken for this one
    assert edge.connections == 2


def test_nobody_listening_is_a_connect_error() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # bound, not listening: connections are refused
        with EdgeClient("127.0.0.1", port, timeout_s=1.0) as client, \
                pytest.raises(ConnectError, match=f"edge at 127.0.0.1:{port}"):
            client.ping()


@pytest.mark.parametrize(("text", "expected"), [
    ("127.0.0.1:9500", ("127.0.0.1", 9500)), ("0.0.0.0:0", ("0.0.0.0", 0)),
    ("edge-01.plant.local:65535", ("edge-01.plant.local", 65535)), (" localhost:80 ", ("localhost", 80)),
    ("[::1]:9500", ("::1", 9500)), ("[fe80::1]:1", ("fe80::1", 1)),
])
def test_parse_address_accepts_host_and_port(text: str, expected: tuple[str, int]) -> None:
    assert parse_address(text) == expected


@pytest.mark.parametrize("text", [
    "", "9500", ":9500", "127.0.0.1", "127.0.0.1:", "127.0.0.1:65536", "127.0.0.1:-1", "127.0.0.1:9x",
    "256.1.1.1:80", "1234:80", "::1:9500", "[::1]9500", "[nonsense]:1", "bad_host:80", "-edge:80",
    "host name:80", "127.0.0.1:٣", "a..b:80",
])
def test_parse_address_refuses_with_one_line(text: str) -> None:
    with pytest.raises(InputError, match="HOST:PORT") as info:
        parse_address(text)
    assert "\n" not in str(info.value)
