"""A small client for vision PCs: send a part's image to the edge, get its verdict.

::

    with EdgeClient("10.0.0.5", 9500, key=b"...") as edge:
        result = edge.inspect(serial, rgb_image, Verdict.NG, line="L1", station="S1")
        plc_verdict = result.final

One request is in flight at a time and a client is not thread-safe: give each
thread its own. The connection is opened on the first request; when it breaks
(the edge restarted, an idle connection was dropped) the client reconnects once
and resends the same frame, which is safe because the edge treats a repeated
``(line, station, serial)`` as a no-op downstream.
"""

from __future__ import annotations

import ipaddress
import operator
import re
import socket
import time
from types import TracebackType
from typing import TypeVar

import numpy as np

from inspkit.connect.protocol import (
    DEFAULT_LIMITS,
    AckFrame,
    ErrorFrame,
    Frame,
    Limits,
    PartFrame,
    PingFrame,
    PongFrame,
    ProtocolError,
    ResultFrame,
    TriggerFrame,
    encode,
    part_frame,
    read_frame,
)
from inspkit.errors import ConnectError, InputError
from inspkit.types import Verdict

__all__ = ["EdgeClient", "EdgeReplyError", "EdgeTimeoutError", "parse_address"]

_F = TypeVar("_F", ResultFrame, AckFrame, PongFrame)


class EdgeReplyError(ConnectError):
    """The edge answered a request with an ERROR frame.

    Attributes:
        frame: The ERROR frame: its ``code`` (``"bad-image"``, ``"auth"``…) and ``message``.
    """

    def __init__(self, frame: ErrorFrame) -> None:
        about = "" if frame.serial is None else f" for serial {frame.serial}"
        super().__init__(f"the edge refused the request{about}: {frame.code}: {frame.message}")
        self.frame = frame


class EdgeTimeoutError(ConnectError, TimeoutError):
    """The edge did not answer within the client's ``timeout_s`` (catch it as either base)."""


class EdgeClient:
    """A connection to the edge service's TCP port.

    Args:
        host: The edge computer's address.
        port: Its TCP port.
        key: The shared HMAC key, when the edge requires signed frames.
        timeout_s: The most one call (connect, send, reply, and the one
            reconnect) may take.
        limits: The largest reply accepted.
    """

    def __init__(self, host: str, port: int, key: bytes | None = None, timeout_s: float = 5.0,
                 limits: Limits = DEFAULT_LIMITS) -> None:
        if not timeout_s > 0:
            raise InputError(f"timeout_s must be positive, got {timeout_s}")
        self.host, self.port, self.key = host, port, key
        self.timeout_s, self.limits = timeout_s, limits
        self._sock: socket.socket | None = None
        self._deadline = 0.0

    def __enter__(self) -> EdgeClient:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def inspect(self, serial: int, image: np.ndarray, vision: Verdict | None, line: str, station: str,
                t: float | None = None, encoding: str = "png") -> ResultFrame:
        """Send one part's image and the vision station's verdict; return the edge's result.

        Args:
            serial: The part's serial number (0..2**63-1).
            image: RGB uint8 H×W×3 or gray H×W.
            vision: The vision station's verdict; ``None`` when it only takes pictures.
            line: Production line name.
            station: Inspection station name.
            t: When the image was taken (unix seconds); now when ``None``.
            encoding: ``"png"``, ``"jpeg"`` or ``"raw"``.

        Raises:
            EdgeReplyError: the edge answered ERROR.
            EdgeTimeoutError: no answer within ``timeout_s``.
            ConnectError: the edge cannot be reached, or answered out of turn.
        """
        return self.send_part(part_frame(serial, image, vision, line, station, t, encoding))

    def send_part(self, frame: PartFrame) -> ResultFrame:
        """Send a prepared PART frame; return the RESULT for its serial (raises as :meth:`inspect`)."""
        return self._expect(self._request(encode(frame, self.key)), ResultFrame, frame.serial)

    def trigger(self, serial: int, line: str, station: str) -> None:
        """Tell the edge a part is at the camera (the shooting trigger); waits for its ACK."""
        frame = TriggerFrame(operator.index(serial), line, station, time.time())
        self._expect(self._request(encode(frame, self.key)), AckFrame, frame.serial)

    def ping(self) -> PongFrame:
        """The edge's state: model version, whether it is ready, its goal, shadow mode."""
        return self._expect(self._request(encode(PingFrame(), self.key)), PongFrame, None)

    def close(self) -> None:
        """Close the connection; the next request opens a new one."""
        if self._sock is not None:
            sock, self._sock = self._sock, None
            sock.close()

    @property
    def _where(self) -> str:
        return f"edge at {self.host}:{self.port}"

    def _expect(self, reply: Frame, cls: type[_F], serial: int | None) -> _F:
        if isinstance(reply, ErrorFrame):
            raise EdgeReplyError(reply)
        if not isinstance(reply, cls):
            self.close()  # out of step with the edge: start afresh
            raise ConnectError(f"{self._where} answered {type(reply).__name__}, expected {cls.__name__}")
        if serial is not None and reply.serial != serial:
            self.close()
            raise ConnectError(f"{self._where} answered for serial {reply.serial}, expected {serial}")
        return reply

    def _request(self, data: bytes) -> Frame:
        """Send one frame and read the reply, reconnecting and resending once if the link broke."""
        self._deadline = time.monotonic() + self.timeout_s
        for attempt in (1, 2):
            try:
                self._send(data)
                return read_frame(self._recv_exact, self.key, self.limits)
            except TimeoutError:
                self.close()  # a late reply must not be taken for the next request's
                raise EdgeTimeoutError(f"{self._where} did not answer within {self.timeout_s:g} s; "
                                       "is `inspkit connect` running and the model loaded?") from None
            except (ConnectionError, EOFError) as exc:
                self.close()
                if attempt == 2:
                    what = "closed the connection" if isinstance(exc, EOFError) else str(exc)
                    raise ConnectError(f"{self._where}: {what} (tried twice); is `inspkit connect` "
                                       "running and listening there?") from exc
            except ProtocolError:
                self.close()
                raise
            except OSError as exc:  # unknown host, no route…: retrying does not help
                self.close()
                raise ConnectError(f"cannot reach {self._where}: {exc}") from exc
        raise AssertionError("unreachable")

    def _send(self, data: bytes) -> None:
        if self._sock is None:
            sock = socket.create_connection((self.host, self.port), timeout=self._remaining())
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._sock = sock
        self._sock.settimeout(self._remaining())
        self._sock.sendall(data)

    def _remaining(self) -> float:
        remaining = self._deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError
        return remaining

    def _recv_exact(self, n: int) -> bytes:
        assert self._sock is not None
        buf = bytearray(n)
        view, got = memoryview(buf), 0
        while got < n:
            self._sock.settimeout(self._remaining())
            k = self._sock.recv_into(view[got:], n - got)
            if k == 0:
                raise EOFError
            got += k
        return bytes(buf)


_HOST_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_HOSTNAME = re.compile(rf"{_HOST_LABEL}(?:\.{_HOST_LABEL})*\.?")


def parse_address(text: str) -> tuple[str, int]:
    """``"HOST:PORT"`` as ``(host, port)``: an IPv4 address, a host name, or ``[IPv6]:PORT``.

    Port 0 is accepted (a listener then takes any free port).

    Raises:
        InputError: the text is not such an address.
    """
    s = text.strip()
    if s.startswith("["):
        host, sep, port = s[1:].partition("]:")
        valid = bool(sep) and _is_ip(host, ipaddress.IPv6Address)
    else:
        host, sep, port = s.rpartition(":")
        if re.fullmatch(r"[0-9.]+", host):
            valid = _is_ip(host, ipaddress.IPv4Address)
        else:
            valid = len(host) <= 253 and _HOSTNAME.fullmatch(host) is not None
        valid = valid and bool(sep)
    if not (valid and port.isascii() and port.isdigit() and int(port) <= 65535):
        raise InputError(f"address {text!r} is not HOST:PORT (e.g. 127.0.0.1:9500, edge-01:9500 "
                         "or [::1]:9500, port 0..65535)")
    return host, int(port)


def _is_ip(text: str, cls: type[ipaddress.IPv4Address | ipaddress.IPv6Address]) -> bool:
    try:
        cls(text)
    except ValueError:
        return False
    return True
