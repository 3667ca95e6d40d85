"""The TCP side of the edge service: frames in, one reply per frame out.

One thread per vision-PC connection reads frames (lengths checked before any
allocation), hands parts to the :class:`~inspkit.connect.service.EdgeService`
and writes the reply. A malformed frame gets an ERROR reply; when the frame
boundary is lost the connection is closed after it. Listens on loopback unless
told otherwise.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable

from inspkit.connect.protocol import (AckFrame, ErrorFrame, Limits, PartFrame, PingFrame, PongFrame,
                                      ProtocolError, TriggerFrame, encode, read_frame)
from inspkit.connect.service import EdgeService

MAX_CONNECTIONS = 32
_MAX_MESSAGE_CHARS = 512  # the protocol's limit on an ERROR's message


class EdgeServer:
    """Accepts vision-PC connections and serves them from background threads.

    Args:
        service: Answers parts.
        host: Address to listen on.
        port: Port (0 picks a free one; see :attr:`port`).
        key: Shared key for HMAC-authenticated frames (``None``: no authentication).
        limits: Frame size limits.
        log: ``log(kind, message)`` for events.
    """

    def __init__(self, service: EdgeService, host: str, port: int, key: bytes | None,
                 limits: Limits, log: Callable[..., None]) -> None:
        self.service, self.key, self.limits, self.log = service, key, limits, log
        self._listener = socket.create_server((host, port), backlog=16)
        self.host, self.port = self._listener.getsockname()[:2]
        self._stop = threading.Event()
        self._conns: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self.frames_refused = 0

    def start(self) -> None:
        """Accept connections from a background thread."""
        thread = threading.Thread(target=self._accept, name="inspkit-accept", daemon=True)
        thread.start()
        self._threads.append(thread)

    def stop(self) -> None:
        """Stop accepting, close every connection and wait for their threads."""
        self._stop.set()
        self._listener.close()
        with self._lock:
            for conn in self._conns:
                _shut(conn)
        for thread in list(self._threads):
            thread.join(timeout=5)

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, peer = self._listener.accept()
            except OSError:
                return  # the listener was closed by stop()
            with self._lock:
                if len(self._conns) >= MAX_CONNECTIONS:
                    self.log("frame", f"refused a connection from {peer[0]}: {MAX_CONNECTIONS} are open")
                    conn.close()
                    continue
                self._conns.add(conn)
            thread = threading.Thread(target=self._serve, args=(conn,), name="inspkit-conn", daemon=True)
            self._threads = [t for t in self._threads if t.is_alive()] + [thread]
            thread.start()

    def _serve(self, conn: socket.socket) -> None:
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        recv_exact = _receiver(conn)
        try:
            while not self._stop.is_set():
                if not self._one(conn, recv_exact):
                    return
        except (EOFError, OSError):
            return  # the peer went away; nothing is pending for it
        finally:
            with self._lock:
                self._conns.discard(conn)
            _shut(conn)

    def _one(self, conn: socket.socket, recv_exact: Callable[[int], bytes]) -> bool:
        """Serve one frame; False when the connection must close."""
        try:
            frame = read_frame(recv_exact, self.key, self.limits)
        except ProtocolError as exc:
            with self._lock:
                self.frames_refused += 1
                refused = self.frames_refused
            if refused <= 10 or refused % 1000 == 0:  # a flood of bad frames must not flood the log
                self.log("frame", f"refused a frame ({exc.code}): {exc} [{refused} so far]")
            conn.sendall(encode(ErrorFrame(None, exc.code, str(exc)[:_MAX_MESSAGE_CHARS]), self.key))
            return not exc.fatal
        received_s = time.monotonic()
        conn.sendall(encode(self._reply(frame, received_s), self.key))
        return True

    def _reply(self, frame: object, received_s: float) -> object:
        if isinstance(frame, PartFrame):
            try:
                return self.service.handle(frame, received_s)
            except Exception as exc:  # noqa: BLE001 - one bad part must not end the connection
                self.log("service", f"part {frame.serial}: internal error {type(exc).__name__}: {exc}", frame.serial)
                return ErrorFrame(frame.serial, "internal", f"{type(exc).__name__}: {exc}"[:_MAX_MESSAGE_CHARS])
        if isinstance(frame, TriggerFrame):
            return AckFrame(frame.serial)
        if isinstance(frame, PingFrame):
            cfg = self.service.config
            version = self.service.model.version
            return PongFrame(version, version is not None, cfg.goal.value, cfg.shadow)
        return ErrorFrame(None, "unknown-kind", f"{type(frame).__name__} is not a request")


def _receiver(conn: socket.socket) -> Callable[[int], bytes]:
    """``recv_exact(n)`` on a socket: exactly n bytes, or EOFError when the peer closed first."""

    def recv_exact(n: int) -> bytes:
        buf = bytearray()
        while len(buf) < n:
            chunk = conn.recv(min(n - len(buf), 1 << 20))
            if not chunk:
                raise EOFError  # read_frame tells a clean close from a truncated frame
            buf += chunk
        return bytes(buf)

    return recv_exact


def _shut(conn: socket.socket) -> None:
    try:
        conn.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    conn.close()
