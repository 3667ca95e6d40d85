"""Is a GAN's output any good? Distances in the feature space of the workspace's own classifier.

- ``called``: the share of generated images the production classifier gives
  the label they were made for.
- ``fidelity``: how far generated images lie from held-out real ones (median
  distance to the nearest), divided by the same for the real images the GAN
  learned from. Near 1: as close as real images are; well above 1: off.
- ``diversity``: mean pairwise distance among generated images divided by
  that among the real ones. Well below 1: the generator repeats itself.

Contact sheets of real and generated images are written beside the numbers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from inspkit.data.imageio import encode_png
from inspkit.data.sheet import make_sheet
from inspkit.data.views import BASE_SAMPLES
from inspkit.models.dataset import load_images
from inspkit.models.store import ModelStore
from inspkit.store.atomic import atomic_write_bytes
from inspkit.store.samples import Sample
from inspkit.store.workspace import Workspace


@dataclass(frozen=True)
class GanQuality:
    """The quality check's figures (NaN where a set is empty).

    Attributes:
        classifier: The version whose features were used, ``None`` without a production classifier.
        called: Share of generated images the classifier calls by their label.
        fidelity: Nearest-held-out distance, generated over real (1 is as good as real).
        diversity: Mean pairwise distance, generated over real (1 is as varied as real).
        held_out: Real held-out (val/test) images compared against.
    """

    classifier: str | None
    called: float
    fidelity: float
    diversity: float
    held_out: int


def gan_quality(ws: Workspace, label: str, made: Sequence[Sample], real: Sequence[Sample], device: str) -> GanQuality:
    """Score generated samples against real ones with the production classifier's features."""
    from inspkit.models.inferencer import Inferencer

    store = ModelStore(ws.root / "models")
    if store.production() is None or store.meta(store.production()).task != "classify":
        return GanQuality(None, float("nan"), float("nan"), float("nan"), 0)
    inf = Inferencer.load(ws.root / "models", None, device)
    held = [s for s in ws.samples.select(BASE_SAMPLES + " AND label = ?", (label,)) if s.split in ("val", "test")]
    feats = {name: _embed(inf, ws, group) for name, group in (("made", made), ("real", real), ("held", held))}
    probs = _probs(inf, ws, made)
    called = float(np.mean([inf.meta.classes[i] == label for i in probs.argmax(1)])) if len(probs) else float("nan")
    fidelity, diversity = fidelity_diversity(feats["made"], feats["real"], feats["held"])
    return GanQuality(inf.version, called, fidelity, diversity, len(held))


def fidelity_diversity(made: np.ndarray, real: np.ndarray, held: np.ndarray) -> tuple[float, float]:
    """Fidelity and diversity (see the module docstring) from feature rows of generated, learned-from and held-out images."""
    return (_ratio(_nearest(made, held), _nearest(real, held)), _ratio(_spread(made), _spread(real)))


def write_sheets(ws: Workspace, out_dir: Path, made: Sequence[Sample], real: Sequence[Sample], limit: int = 48) -> list[Path]:
    """``generated.png`` and ``real.png`` contact sheets in ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, group in (("generated", made), ("real", real)):
        if group:
            path = out_dir / f"{name}.png"
            atomic_write_bytes(path, encode_png(make_sheet(list(group)[:limit], ws)))
            paths.append(path)
    return paths


def _embed(inf: Any, ws: Workspace, samples: Sequence[Sample]) -> np.ndarray:
    from inspkit.models.features import embed

    if not samples:
        return np.zeros((0, 0))
    images = load_images(ws, samples, inf.meta.input_size)
    return embed(inf.model, images, inf.device, 64).numpy()


def _probs(inf: Any, ws: Workspace, samples: Sequence[Sample]) -> np.ndarray:
    from inspkit.models.engine import predict_probs

    if not samples:
        return np.zeros((0, 0))
    return predict_probs(inf.model, load_images(ws, samples, inf.meta.input_size), inf.device, 64)


def _nearest(a: np.ndarray, b: np.ndarray) -> float:
    """Median distance from each row of ``a`` to its nearest row of ``b``."""
    if not len(a) or not len(b):
        return float("nan")
    a, b = a[:500], b[:2000]  # bounds memory; medians of this many are stable
    d = np.sqrt(((a[:, None, :] - b[None, :, :]) ** 2).sum(-1))
    return float(np.median(d.min(axis=1)))


def _spread(a: np.ndarray) -> float:
    """Mean distance between two different rows (of at most 500, to bound memory)."""
    a = a[:500]
    if len(a) < 2:
        return float("nan")
    d = np.sqrt(((a[:, None, :] - a[None, :, :]) ** 2).sum(-1))
    return float(d.sum() / (len(a) * (len(a) - 1)))


def _ratio(x: float, y: float) -> float:
    return x / y if y == y and y > 0 else float("nan")
