"""The TCP wire protocol between a vision PC and the edge service (paper 3.2.1, Table 3).

A frame is a 12-byte big-endian prefix (``"!2sBBBBHI"``: magic ``b"IK"``,
version 1, kind, flags, reserved 0, header length, body length), a UTF-8 JSON
object (the header), the body (the image of a PART, empty otherwise) and, when
flag bit 0 is set, a 32-byte HMAC-SHA256 tag over everything before it.
``docs/protocol.md`` describes it for integrators.

Every request gets exactly one reply, in order: TRIGGER → ACK, PART → RESULT or
ERROR, PING → PONG. :func:`read_frame` checks every length against
:class:`Limits` before it reads (or allocates) anything, and raises only
:class:`ProtocolError`, ``EOFError``, ``ConnectionError`` or ``TimeoutError``.

The frame classes live in :mod:`inspkit.connect.frames` and the image helpers
in :mod:`inspkit.connect.wireimage`; both are re-exported here, so this module
is the one to import.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import json
import math
from collections.abc import Callable
from dataclasses import fields
from typing import Any

import numpy as np

from inspkit.connect.frames import (
    DECIDED_BY,
    DEFAULT_LIMITS,
    ENCODINGS,
    FLAG_TAG,
    KIND_OF,
    MAGIC,
    MAX_MESSAGE_CHARS,
    MAX_REASON_CHARS,
    MAX_SERIAL,
    MAX_TEXT_CHARS,
    PREFIX,
    STATUSES,
    TAG_LEN,
    VERSION,
    AckFrame,
    ErrorFrame,
    Frame,
    Kind,
    Limits,
    PartFrame,
    PingFrame,
    PongFrame,
    ProtocolError,
    ResultFrame,
    TriggerFrame,
)
from inspkit.connect.wireimage import decode_image, encode_image, part_frame
from inspkit.types import Verdict

__all__ = [
    "DEFAULT_LIMITS", "AckFrame", "ErrorFrame", "Frame", "Kind", "Limits", "PartFrame", "PingFrame",
    "PongFrame",
    "ProtocolError", "ResultFrame", "TriggerFrame", "decode", "decode_image", "encode",
    "encode_image", "part_frame", "read_frame",
]

# encode() checks field values but not the reader's configurable size limits.
_ENCODE_LIMITS = Limits(max_header_bytes=4096, max_body_bytes=2**32 - 1, max_side_px=2**31)


# ---------------------------------------------------------------- header fields

def _bad(name: str, expected: str, value: object) -> ProtocolError:
    shown = repr(value)
    shown = shown if len(shown) <= 40 else shown[:37] + "..."
    return ProtocolError("bad-header", f"field {name!r}: expected {expected}, got {shown}")


def _get(h: dict[str, Any], name: str, optional: bool) -> Any:
    if name not in h:
        if optional:
            return None
        raise ProtocolError("bad-header", f"field {name!r} is missing")
    return h[name]


def _int(h: dict[str, Any], name: str, optional: bool = False) -> int | None:
    value = _get(h, name, optional)
    if value is None and optional:
        return None
    if type(value) is not int or not 0 <= value <= MAX_SERIAL:
        raise _bad(name, "an integer 0..2**63-1", value)
    return value


def _text(h: dict[str, Any], name: str, max_chars: int = MAX_TEXT_CHARS,
          optional: bool = False) -> str | None:
    value = _get(h, name, optional)
    if value is None and optional:
        return None
    if not isinstance(value, str) or len(value) > max_chars or not _is_utf8(value):
        raise _bad(name, f"a string of at most {max_chars} characters", value)
    return value


def _is_utf8(text: str) -> bool:
    """False for a lone surrogate (JSON can escape one; UTF-8 cannot carry it)."""
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _choice(h: dict[str, Any], name: str, choices: tuple[str, ...]) -> str:
    value = _get(h, name, False)
    if value not in choices or not isinstance(value, str):
        raise _bad(name, " or ".join(repr(c) for c in choices), value)
    return value


def _number(h: dict[str, Any], name: str, lo: float = -math.inf, hi: float = math.inf,
            optional: bool = False) -> float | None:
    value = _get(h, name, optional)
    if value is None and optional:
        return None
    if type(value) not in (int, float):
        raise _bad(name, "a number", value)
    try:
        number = float(value)
    except OverflowError:
        number = math.inf
    if not (math.isfinite(number) and lo <= number <= hi):
        raise _bad(name, f"a finite number in [{lo}, {hi}]", value)
    return number


def _bool(h: dict[str, Any], name: str) -> bool:
    value = _get(h, name, False)
    if type(value) is not bool:
        raise _bad(name, "true or false", value)
    return value


def _verdict(h: dict[str, Any], name: str, optional: bool = False) -> Verdict | None:
    value = _get(h, name, optional)
    if value is None and optional:
        return None
    if value not in ("OK", "NG") or not isinstance(value, str):
        raise _bad(name, '"OK" or "NG"' + (" or null" if optional else ""), value)
    return Verdict(value)


def _shape(h: dict[str, Any], limits: Limits) -> tuple[int, int, int]:
    value = _get(h, "shape", False)
    if (not isinstance(value, list) or len(value) != 3 or any(type(v) is not int for v in value)
            or not (0 < value[0] <= limits.max_side_px and 0 < value[1] <= limits.max_side_px)
            or value[2] not in (1, 3)):
        raise _bad("shape", f"[height, width, channels], sides 1..{limits.max_side_px}, "
                   "channels 1 or 3", value)
    return value[0], value[1], value[2]


# ---------------------------------------------------------------- kinds

def _no_body(kind: Kind, body: bytes) -> None:
    if body:
        raise ProtocolError("bad-header", f"a {kind.name} frame carries no body, got {len(body)} bytes")


def _trigger(h: dict[str, Any], body: bytes, limits: Limits) -> TriggerFrame:
    _no_body(Kind.TRIGGER, body)
    return TriggerFrame(_int(h, "serial"), _text(h, "line"), _text(h, "station"), _number(h, "t"))


def _part(h: dict[str, Any], body: bytes, limits: Limits) -> PartFrame:
    serial, line, station, t = _int(h, "serial"), _text(h, "line"), _text(h, "station"), _number(h, "t")
    vision, encoding = _verdict(h, "vision", optional=True), _choice(h, "encoding", ENCODINGS)
    shape = _shape(h, limits)
    if not body:
        raise ProtocolError("bad-header", "a PART frame needs the image as its body, got 0 bytes")
    if encoding == "raw" and len(body) != shape[0] * shape[1] * shape[2]:
        raise ProtocolError("bad-header", f"field 'shape': a raw {list(shape)} image is "
                            f"{shape[0] * shape[1] * shape[2]} bytes, the body has {len(body)}")
    return PartFrame(serial, line, station, t, vision, encoding, shape, body)


def _result(h: dict[str, Any], body: bytes, limits: Limits) -> ResultFrame:
    _no_body(Kind.RESULT, body)
    return ResultFrame(
        serial=_int(h, "serial"), line=_text(h, "line"), station=_text(h, "station"),
        model=_verdict(h, "model", optional=True), p_ok=_number(h, "p_ok", 0.0, 1.0, optional=True),
        final=_verdict(h, "final"), by=_choice(h, "by", DECIDED_BY),
        version=_text(h, "version", optional=True), status=_choice(h, "status", STATUSES),
        reason=_text(h, "reason", MAX_REASON_CHARS, optional=True),
        edge_ms=_number(h, "edge_ms", 0.0))


def _error(h: dict[str, Any], body: bytes, limits: Limits) -> ErrorFrame:
    _no_body(Kind.ERROR, body)
    return ErrorFrame(_int(h, "serial", optional=True), _text(h, "code"),
                      _text(h, "message", MAX_MESSAGE_CHARS))


def _ping(h: dict[str, Any], body: bytes, limits: Limits) -> PingFrame:
    _no_body(Kind.PING, body)
    return PingFrame()


def _pong(h: dict[str, Any], body: bytes, limits: Limits) -> PongFrame:
    _no_body(Kind.PONG, body)
    return PongFrame(_text(h, "version", optional=True), _bool(h, "ready"), _text(h, "goal"),
                     _bool(h, "shadow"))


def _ack(h: dict[str, Any], body: bytes, limits: Limits) -> AckFrame:
    _no_body(Kind.ACK, body)
    return AckFrame(_int(h, "serial"))


_PARSERS: dict[Kind, Callable[[dict[str, Any], bytes, Limits], Any]] = {
    Kind.TRIGGER: _trigger, Kind.PART: _part, Kind.RESULT: _result, Kind.ERROR: _error,
    Kind.PING: _ping, Kind.PONG: _pong, Kind.ACK: _ack,
}


def _load_header(raw: bytes) -> dict[str, Any]:
    def no_constant(name: str) -> None:
        raise ValueError(f"{name} is not a number")

    try:
        value = json.loads(raw.decode("utf-8"), parse_constant=no_constant)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise ProtocolError("bad-header", f"the header is not UTF-8 JSON: {str(exc)[:80]}") from None
    if not isinstance(value, dict):
        raise ProtocolError("bad-header", f"the header must be a JSON object, got {type(value).__name__}")
    return value


# ---------------------------------------------------------------- encode / read

def _header_of(frame: Frame) -> dict[str, Any]:
    header: dict[str, Any] = {}
    for f in fields(frame):
        value = getattr(frame, f.name)
        if f.name == "image":
            continue
        if isinstance(value, enum.Enum):
            value = value.value
        elif isinstance(value, np.generic):  # a numpy scalar from a model or an array
            value = value.item()
        elif isinstance(value, tuple):
            value = list(value)
        header[f.name] = value
    return header


def encode(frame: Frame, key: bytes | None = None) -> bytes:
    """The bytes of one frame, with an HMAC-SHA256 tag when ``key`` is given.

    Raises:
        ProtocolError: a field is out of range (the checks :func:`read_frame`
            applies, ``bad-header``) or the header exceeds 4096 bytes (``too-large``).
        TypeError: ``frame`` is not one of the frame classes.
    """
    kind = KIND_OF.get(type(frame))
    if kind is None:
        raise TypeError(f"not a protocol frame: {type(frame).__name__}")
    header_fields = _header_of(frame)
    body = frame.image if isinstance(frame, PartFrame) else b""
    _PARSERS[kind](header_fields, body, _ENCODE_LIMITS)  # refuse what a reader would refuse
    header = json.dumps(header_fields, separators=(",", ":"), ensure_ascii=False,
                        allow_nan=False).encode("utf-8")
    if len(header) > _ENCODE_LIMITS.max_header_bytes:
        raise ProtocolError("too-large", f"the header is {len(header)} bytes, at most 4096 allowed")
    flags = FLAG_TAG if key is not None else 0
    prefix = PREFIX.pack(MAGIC, VERSION, kind, flags, 0, len(header), len(body))
    parts = [prefix, header, body]
    if key is not None:
        parts.append(_tag(key, prefix, header, body))
    return b"".join(parts)


def _tag(key: bytes, prefix: bytes, header: bytes, body: bytes) -> bytes:
    mac = hmac.new(key, prefix, hashlib.sha256)
    mac.update(header)
    mac.update(body)
    return mac.digest()


def _exact(recv_exact: Callable[[int], bytes], n: int) -> bytes:
    """``n`` bytes of a frame already begun: an end of stream here truncates the frame."""
    if n == 0:
        return b""
    try:
        data = recv_exact(n)
    except EOFError:
        raise ProtocolError("truncated", f"the stream ended inside a frame ({n} bytes missing)") from None
    if len(data) != n:
        raise ProtocolError("truncated", f"asked for {n} bytes, got {len(data)}")
    return bytes(data)


def _check_prefix(prefix: bytes, limits: Limits) -> tuple[int, int, int, int]:
    magic, version, kind, flags, reserved, header_len, body_len = PREFIX.unpack(prefix)
    if magic != MAGIC:
        raise ProtocolError("bad-magic", f"a frame starts with {MAGIC!r}, got {magic!r}")
    if version != VERSION:
        raise ProtocolError("bad-version", f"this reader speaks version {VERSION}, the frame is {version}")
    if flags & ~FLAG_TAG or reserved:
        raise ProtocolError("bad-version", f"flags {flags:#04x} / reserved byte {reserved} "
                            f"are not defined in version {VERSION}")
    if header_len > limits.max_header_bytes:
        raise ProtocolError("too-large", f"header of {header_len} bytes, at most "
                            f"{limits.max_header_bytes} allowed")
    if body_len > limits.max_body_bytes:
        raise ProtocolError("too-large", f"body of {body_len} bytes, at most "
                            f"{limits.max_body_bytes} allowed")
    return kind, flags, header_len, body_len


def read_frame(recv_exact: Callable[[int], bytes], key: bytes | None = None,
               limits: Limits = DEFAULT_LIMITS) -> Frame:
    """Read one frame from a stream.

    Args:
        recv_exact: ``recv_exact(n)`` returns exactly ``n`` bytes or raises
            ``EOFError`` (peer closed), ``ConnectionError`` or ``TimeoutError``.
        key: The shared HMAC key; when set, frames without a valid tag are refused.
            When ``None``, a tag that is present is read and ignored.
        limits: The largest header, body and image side accepted.

    Raises:
        EOFError: the stream ended cleanly, before the first byte of a frame.
        ProtocolError: the frame is malformed; ``fatal`` says whether the
            connection must be closed.
        ConnectionError, TimeoutError: as raised by ``recv_exact``.
    """
    first = recv_exact(1)  # an EOFError here is a clean close
    if len(first) != 1:
        raise ProtocolError("truncated", f"asked for 1 byte, got {len(first)}")
    prefix = bytes(first) + _exact(recv_exact, PREFIX.size - 1)
    kind, flags, header_len, body_len = _check_prefix(prefix, limits)
    header = _exact(recv_exact, header_len)
    body = _exact(recv_exact, body_len)
    tag = _exact(recv_exact, TAG_LEN) if flags & FLAG_TAG else None
    if key is not None:
        if tag is None:
            raise ProtocolError("auth", "a key is set and the frame carries no HMAC tag")
        if not hmac.compare_digest(_tag(key, prefix, header, body), tag):
            raise ProtocolError("auth", "the HMAC tag does not match (wrong key or altered frame)")
    if kind not in _PARSERS:
        raise ProtocolError("unknown-kind", f"kind {kind} is not defined in version {VERSION}")
    return _PARSERS[Kind(kind)](_load_header(header), body, limits)


def decode(data: bytes, key: bytes | None = None, limits: Limits = DEFAULT_LIMITS) -> Frame:
    """One whole frame from ``data``.

    Raises:
        ProtocolError: as :func:`read_frame`; ``truncated`` when ``data`` is
            empty or ends inside the frame, ``bad-header`` (not fatal) when bytes
            follow the frame.
    """
    view, pos = memoryview(data), 0

    def recv_exact(n: int) -> bytes:
        nonlocal pos
        if pos + n > len(view):
            raise EOFError
        pos += n
        return bytes(view[pos - n:pos])

    try:
        frame = read_frame(recv_exact, key, limits)
    except EOFError:
        raise ProtocolError("truncated", "no data") from None
    if pos != len(view):
        raise ProtocolError("bad-header", f"{len(view) - pos} bytes follow the frame")
    return frame
