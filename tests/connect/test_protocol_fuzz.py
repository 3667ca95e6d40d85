"""10,000 malformed, truncated or oversized frames: the reader raises only its own errors and stays small."""

from __future__ import annotations

import json
import random
import struct
import tracemalloc

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from inspkit.connect.protocol import (
    AckFrame,
    ErrorFrame,
    Kind,
    Limits,
    PartFrame,
    PingFrame,
    PongFrame,
    ProtocolError,
    ResultFrame,
    TriggerFrame,
    decode_image,
    encode,
    part_frame,
    read_frame,
)
from inspkit.types import Verdict
from tests.connect.frame_strategies import Stream

PREFIX = struct.Struct("!2sBBBBHI")
KEY = b"line key"
SMALL = Limits(max_header_bytes=300, max_body_bytes=2048, max_side_px=16)
LIMITS = (SMALL, Limits())


def _pool() -> list[bytes]:
    """Valid frames of every kind, signed and not: the seeds that get damaged."""
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)
    gray = rng.integers(0, 256, (6, 5), dtype=np.uint8)
    frames = [
        TriggerFrame(1, "L1", "S1", 1.7e9), AckFrame(2), PingFrame(),
        PongFrame("v0003", True, "fp-reduction", False), ErrorFrame(None, "bad-image", "no"),
        ResultFrame(3, "L1", "S1", Verdict.NG, 0.125, Verdict.NG, "model", "v0003", "ok", None, 4.5),
        part_frame(4, rgb, Verdict.NG, "L1", "S1", 1.0, "png"),
        part_frame(5, gray, None, "L1", "S1", 1.0, "jpeg"),
        part_frame(6, gray, Verdict.OK, "L1", "S1", 1.0, "png"),
        part_frame(7, rgb[:3, :2], Verdict.OK, "L1", "S1", 1.0, "raw"),
    ]
    return [encode(f, key) for f in frames for key in (None, KEY)]


POOL = _pool()
BASE_HEADERS = {
    Kind.TRIGGER: {"serial": 1, "line": "L", "station": "S", "t": 1.0},
    Kind.PART: {"serial": 1, "line": "L", "station": "S", "t": 1.0, "vision": "OK",
                "encoding": "raw", "shape": [2, 2, 1]},
    Kind.RESULT: {"serial": 1, "line": "L", "station": "S", "model": "OK", "p_ok": 0.5, "final": "OK",
                  "by": "model", "version": "v1", "status": "ok", "reason": None, "edge_ms": 1.0},
    Kind.ERROR: {"serial": 1, "code": "c", "message": "m"},
    Kind.PING: {},
    Kind.PONG: {"version": None, "ready": True, "goal": "replacement", "shadow": False},
    Kind.ACK: {"serial": 1},
}

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats() | st.text(max_size=80),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=8)


@st.composite
def damaged(draw: st.DrawFn) -> bytes:
    """A valid frame with bytes flipped, cut off, or appended."""
    data = bytearray(draw(st.sampled_from(POOL)))
    for _ in range(draw(st.integers(1, 3))):
        op = draw(st.sampled_from(("flip", "flip", "cut", "extend")))
        if op == "flip" and data:
            data[draw(st.integers(0, len(data) - 1))] ^= draw(st.integers(1, 255))
        elif op == "cut":
            del data[draw(st.integers(0, len(data))):]
        elif op == "extend":
            data += draw(st.binary(max_size=40))
    return bytes(data)


@st.composite
def wrong_fields(draw: st.DrawFn) -> bytes:
    """A well-framed header with one field replaced by any JSON value, or removed."""
    kind = draw(st.sampled_from(list(Kind)))
    header = dict(BASE_HEADERS[kind])
    name = draw(st.sampled_from([*header, "extra"]))
    if draw(st.booleans()) and name in header:
        del header[name]
    else:
        header[name] = draw(json_values)
    head = json.dumps(header).encode()
    body = b"\0" * draw(st.sampled_from((0, 4, 5)))
    return PREFIX.pack(b"IK", 1, kind, 0, 0, len(head), len(body)) + head + body


@st.composite
def oversized(draw: st.DrawFn) -> bytes:
    """A prefix claiming any lengths up to 64 KiB of header and 4 GiB of body."""
    header_len = draw(st.integers(0, 65535) | st.sampled_from((301, 4097, 65535)))
    body_len = draw(st.integers(0, 2**32 - 1) | st.sampled_from((2049, 32 * 2**20 + 1, 2**32 - 1)))
    prefix = PREFIX.pack(b"IK", 1, draw(st.integers(0, 255)), draw(st.sampled_from((0, 1))), 0,
                         header_len, body_len)
    return prefix + draw(st.binary(max_size=64))


frames_to_read = st.one_of(st.binary(max_size=120), damaged(), wrong_fields(), oversized())


# ------------------------------------------------- the same cases from one seed
# Hypothesis costs about 0.3 ms per draw here; drawing one seed and building the
# case with ``random.Random`` keeps 10,000 examples within seconds.

def _json_value(rnd: random.Random, depth: int = 0) -> object:
    pick = rnd.randrange(10 if depth < 2 else 8)
    if pick == 8:
        return [_json_value(rnd, depth + 1) for _ in range(rnd.randrange(4))]
    if pick == 9:
        return {rnd.choice("abst"): _json_value(rnd, depth + 1) for _ in range(rnd.randrange(4))}
    return (None, True, False, rnd.randint(-(2**70), 2**70), rnd.uniform(-1e9, 1e9),
            float(rnd.choice(("nan", "inf", "-inf", "1e308"))),
            rnd.choice((0, 1, -1, 3, 2**63 - 1, 2**63)),
            rnd.choice(("", "OK", "NG", "png", "raw", "é\u2028", "x" * rnd.randrange(100))))[pick]


def _seeded_random_bytes(rnd: random.Random) -> bytes:
    head = rnd.choice((b"", b"IK", b"IK\x01", b"IK\x01" + bytes([rnd.randrange(1, 8)])))
    return head + rnd.randbytes(rnd.randrange(120))


def _seeded_damaged(rnd: random.Random) -> bytes:
    data = bytearray(rnd.choice(POOL))
    for _ in range(rnd.randint(1, 3)):
        op = rnd.choice(("flip", "flip", "cut", "extend"))
        if op == "flip" and data:
            data[rnd.randrange(len(data))] ^= rnd.randint(1, 255)
        elif op == "cut":
            del data[rnd.randint(0, len(data)):]
        elif op == "extend":
            data += rnd.randbytes(rnd.randrange(40))
    return bytes(data)


def _seeded_wrong_field(rnd: random.Random) -> bytes:
    kind = rnd.choice(list(Kind))
    header = dict(BASE_HEADERS[kind])
    name = rnd.choice([*header, "extra"])
    if rnd.random() < 0.3 and name in header:
        del header[name]
    else:
        header[name] = _json_value(rnd)
    head = json.dumps(header).encode()
    body = b"\0" * rnd.choice((0, 4, 5))
    return PREFIX.pack(b"IK", 1, kind, 0, 0, len(head), len(body)) + head + body


def _seeded_oversized(rnd: random.Random) -> bytes:
    header_len = rnd.choice((rnd.randrange(65536), 301, 4097, 65535))
    body_len = rnd.choice((rnd.randrange(2**32), 2049, 32 * 2**20 + 1, 2**32 - 1))
    prefix = PREFIX.pack(b"IK", 1, rnd.randrange(256), rnd.randrange(2), 0, header_len, body_len)
    return prefix + rnd.randbytes(rnd.randrange(64))


def malformed(seed: int) -> tuple[bytes, bytes | None, Limits]:
    """One damaged frame, a key to read it with, and the reader's limits, all from ``seed``."""
    rnd = random.Random(seed)
    make = rnd.choice((_seeded_random_bytes, _seeded_damaged, _seeded_damaged, _seeded_wrong_field,
                       _seeded_oversized))
    return make(rnd), rnd.choice((None, KEY)), rnd.choice(LIMITS)


def read_everything(data: bytes, key: bytes | None, limits: Limits) -> Stream:
    """Read frames until the stream ends or breaks; only the protocol's own errors may come out."""
    stream = Stream(data)
    while True:
        try:
            frame = read_frame(stream, key, limits)
        except EOFError:
            return stream
        except ProtocolError as err:
            if err.fatal:
                return stream
            continue
        if isinstance(frame, PartFrame):
            try:
                image = decode_image(frame, limits)
            except ProtocolError as err:
                assert err.code == "bad-image" and not err.fatal
            else:
                assert image.dtype == np.uint8 and image.shape == (*frame.shape[:2], 3)


def check_reader(data: bytes, key: bytes | None, limits: Limits) -> None:
    """Only protocol errors, no read above the limits, and a huge claim refused on its prefix."""
    stream = read_everything(data, key, limits)
    assert max(stream.asked, default=0) <= max(limits.max_header_bytes, limits.max_body_bytes)
    magic, version, _, flags, reserved, header_len, body_len = PREFIX.unpack(
        data[:12] if len(data) >= 12 else bytes(12))
    framed = magic == b"IK" and version == 1 and flags in (0, 1) and reserved == 0
    if framed and (header_len > limits.max_header_bytes or body_len > limits.max_body_bytes):
        assert stream.asked == [1, 11]  # refused on the prefix alone


@settings(max_examples=10_000, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.integers(0, 2**64 - 1))
def test_ten_thousand_malformed_frames_raise_only_protocol_errors(seed: int) -> None:
    check_reader(*malformed(seed))


@settings(max_examples=1000, deadline=None, suppress_health_check=list(HealthCheck))
@given(frames_to_read, st.sampled_from((None, KEY)), st.sampled_from(LIMITS))
def test_malformed_frames_shrink_to_a_small_case(data: bytes, key: bytes | None,
                                                 limits: Limits) -> None:
    check_reader(data, key, limits)


@pytest.mark.parametrize(("header_len", "body_len"), [(65535, 0), (0, 2**32 - 1), (65535, 2**32 - 1),
                                                      (4097, 32 * 2**20 + 1)])
def test_a_huge_claim_allocates_nothing(header_len: int, body_len: int) -> None:
    prefix = PREFIX.pack(b"IK", 1, Kind.PART, 1, 0, header_len, body_len)

    replies = iter([prefix[:1], prefix[1:]])

    def generous(n: int) -> bytes:  # the prefix, then whatever is asked, however large
        return next(replies, None) or bytes(n)

    tracemalloc.start()
    try:
        with pytest.raises(ProtocolError) as info:
            read_frame(generous)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert info.value.code == "too-large" and info.value.fatal
    assert peak < 256 * 1024


@settings(max_examples=300, deadline=None)
@given(oversized())
def test_oversized_claims_stay_small_in_memory(data: bytes) -> None:
    tracemalloc.start()
    try:
        read_everything(data, None, SMALL)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 2 * 2**20
