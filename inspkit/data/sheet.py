"""Contact sheets: a grid of samples with their labels, to look at rather than read."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from inspkit.data.imageio import encode_png, read_image
from inspkit.errors import InputError
from inspkit.store.atomic import atomic_write_bytes
from inspkit.store.samples import Sample
from inspkit.store.workspace import Workspace

_OK, _NG, _NONE = (40, 170, 60), (220, 40, 40), (120, 120, 120)
_CAPTION_PX = 14


def make_sheet(samples: list[Sample], ws: Workspace, tile_px: int = 96, columns: int = 8) -> np.ndarray:
    """A grid of tiles, each captioned with its label and framed by OK/NG colour.

    Labelled boxes are drawn in yellow.

    Raises:
        InputError: there are no samples to show.
    """
    if not samples:
        raise InputError("no samples match; collect some first or change --source")
    rows = -(-len(samples) // columns)
    cell = tile_px + _CAPTION_PX
    sheet = np.full((rows * cell, columns * tile_px, 3), 255, np.uint8)
    for n, sample in enumerate(samples):
        r, c = divmod(n, columns)
        sheet[r * cell:(r + 1) * cell, c * tile_px:(c + 1) * tile_px] = _tile(ws, sample, tile_px)
    return sheet


def write_sheet(
    ws: Workspace, out: Path, source: str | None = None, limit: int = 48, tile_px: int = 96
) -> int:
    """Write a contact sheet PNG of up to ``limit`` samples; returns how many it shows."""
    where, params = ("source = ?", (source,)) if source else ("1", ())
    samples = list(ws.samples.select(where, params))[:limit]
    atomic_write_bytes(out, encode_png(make_sheet(samples, ws, tile_px)))
    return len(samples)


def _tile(ws: Workspace, sample: Sample, tile_px: int) -> np.ndarray:
    image = read_image(ws.path(sample.image_path))
    scale = tile_px / max(image.shape[:2])
    small = cv2.resize(image, (max(1, round(image.shape[1] * scale)), max(1, round(image.shape[0] * scale))),
                       interpolation=cv2.INTER_AREA)
    tile = np.full((tile_px + _CAPTION_PX, tile_px, 3), 255, np.uint8)
    tile[:small.shape[0], :small.shape[1]] = small
    for b in sample.boxes:
        p0 = (round((b.cx - b.w / 2) * scale), round((b.cy - b.h / 2) * scale))
        p1 = (round((b.cx + b.w / 2) * scale), round((b.cy + b.h / 2) * scale))
        cv2.rectangle(tile, p0, p1, (250, 220, 0), 1)
    colour = {"OK": _OK, "NG": _NG}.get(sample.label or "", _NONE)
    cv2.rectangle(tile, (0, 0), (tile_px - 1, tile_px - 1), colour, 2)
    caption = (sample.defect_type or sample.label or "unlabelled")[:14]
    cv2.putText(tile, caption, (2, tile_px + 11), cv2.FONT_HERSHEY_SIMPLEX, 0.33, colour, 1, cv2.LINE_AA)
    return tile
