"""Choosing the torch device: ``auto``, ``cpu`` or ``cuda``."""

from __future__ import annotations

from inspkit.errors import InputError


def resolve_device(name: str) -> str:
    """``auto`` → ``cuda`` when available, else ``cpu``.

    Raises:
        InputError: ``cuda`` asked for but not available.
    """
    import torch

    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda" and not torch.cuda.is_available():
        raise InputError("--device cuda was asked for but no CUDA GPU is available; use --device cpu or auto")
    if name not in ("cpu", "cuda"):
        raise InputError(f"--device '{name}' is not one of auto, cpu, cuda")
    return name
