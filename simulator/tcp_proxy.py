"""A tiny TCP proxy on loopback for cutting a link in tests (a cable pulled, a switch reset).

The edge connects to the proxy, the proxy to the real peer. :meth:`TcpProxy.cut`
resets every live connection and refuses new ones until :meth:`TcpProxy.restore`.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading

ACCEPT_POLL_S = 0.05  # how soon the accept loop notices stop()
CONNECT_TIMEOUT_S = 1.0


def _reset(sock: socket.socket) -> None:
    """Close with a TCP reset and wake any thread blocked on the socket."""
    with contextlib.suppress(OSError):  # already gone
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()


class TcpProxy:
    """Forward ``host:port`` (``port`` 0: any free one, read ``.port``) to ``target``.

    Args:
        target: The peer's (host, port).
        host: Address to listen on.
        port: Port to listen on.
    """

    def __init__(self, target: tuple[str, int], host: str = "127.0.0.1", port: int = 0) -> None:
        self.target = target
        self._listener = socket.create_server((host, port))
        self._listener.settimeout(ACCEPT_POLL_S)
        self.host, self.port = self._listener.getsockname()[:2]
        self._lock = threading.Lock()
        self._live: set[socket.socket] = set()
        self._threads: list[threading.Thread] = []
        self._cut = self._stopped = False
        self.connections = 0  # accepted and forwarded
        self._spawn(self._accept_loop)

    def cut(self) -> None:
        """Reset every live connection and refuse new ones (accepted, then reset at once)."""
        self._cut = True
        self._drop_all()

    def restore(self) -> None:
        """Forward new connections again."""
        self._cut = False

    def stop(self) -> None:
        """Close the listening port and every connection; end the threads."""
        self._stopped = True
        self._drop_all()
        for thread in list(self._threads):
            thread.join(CONNECT_TIMEOUT_S + 1)
        self._listener.close()

    def __enter__(self) -> TcpProxy:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def _spawn(self, target: object, *args: object) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)  # type: ignore[arg-type]
        self._threads = [t for t in self._threads if t.is_alive()] + [thread]
        thread.start()

    def _drop_all(self) -> None:
        with self._lock:
            live, self._live = self._live, set()
        for sock in live:
            _reset(sock)

    def _accept_loop(self) -> None:
        while not self._stopped:
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            try:
                if self._cut:
                    raise ConnectionRefusedError
                upstream = socket.create_connection(self.target, timeout=CONNECT_TIMEOUT_S)
            except OSError:
                _reset(client)
                continue
            client.settimeout(None)
            upstream.settimeout(None)
            with self._lock:
                self._live.update((client, upstream))
            self.connections += 1
            self._spawn(self._pump, client, upstream)
            self._spawn(self._pump, upstream, client)

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        with contextlib.suppress(OSError):  # either side went away
            while data := source.recv(65536):
                sink.sendall(data)
        with self._lock:
            self._live.difference_update((source, sink))
        _reset(source)
        _reset(sink)
