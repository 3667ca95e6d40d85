"""Images in PART frames: encoding, guarded decoding, and the size a file declares.

A PNG's IHDR or a JPEG's SOF segment is read before OpenCV decodes anything, so
a small file that claims 100000×100000 pixels (a decompression bomb) is
refused having allocated nothing. OpenCV is imported inside the functions that
need it.
"""

from __future__ import annotations

import operator
import struct
import time

import numpy as np

from inspkit.connect.frames import DEFAULT_LIMITS, ENCODINGS, Limits, PartFrame, ProtocolError
from inspkit.errors import InputError
from inspkit.types import Verdict

__all__ = ["declared_size", "decode_image", "encode_image", "part_frame"]

def encode_image(image: np.ndarray, encoding: str = "png") -> tuple[bytes, tuple[int, int, int]]:
    """An image as a PART frame's body and shape.

    Args:
        image: RGB uint8 H×W×3, or gray H×W (or H×W×1).
        encoding: ``"png"``, ``"jpeg"`` (quality 95) or ``"raw"``.

    Returns:
        The encoded bytes and ``(height, width, channels)``.

    Raises:
        InputError: the image is not uint8 gray or RGB, or the encoding is unknown.
    """
    arr = np.asarray(image)
    if encoding not in ENCODINGS:
        raise InputError(f"image encoding {encoding!r} is not one of {', '.join(ENCODINGS)}")
    if arr.dtype != np.uint8 or not (arr.ndim == 2 or (arr.ndim == 3 and arr.shape[2] in (1, 3))) \
            or 0 in arr.shape:
        raise InputError(f"an image must be uint8 H×W×3 (RGB) or H×W (gray), got {arr.dtype} "
                         f"{arr.shape}")
    h, w = arr.shape[:2]
    c = 1 if arr.ndim == 2 else arr.shape[2]
    if encoding == "raw":
        return np.ascontiguousarray(arr).tobytes(), (h, w, c)
    import cv2  # heavy: only the image functions need it

    pixels = arr.reshape(h, w) if c == 1 else cv2.cvtColor(arr, cv2.COLOR_RGB2BGR)
    params = [cv2.IMWRITE_JPEG_QUALITY, 95] if encoding == "jpeg" else []
    ok, buf = cv2.imencode(".jpg" if encoding == "jpeg" else ".png", pixels, params)
    if not ok:
        raise InputError(f"OpenCV could not encode a {arr.shape} image as {encoding}")
    return buf.tobytes(), (h, w, c)


def decode_image(frame: PartFrame, limits: Limits = DEFAULT_LIMITS) -> np.ndarray:
    """A PART frame's image as H×W×3 uint8 RGB (gray is repeated over 3 channels).

    A PNG or JPEG's declared size is read from its header and checked against
    the frame's ``shape`` and ``limits`` before it is decoded.

    Raises:
        ProtocolError: ``bad-image`` (not fatal): the image cannot be decoded,
            is too large, or its size or channels differ from ``frame.shape``.
    """
    h, w, c = frame.shape
    if not (0 < h <= limits.max_side_px and 0 < w <= limits.max_side_px) or c not in (1, 3):
        raise ProtocolError("bad-image", f"shape {list(frame.shape)} is outside the limits", fatal=False)
    if frame.encoding == "raw":
        if len(frame.image) != h * w * c:
            raise ProtocolError("bad-image", f"a raw {list(frame.shape)} image is {h * w * c} bytes, "
                                f"got {len(frame.image)}", fatal=False)
        pixels = np.frombuffer(frame.image, np.uint8).reshape(h, w, c)
        return np.repeat(pixels, 3, axis=2) if c == 1 else pixels.copy()
    pixels = _decode_file(frame, limits)
    import cv2

    return cv2.cvtColor(pixels, cv2.COLOR_GRAY2RGB if c == 1 else cv2.COLOR_BGR2RGB)


def _decode_file(frame: PartFrame, limits: Limits) -> np.ndarray:
    """Decode a PNG/JPEG body after checking the size its header declares."""
    h, w, c = frame.shape
    try:
        declared = declared_size(frame.encoding, frame.image)
    except ValueError as exc:
        raise ProtocolError("bad-image", str(exc), fatal=False) from None
    if max(declared) > limits.max_side_px or declared != (h, w):
        raise ProtocolError("bad-image", f"the {frame.encoding} declares {declared[0]}×{declared[1]} "
                            f"pixels, the header says {h}×{w} (at most {limits.max_side_px})", fatal=False)
    import cv2

    try:
        pixels = cv2.imdecode(np.frombuffer(frame.image, np.uint8), cv2.IMREAD_UNCHANGED)
    except cv2.error:
        pixels = None
    if pixels is None:
        raise ProtocolError("bad-image", f"the {frame.encoding} image cannot be decoded", fatal=False)
    expected = (h, w) if c == 1 else (h, w, 3)
    if pixels.dtype != np.uint8 or pixels.shape != expected:
        raise ProtocolError("bad-image", f"decoded {pixels.dtype} {list(pixels.shape)}, the header "
                            f"says uint8 {list(frame.shape)}", fatal=False)
    return pixels


def part_frame(serial: int, image: np.ndarray, vision: Verdict | None, line: str, station: str,
               t: float | None = None, encoding: str = "png") -> PartFrame:
    """A PART frame for ``image`` (RGB uint8 H×W×3 or gray H×W), taken now unless ``t`` is given."""
    body, shape = encode_image(image, encoding)
    return PartFrame(operator.index(serial), line, station, time.time() if t is None else float(t),
                     None if vision is None else Verdict(vision), encoding, shape, body)


# ---------------------------------------------------------------- declared size

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# Start-of-frame markers carry the image size; C4 (DHT), C8 (JPG) and CC (DAC) are not frames.
_JPEG_SOF = frozenset({0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF})
# Markers without a length field: TEM and the restart markers RST0..7.
_JPEG_STANDALONE = frozenset({0x01, *range(0xD0, 0xD8)})
_JPEG_SOS, _JPEG_EOI = 0xDA, 0xD9


def declared_size(encoding: str, data: bytes) -> tuple[int, int]:
    """``(height, width)`` as a PNG's IHDR or a JPEG's first SOF segment declares it.

    Args:
        encoding: ``"png"`` or ``"jpeg"``.
        data: The whole file.

    Raises:
        ValueError: the data is not a PNG / JPEG, or its header is cut short or damaged.
    """
    if encoding == "png":
        return _png_size(data)
    if encoding == "jpeg":
        return _jpeg_size(data)
    raise ValueError(f"no header to read for encoding {encoding!r}")


def _png_size(data: bytes) -> tuple[int, int]:
    # Signature (8), then the IHDR chunk: length (4) = 13, type (4), width (4), height (4)…
    if len(data) < 24 or data[:8] != _PNG_SIGNATURE or data[12:16] != b"IHDR":
        raise ValueError("not a PNG file (no signature and IHDR chunk)")
    width, height = struct.unpack_from("!II", data, 16)
    return height, width


def _jpeg_size(data: bytes) -> tuple[int, int]:
    if data[:2] != b"\xff\xd8":
        raise ValueError("not a JPEG file (no SOI marker)")
    i = 2
    while i + 4 <= len(data):
        if data[i] != 0xFF:
            raise ValueError(f"damaged JPEG: no marker at byte {i}")
        marker = data[i + 1]
        if marker == 0xFF:  # a fill byte before a marker
            i += 1
            continue
        if marker in _JPEG_STANDALONE:
            i += 2
            continue
        if marker in (_JPEG_SOS, _JPEG_EOI):
            break  # image data or the end, and no frame header before it
        (length,) = struct.unpack_from("!H", data, i + 2)
        if marker in _JPEG_SOF:
            if i + 9 > len(data):
                break
            height, width = struct.unpack_from("!HH", data, i + 5)
            if height == 0:
                raise ValueError("JPEG defers its height to a DNL segment, which is not supported")
            return height, width
        if length < 2:
            raise ValueError(f"damaged JPEG: segment length {length} at byte {i}")
        i += 2 + length
    raise ValueError("JPEG has no frame header (SOF) before its image data")
