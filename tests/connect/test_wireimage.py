"""Images in PART frames: encodings, gray to RGB, and sizes checked before anything is decoded."""

from __future__ import annotations

import struct
import zlib

import cv2
import numpy as np
import pytest

from inspkit.connect.protocol import (
    Limits,
    PartFrame,
    ProtocolError,
    decode,
    decode_image,
    encode,
    encode_image,
    part_frame,
)
from inspkit.connect.wireimage import declared_size
from inspkit.errors import InputError
from inspkit.types import Verdict

RNG = np.random.default_rng(7)
RGB = RNG.integers(0, 256, (12, 10, 3), dtype=np.uint8)
GRAY = RNG.integers(0, 256, (9, 11), dtype=np.uint8)


def frame_of(body: bytes, shape: tuple[int, int, int], encoding: str = "png") -> PartFrame:
    return PartFrame(1, "L1", "S1", 0.0, None, encoding, shape, body)


def bad_image(frame: PartFrame, limits: Limits = Limits()) -> ProtocolError:  # noqa: B008
    with pytest.raises(ProtocolError) as info:
        decode_image(frame, limits)
    assert (info.value.code, info.value.fatal) == ("bad-image", False)
    return info.value


def png_declaring(height: int, width: int) -> bytes:
    """A tiny PNG whose IHDR claims ``height``×``width`` (an image bomb's header)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack("!I", len(data)) + kind + data + struct.pack("!I", zlib.crc32(kind + data))

    ihdr = struct.pack("!IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64))
            + chunk(b"IEND", b""))


@pytest.mark.parametrize("encoding", ["png", "raw"])
def test_lossless_encodings_give_back_the_same_pixels(encoding: str) -> None:
    frame = decode(encode(part_frame(3, RGB, Verdict.OK, "L1", "S1", encoding=encoding)))
    assert frame.shape == (12, 10, 3)
    out = decode_image(frame)
    assert out.dtype == np.uint8 and np.array_equal(out, RGB)


def test_jpeg_gives_back_nearly_the_same_pixels() -> None:
    smooth = np.repeat(np.linspace(0, 255, 32, dtype=np.uint8)[None, :, None], 24, axis=0)
    smooth = np.concatenate([smooth, smooth[:, ::-1], np.full_like(smooth, 80)], axis=2)
    out = decode_image(decode(encode(part_frame(3, smooth, None, "L1", "S1", encoding="jpeg"))))
    assert out.shape == smooth.shape
    assert np.abs(out.astype(int) - smooth).mean() < 3  # quality 95, colours in RGB order


@pytest.mark.parametrize("encoding", ["png", "jpeg", "raw"])
def test_gray_images_come_back_as_three_equal_channels(encoding: str) -> None:
    body, shape = encode_image(GRAY, encoding)
    assert shape == (9, 11, 1)
    out = decode_image(frame_of(body, shape, encoding))
    assert out.shape == (9, 11, 3)
    assert np.array_equal(out[..., 0], out[..., 2])
    if encoding != "jpeg":
        assert np.array_equal(out[..., 1], GRAY)


def test_a_png_claiming_a_huge_size_is_refused_without_decoding(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_decoding(*args: object) -> None:
        raise AssertionError("cv2.imdecode must not be called")

    monkeypatch.setattr(cv2, "imdecode", no_decoding)
    bomb = png_declaring(100_000, 100_000)
    assert declared_size("png", bomb) == (100_000, 100_000)
    assert "100000" in bad_image(frame_of(bomb, (8, 8, 3))).message
    bad_image(frame_of(bomb, (100_000, 100_000, 3)))  # even when the header agrees
    bad_image(frame_of(bomb, (100_000, 100_000, 3)), Limits(max_side_px=1000))


def test_a_jpeg_claiming_a_huge_size_is_refused_without_decoding(monkeypatch: pytest.MonkeyPatch) -> None:
    body, _ = encode_image(RGB, "jpeg")
    h, w = declared_size("jpeg", body)
    assert (h, w) == (12, 10)
    sof = body.index(b"\xff\xc0")
    bomb = body[:sof + 5] + struct.pack("!HH", 60_000, 60_000) + body[sof + 9:]
    monkeypatch.setattr(cv2, "imdecode", lambda *a: (_ for _ in ()).throw(AssertionError))
    bad_image(frame_of(bomb, (12, 10, 3), "jpeg"))
    bad_image(frame_of(bomb, (60_000, 60_000, 3), "jpeg"))


@pytest.mark.parametrize(("body", "shape", "encoding"), [
    (b"not an image at all", (4, 4, 3), "png"),
    (b"\xff\xd8\xff\xd9", (4, 4, 3), "jpeg"),  # SOI then EOI, no frame header
    (encode_image(RGB, "png")[0][:60], (12, 10, 3), "png"),  # cut inside the image data
    (encode_image(RGB, "png")[0], (10, 12, 3), "png"),  # width and height swapped
    (encode_image(RGB, "png")[0], (12, 10, 1), "png"),  # colour where gray was announced
    (encode_image(GRAY, "png")[0], (9, 11, 3), "png"),  # gray where colour was announced
    (encode_image(RGB, "jpeg")[0], (12, 10, 3), "png"),  # a JPEG sent as PNG
    (cv2.imencode(".png", np.zeros((4, 4, 4), np.uint8))[1].tobytes(), (4, 4, 3), "png"),  # alpha
    (cv2.imencode(".png", np.zeros((4, 4, 3), np.uint16))[1].tobytes(), (4, 4, 3), "png"),  # 16 bit
    (b"\0" * 11, (2, 2, 3), "raw"),
])
def test_an_image_that_does_not_match_its_header_is_a_bad_image(body: bytes, shape: tuple[int, int, int],
                                                                encoding: str) -> None:
    bad_image(frame_of(body, shape, encoding))


@pytest.mark.parametrize("image", [
    np.zeros((4, 4, 3), np.float32), np.zeros((4, 4, 4), np.uint8), np.zeros((0, 4, 3), np.uint8),
    np.zeros(4, np.uint8),
])
def test_encode_image_wants_uint8_gray_or_rgb(image: np.ndarray) -> None:
    with pytest.raises(InputError):
        encode_image(image)


def test_encode_image_knows_its_encodings() -> None:
    with pytest.raises(InputError, match="bmp"):
        encode_image(RGB, "bmp")


def test_part_frame_fills_in_the_time_and_coerces_numbers() -> None:
    frame = part_frame(np.int64(9), GRAY, "NG", "L1", "S1")  # type: ignore[arg-type]
    assert frame.serial == 9 and type(frame.serial) is int
    assert frame.vision is Verdict.NG and frame.t > 1.6e9
    assert decode(encode(frame)) == frame
