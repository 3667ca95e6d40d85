"""The values of the edge wire protocol: frame kinds, frames, limits and its error.

:mod:`inspkit.connect.protocol` reads and writes them; this module only defines
them, so that the protocol's validation and its image helpers can share them.
"""

from __future__ import annotations

import enum
import struct
from dataclasses import dataclass, field

from inspkit.errors import ConnectError
from inspkit.types import Verdict

__all__ = [
    "DEFAULT_LIMITS", "AckFrame", "ErrorFrame", "Frame", "Kind", "Limits", "PartFrame", "PingFrame",
    "PongFrame",
    "ProtocolError", "ResultFrame", "TriggerFrame",
]

MAGIC = b"IK"
VERSION = 1
PREFIX = struct.Struct("!2sBBBBHI")  # magic, version, kind, flags, reserved, header_len, body_len
FLAG_TAG = 0x01  # an HMAC-SHA256 tag follows the body
TAG_LEN = 32
MAX_SERIAL = 2**63 - 1
MAX_TEXT_CHARS = 64  # line, station, version, codes…
MAX_REASON_CHARS = 256
MAX_MESSAGE_CHARS = 512  # with the others, any valid header fits in 4096 bytes of UTF-8
ENCODINGS = ("png", "jpeg", "raw")
DECIDED_BY = ("model", "vision", "fail-safe")
STATUSES = ("ok", "shadow", "fail-safe")
#: Codes after which the frame boundary is lost: reply, then close the connection.
FATAL_CODES = frozenset({"bad-magic", "bad-version", "too-large", "truncated"})
ERROR_CODES = FATAL_CODES | {"unknown-kind", "bad-header", "bad-image", "auth"}


class Kind(enum.IntEnum):
    """The kind byte of a frame; the paper's Table 3 messages are in parentheses."""

    TRIGGER = 1  # vision → edge (shooting trigger); reply ACK
    PART = 2  # vision → edge (image sending + machine-vision prediction); reply RESULT or ERROR
    RESULT = 3  # edge → vision (deep-model prediction + test result)
    ERROR = 4  # edge → vision: the request could not be served
    PING = 5  # either way; reply PONG
    PONG = 6  # the edge's state: model version, ready, goal, shadow
    ACK = 7  # edge → vision: a TRIGGER was received


@dataclass(frozen=True)
class Limits:
    """What a reader accepts; anything larger is refused before it is read.

    Attributes:
        max_header_bytes: Longest JSON header.
        max_body_bytes: Longest body (an encoded image).
        max_side_px: Largest image height or width, claimed or declared by the file.
    """

    max_header_bytes: int = 4096
    max_body_bytes: int = 32 * 2**20
    max_side_px: int = 8192


#: The limits a reader uses unless given others.
DEFAULT_LIMITS = Limits()


class ProtocolError(ConnectError):
    """A frame that breaks the protocol.

    Attributes:
        code: One of ``"bad-magic"``, ``"bad-version"``, ``"unknown-kind"``,
            ``"too-large"``, ``"bad-header"``, ``"bad-image"``, ``"auth"``, ``"truncated"``.
        message: What was wrong, naming the field.
        fatal: True when the frame boundary is lost and the connection must be
            closed after the ERROR reply; False when the frame was read whole.
    """

    def __init__(self, code: str, message: str = "", fatal: bool | None = None) -> None:
        super().__init__(f"{code}: {message}" if message else code)
        self.code = code
        self.message = message or code
        self.fatal = code in FATAL_CODES if fatal is None else fatal


@dataclass(frozen=True, slots=True)
class TriggerFrame:
    """The shooting trigger: a part is at the camera. ``t`` is unix seconds."""

    serial: int
    line: str
    station: str
    t: float


@dataclass(frozen=True, slots=True)
class PartFrame:
    """Image sending and the machine-vision prediction of one part.

    Attributes:
        serial: The part's serial number, 0..2**63-1; ``(line, station, serial)`` is its MES key.
        line: Production line name (≤ 64 characters).
        station: Inspection station name (≤ 64 characters).
        t: When the image was taken, unix seconds.
        vision: The legacy station's verdict, ``None`` when it only takes pictures.
        encoding: ``"png"``, ``"jpeg"`` or ``"raw"`` (H×W×C bytes, row-major, RGB).
        shape: ``(height, width, channels)``, channels 1 (gray) or 3 (RGB).
        image: The encoded image (the frame's body).
    """

    serial: int
    line: str
    station: str
    t: float
    vision: Verdict | None
    encoding: str
    shape: tuple[int, int, int]
    image: bytes = field(repr=False)


@dataclass(frozen=True, slots=True)
class ResultFrame:
    """The deep-model prediction and the test result of one part.

    Attributes:
        serial, line, station: As in the part's PART frame.
        model: The model's verdict, ``None`` when it was not asked or did not answer.
        p_ok: The model's probability of OK, when it answered.
        final: The verdict the PLC and the MES receive.
        by: Who decided: ``"model"``, ``"vision"`` or ``"fail-safe"``.
        version: The model version that answered, if any.
        status: ``"ok"``, ``"shadow"`` (validation period) or ``"fail-safe"``.
        reason: Why the fail-safe was applied, or other remarks.
        edge_ms: Time spent at the edge, from the frame's arrival to this reply.
    """

    serial: int
    line: str
    station: str
    model: Verdict | None
    p_ok: float | None
    final: Verdict
    by: str
    version: str | None
    status: str
    reason: str | None
    edge_ms: float


@dataclass(frozen=True, slots=True)
class ErrorFrame:
    """A request that could not be served: ``code`` as in :class:`ProtocolError` or the server's own."""

    serial: int | None
    code: str
    message: str


@dataclass(frozen=True, slots=True)
class PingFrame:
    """Are you there? Answered by a PONG."""


@dataclass(frozen=True, slots=True)
class PongFrame:
    """The edge's state: model ``version`` (None: no model), ``ready``, ``goal``, ``shadow``."""

    version: str | None
    ready: bool
    goal: str
    shadow: bool


@dataclass(frozen=True, slots=True)
class AckFrame:
    """A TRIGGER for ``serial`` was received."""

    serial: int


Frame = TriggerFrame | PartFrame | ResultFrame | ErrorFrame | PingFrame | PongFrame | AckFrame

#: The kind byte of each frame class.
KIND_OF: dict[type, Kind] = {
    TriggerFrame: Kind.TRIGGER, PartFrame: Kind.PART, ResultFrame: Kind.RESULT,
    ErrorFrame: Kind.ERROR, PingFrame: Kind.PING, PongFrame: Kind.PONG, AckFrame: Kind.ACK,
}
