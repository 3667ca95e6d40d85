"""10,000 malformed frames sent to a live edge server: every one answered or refused, no crash, memory bounded."""

from __future__ import annotations

import socket
import tracemalloc

from inspkit.connect.plc import MemoryLink
from inspkit.connect.protocol import ErrorFrame, Limits, ProtocolError, decode, encode, read_frame
from inspkit.connect.server import EdgeServer
from inspkit.connect.service import EdgeService, ServiceConfig
from inspkit.recipe_line import RegisterMap
from inspkit.types import Goal, Verdict
from tests.connect.fakes import FakeModel, ListOutbox, Log, part, slot_for
from tests.connect.frame_strategies import Stream
from tests.connect.test_protocol_fuzz import malformed

FRAMES = 10_000
LIMITS = Limits(max_header_bytes=300, max_body_bytes=2048, max_side_px=16)


def _replies(sock: socket.socket) -> list[object]:
    """Every reply until the server closes the connection."""
    def recv_exact(n: int) -> bytes:
        buf = b""
        while len(buf) < n:
            chunk = sock.recv(n - len(buf))
            if not chunk:
                raise EOFError
            buf += chunk
        return buf

    replies = []
    while True:
        try:
            replies.append(read_frame(recv_exact))
        except (EOFError, ConnectionError):
            return replies


def _expected_replies(data: bytes) -> int:
    """What the server owes the sender: one reply per frame read or refused, none after a fatal error."""
    stream, owed = Stream(data), 0
    while True:
        try:
            read_frame(stream, None, LIMITS)
        except EOFError:
            return owed
        except ProtocolError as exc:
            owed += 1
            if exc.fatal:
                return owed
            continue
        owed += 1


def test_a_live_server_refuses_10k_malformed_frames_and_keeps_serving() -> None:
    log = Log()
    slot = slot_for({"v1": FakeModel()}, ["v1"], log)
    slot.start()
    service = EdgeService(ServiceConfig(Goal.REPLACEMENT, deadline_s=2.0, plc_budget_s=0.1), slot,
                          MemoryLink(RegisterMap()), ListOutbox(), log)
    server = EdgeServer(service, "127.0.0.1", 0, None, LIMITS, log)
    server.start()
    tracemalloc.start()
    errors = owed = 0
    try:
        for seed in range(FRAMES):
            data, _, _ = malformed(seed)
            with socket.create_connection((server.host, server.port), timeout=5) as sock:
                try:
                    sock.sendall(data)
                    sock.shutdown(socket.SHUT_WR)  # a truncated frame ends here
                except OSError:
                    pass  # the server already refused the frame and closed; its reply is still readable
                replies = _replies(sock)
            assert len(replies) == _expected_replies(data), f"seed {seed}"
            owed += len(replies)
            errors += sum(isinstance(r, ErrorFrame) for r in replies)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    with socket.create_connection((server.host, server.port), timeout=5) as sock:  # still serving
        sock.sendall(encode(part(1, vision=Verdict.OK)))
        sock.shutdown(socket.SHUT_WR)
        [reply] = _replies(sock)
    server.stop()
    slot.stop()
    assert reply.by == "model" and reply.serial == 1
    assert owed >= FRAMES * 0.95 and errors >= FRAMES * 0.8  # almost every frame was answered, most refused
    assert 0.8 * FRAMES <= server.frames_refused <= errors  # the rest: valid frames that are not requests
    assert peak < 32 * 2**20  # frames claiming up to 4 GiB never got their bodies allocated
