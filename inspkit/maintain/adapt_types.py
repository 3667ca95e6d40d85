"""The choices of an expansion, kept apart so the CLI can offer them without importing torch or OpenCV."""

from __future__ import annotations

import enum


class Method(str, enum.Enum):
    """How a model is moved to another line."""

    FINETUNE = "finetune"
    DANN = "dann"
    ADDA = "adda"


class Criterion(str, enum.Enum):
    """How the checkpoint to keep is chosen without target labels (see ``adapt_select``)."""

    IM = "im"
    ENTROPY = "entropy"
    DEV = "dev"
    LAST = "last"
