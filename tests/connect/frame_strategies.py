"""Hypothesis strategies for valid protocol frames, and a recv_exact that records what it was asked."""

from __future__ import annotations

from hypothesis import strategies as st

from inspkit.connect.protocol import (
    AckFrame,
    ErrorFrame,
    Frame,
    PartFrame,
    PingFrame,
    PongFrame,
    ResultFrame,
    TriggerFrame,
)
from inspkit.types import Verdict

serials = st.integers(0, 2**63 - 1)
names = st.text(max_size=64)
times = st.floats(allow_nan=False, allow_infinity=False)
verdicts = st.sampled_from(list(Verdict))
maybe_verdicts = st.none() | verdicts
keys = st.none() | st.binary(min_size=1, max_size=40)


@st.composite
def part_frames(draw: st.DrawFn) -> PartFrame:
    """PART frames with a raw body of the right size, or a png/jpeg body of arbitrary bytes."""
    h, w, c = draw(st.integers(1, 8)), draw(st.integers(1, 8)), draw(st.sampled_from((1, 3)))
    encoding = draw(st.sampled_from(("png", "jpeg", "raw")))
    size = h * w * c if encoding == "raw" else draw(st.integers(1, 64))
    body = draw(st.binary(min_size=size, max_size=size))
    return PartFrame(draw(serials), draw(names), draw(names), draw(times), draw(maybe_verdicts),
                     encoding, (h, w, c), body)


result_frames = st.builds(
    ResultFrame, serial=serials, line=names, station=names, model=maybe_verdicts,
    p_ok=st.none() | st.floats(0.0, 1.0), final=verdicts,
    by=st.sampled_from(("model", "vision", "fail-safe")), version=st.none() | names,
    status=st.sampled_from(("ok", "shadow", "fail-safe")),
    reason=st.none() | st.text(max_size=256), edge_ms=st.floats(0.0, 1e9))

frames: st.SearchStrategy[Frame] = st.one_of(
    st.builds(TriggerFrame, serials, names, names, times),
    part_frames(),
    result_frames,
    st.builds(ErrorFrame, st.none() | serials, names, st.text(max_size=512)),
    st.just(PingFrame()),
    st.builds(PongFrame, st.none() | names, st.booleans(), names, st.booleans()),
    st.builds(AckFrame, serials),
)


class Stream:
    """``recv_exact`` over bytes: raises EOFError when fewer than ``n`` remain, records every ``n``."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0
        self.asked: list[int] = []

    def __call__(self, n: int) -> bytes:
        self.asked.append(n)
        if self.pos + n > len(self.data):
            self.pos = len(self.data)
            raise EOFError
        self.pos += n
        return self.data[self.pos - n:self.pos]
