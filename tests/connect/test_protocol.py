"""The edge wire protocol: round trips, framing errors, header validation, HMAC."""

from __future__ import annotations

import hmac
import json
import re
import struct
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from inspkit.connect.protocol import (
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
    decode,
    encode,
    read_frame,
)
from inspkit.types import Verdict
from tests.connect.frame_strategies import Stream, frames, keys

PREFIX = struct.Struct("!2sBBBBHI")


def raw_frame(kind: int, header: bytes | dict, body: bytes = b"", *, magic: bytes = b"IK",
              version: int = 1, flags: int = 0, reserved: int = 0) -> bytes:
    """A frame built by hand, lengths right unless the caller lies elsewhere."""
    head = header if isinstance(header, bytes) else json.dumps(header).encode()
    return PREFIX.pack(magic, version, kind, flags, reserved, len(head), len(body)) + head + body


def part_header(**changes: object) -> dict:
    header = {"serial": 7, "line": "L1", "station": "S1", "t": 1700000000.5, "vision": "NG",
              "encoding": "raw", "shape": [2, 2, 1]}
    header.update(changes)
    return header


def error_of(data: bytes, key: bytes | None = None, limits: Limits | None = None) -> ProtocolError:
    with pytest.raises(ProtocolError) as info:
        read_frame(Stream(data), key, limits or Limits())
    return info.value


# ---------------------------------------------------------------- round trips

@settings(max_examples=300, deadline=None)
@given(frames, keys)
def test_every_kind_round_trips_with_and_without_a_key(frame: Frame, key: bytes | None) -> None:
    data = encode(frame, key)
    assert decode(data, key) == frame
    stream = Stream(data + encode(PingFrame(), key))  # the boundary is kept for the next frame
    assert read_frame(stream, key) == frame
    assert read_frame(stream, key) == PingFrame()
    if key is not None:
        assert decode(data) == frame  # a reader without a key reads and ignores the tag


def test_the_ping_frames_in_the_docs_are_the_bytes_encode_makes() -> None:
    docs = (Path(__file__).resolve().parents[2] / "docs" / "protocol.md").read_text()
    blocks = ["".join(block.split()) for block in re.findall(r"```\n([0-9a-f \n]+)```", docs)]
    signed = encode(PingFrame(), key=b"example key 0123")
    assert blocks == [encode(PingFrame()).hex(), signed.hex()]
    assert signed[4] == 0x01 and hmac.new(b"example key 0123", signed[:-32], "sha256").digest() == signed[-32:]


def test_decoded_fields_have_their_types() -> None:
    frame = decode(raw_frame(Kind.PART, part_header(t=17, vision=None), b"\x01\x02\x03\x04"))
    assert isinstance(frame, PartFrame)
    assert frame.t == 17.0 and isinstance(frame.t, float)
    assert frame.shape == (2, 2, 1) and frame.vision is None
    result = decode(encode(ResultFrame(1, "L", "S", Verdict.NG, 0.25, Verdict.NG, "model", "v0001",
                                       "ok", None, 12.5)))
    assert result.final is Verdict.NG and result.model is Verdict.NG


def test_unknown_keys_are_ignored_and_optional_fields_may_be_left_out() -> None:
    header = part_header(future_field={"x": [1, 2]})
    del header["vision"]
    frame = decode(raw_frame(Kind.PART, header, b"\x00" * 4))
    assert isinstance(frame, PartFrame) and frame.vision is None


# ---------------------------------------------------------------- framing

def test_end_of_stream_before_a_frame_is_a_clean_close() -> None:
    with pytest.raises(EOFError):
        read_frame(Stream(b""))


@pytest.mark.parametrize("cut", [1, 5, 11, 12, 14, 20])
def test_end_of_stream_inside_a_frame_is_truncated_and_fatal(cut: int) -> None:
    data = encode(TriggerFrame(3, "L1", "S1", 1.0))
    err = error_of(data[:cut])
    assert (err.code, err.fatal) == ("truncated", True)


def test_a_missing_tag_is_truncated() -> None:
    data = encode(AckFrame(3), key=b"k")
    assert error_of(data[:-1]).code == "truncated"


@pytest.mark.parametrize(("data", "code"), [
    (raw_frame(Kind.PING, {}, magic=b"HT"), "bad-magic"),
    (raw_frame(Kind.PING, {}, version=2), "bad-version"),
    (raw_frame(Kind.PING, {}, flags=0x02), "bad-version"),
    (raw_frame(Kind.PING, {}, reserved=1), "bad-version"),
])
def test_a_lost_boundary_is_fatal(data: bytes, code: str) -> None:
    err = error_of(data)
    assert (err.code, err.fatal) == (code, True)


@pytest.mark.parametrize("claim", ["header", "body"])
def test_lengths_are_checked_before_anything_is_read(claim: str) -> None:
    header_len, body_len = (65535, 0) if claim == "header" else (2, 2**32 - 1)
    stream = Stream(PREFIX.pack(b"IK", 1, Kind.PART, 0, 0, header_len, body_len) + b"{}" + b"\0" * 100)
    with pytest.raises(ProtocolError) as info:
        read_frame(stream)
    assert (info.value.code, info.value.fatal) == ("too-large", True)
    assert stream.asked == [1, 11]  # the 12-byte prefix and nothing more


def test_limits_are_the_readers_own() -> None:
    data = encode(PartFrame(1, "L", "S", 0.0, None, "raw", (4, 4, 3), b"\0" * 48))
    assert error_of(data, limits=Limits(max_body_bytes=47)).code == "too-large"
    assert error_of(data, limits=Limits(max_header_bytes=50)).code == "too-large"
    assert error_of(data, limits=Limits(max_side_px=3)).code == "bad-header"
    assert isinstance(decode(data, limits=Limits(max_body_bytes=48)), PartFrame)


@pytest.mark.parametrize(("data", "code"), [
    (raw_frame(99, {}), "unknown-kind"),
    (raw_frame(Kind.PING, b"{not json"), "bad-header"),
    (raw_frame(Kind.PING, b"\xff\xfe{}"), "bad-header"),
    (raw_frame(Kind.PING, b""), "bad-header"),
    (raw_frame(Kind.PING, b"[]"), "bad-header"),
    (raw_frame(Kind.PING, b"[" * 2000 + b"]" * 2000), "bad-header"),
    (raw_frame(Kind.PING, {}, b"x"), "bad-header"),
    (raw_frame(Kind.TRIGGER, b'{"serial":1,"line":"L","station":"S","t":NaN}'), "bad-header"),
    (raw_frame(Kind.TRIGGER, b'{"serial":1,"line":"L","station":"S","t":1e999}'), "bad-header"),
])
def test_a_bad_frame_read_whole_keeps_the_connection(data: bytes, code: str) -> None:
    stream = Stream(data + encode(PingFrame()))
    with pytest.raises(ProtocolError) as info:
        read_frame(stream)
    assert (info.value.code, info.value.fatal) == (code, False)
    assert read_frame(stream) == PingFrame()  # the next frame is read as if nothing happened


@pytest.mark.parametrize(("field", "value"), [
    ("serial", True), ("serial", -1), ("serial", 2**63), ("serial", "7"), ("serial", 7.0),
    ("line", "x" * 65), ("line", 5), ("station", None), ("t", "now"), ("t", 10**400), ("t", True),
    ("vision", "ok"), ("vision", 0), ("encoding", "bmp"), ("shape", [2, 2]), ("shape", [0, 2, 1]),
    ("shape", [2, 2, 2]), ("shape", [2, 2.0, 1]), ("shape", [True, 2, 1]), ("shape", [9000, 2, 1]),
    ("shape", "2x2"), ("shape", [2, 2, 3]),  # raw body of 4 bytes for a 12-byte image
])
def test_a_bad_header_field_is_named(field: str, value: object) -> None:
    err = error_of(raw_frame(Kind.PART, part_header(**{field: value}), b"\0" * 4))
    assert (err.code, err.fatal) == ("bad-header", False)
    assert repr(field) in err.message


@pytest.mark.parametrize(("kind", "header", "field"), [
    (Kind.RESULT, {"p_ok": 1.5}, "p_ok"), (Kind.RESULT, {"by": "plc"}, "by"),
    (Kind.RESULT, {"status": "OK"}, "status"), (Kind.RESULT, {"edge_ms": -1}, "edge_ms"),
    (Kind.RESULT, {"final": None}, "final"), (Kind.PONG, {"ready": 1}, "ready"),
    (Kind.ERROR, {"code": ["x"]}, "code"), (Kind.ACK, {}, "serial"),
])
def test_reply_fields_are_checked_too(kind: Kind, header: dict, field: str) -> None:
    base = {
        Kind.RESULT: {"serial": 1, "line": "L", "station": "S", "model": "OK", "p_ok": 0.9,
                      "final": "OK", "by": "model", "version": "v1", "status": "ok", "reason": None,
                      "edge_ms": 3.0},
        Kind.PONG: {"version": None, "ready": True, "goal": "replacement", "shadow": False},
        Kind.ERROR: {"serial": None, "code": "bad-image", "message": "m"},
        Kind.ACK: {"serial": 1},
    }[kind]
    header = {**base, **header} if header else {}
    assert isinstance(decode(raw_frame(kind, base)), (ResultFrame, PongFrame, ErrorFrame, AckFrame))
    err = error_of(raw_frame(kind, header))
    assert err.code == "bad-header" and repr(field) in err.message


def test_decode_wants_exactly_one_frame() -> None:
    data = encode(AckFrame(1))
    with pytest.raises(ProtocolError) as info:
        decode(data + b"\0")
    assert (info.value.code, info.value.fatal) == ("bad-header", False)
    with pytest.raises(ProtocolError) as info:
        decode(b"")
    assert info.value.code == "truncated"


@pytest.mark.parametrize("char", ["\x01", "\U0001F600", '"'])
def test_every_valid_header_fits_the_default_limit(char: str) -> None:
    longest = [
        ResultFrame(2**63 - 1, char * 64, char * 64, Verdict.OK, 0.1 / 3, Verdict.OK, "fail-safe",
                    char * 64, "fail-safe", char * 256, 1e300 / 7),
        ErrorFrame(2**63 - 1, char * 64, char * 512),
        PartFrame(2**63 - 1, char * 64, char * 64, -1e300 / 7, Verdict.NG, "jpeg", (8192, 8192, 3), b"x"),
    ]
    for frame in longest:
        data = encode(frame, KEY)
        assert decode(data, KEY) == frame


def test_a_lone_surrogate_is_refused() -> None:
    data = raw_frame(Kind.ACK, b'{"serial":1}')
    assert isinstance(decode(data), AckFrame)
    err = error_of(raw_frame(Kind.ERROR, b'{"serial":1,"code":"\\ud800","message":""}'))
    assert err.code == "bad-header" and "'code'" in err.message


def test_encode_refuses_what_a_reader_would_refuse() -> None:
    with pytest.raises(ProtocolError, match="'line'"):
        encode(TriggerFrame(1, "x" * 65, "S", 0.0))
    with pytest.raises(ProtocolError, match="'serial'"):
        encode(AckFrame(-1))
    with pytest.raises(ProtocolError, match="'message'"):
        encode(ErrorFrame(None, "bad-image", "m" * 513))
    with pytest.raises(TypeError):
        encode("PING")  # type: ignore[arg-type]


# ---------------------------------------------------------------- HMAC

KEY = b"shared secret of the line"


def test_a_wrong_key_is_refused() -> None:
    err = error_of(encode(AckFrame(1), key=b"another key"), key=KEY)
    assert (err.code, err.fatal) == ("auth", False)


def test_a_frame_without_a_tag_is_refused_when_a_key_is_set() -> None:
    assert error_of(encode(AckFrame(1)), key=KEY).code == "auth"


SIGNED_PART = encode(PartFrame(5, "L1", "S1", 1.0, Verdict.OK, "raw", (4, 4, 3), bytes(range(48))),
                     key=KEY)


@given(st.integers(0, len(SIGNED_PART) - 1), st.integers(0, 7))
@settings(max_examples=200, deadline=None)
def test_any_flipped_bit_is_refused(index: int, bit: int) -> None:
    data = bytearray(SIGNED_PART)
    header_len = struct.unpack_from("!H", data, 8)[0]
    data[index] ^= 1 << bit
    with pytest.raises(ProtocolError):  # auth, or a framing error when the prefix was hit
        read_frame(Stream(bytes(data)), KEY)
    if 12 + header_len <= index:  # payload or tag: the boundary held, only the tag fails
        assert error_of(bytes(data), key=KEY).code == "auth"


def test_authentication_comes_before_the_header_is_parsed() -> None:
    data = raw_frame(Kind.PING, b"{broken", flags=0x01) + b"\0" * 32
    assert error_of(data, key=KEY).code == "auth"
    assert error_of(data).code == "bad-header"  # without a key the tag is skipped


def test_protocol_errors_are_connect_errors_with_a_one_line_message() -> None:
    from inspkit.errors import ConnectError

    err = error_of(raw_frame(Kind.PART, part_header(line=5), b"\0" * 4))
    assert isinstance(err, ConnectError)
    assert "\n" not in str(err) and str(err).startswith("bad-header: ")
    assert ProtocolError("truncated").fatal and not ProtocolError("truncated", fatal=False).fatal
