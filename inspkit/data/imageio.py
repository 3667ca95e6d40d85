"""Decoding and encoding images. Arrays are always H x W x 3 uint8 RGB."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from inspkit.errors import InputError

IMAGE_EXTS = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")
# A corrupt file is reported to the user as one counted skip; OpenCV's own
# console messages about it would only add noise.
cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)
# PNG level 3 is close to the best size at a fraction of level 9's time.
_PNG_LEVEL = 3


def is_image_name(path: Path) -> bool:
    """True when the file name has an image extension we import."""
    return path.suffix.lower() in IMAGE_EXTS


def decode(data: bytes, what: str = "image") -> np.ndarray:
    """Decode encoded bytes to RGB.

    Raises:
        InputError: the bytes are not a decodable image.
    """
    arr = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_COLOR) if data else None
    if arr is None:
        raise InputError(f"{what} is not a readable image (corrupt or not an image file)")
    return cv2.cvtColor(arr, cv2.COLOR_BGR2RGB)


def read_image(path: Path) -> np.ndarray:
    """Read an image file to RGB."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from None
    return decode(data, str(path))


def encode_png(image: np.ndarray) -> bytes:
    """Encode an RGB (or single-channel) image as PNG bytes."""
    if image.ndim == 3:
        image = cv2.cvtColor(image, cv2.COLOR_RGB2BGR)
    ok, buf = cv2.imencode(".png", image, [cv2.IMWRITE_PNG_COMPRESSION, _PNG_LEVEL])
    if not ok:
        raise InputError("image could not be encoded as PNG")
    return buf.tobytes()


def encode_mask(mask: np.ndarray) -> bytes:
    """Encode a boolean mask as a 0/255 single-channel PNG."""
    return encode_png(mask.astype(np.uint8) * 255)


def decode_mask(data: bytes) -> np.ndarray:
    """Inverse of :func:`encode_mask`."""
    arr = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_GRAYSCALE)
    if arr is None:
        raise InputError("mask is not a readable PNG")
    return arr > 127
