"""The one error family of inspkit.

Every error a user can cause is an :class:`InspkitError`; the CLI prints its
message as one line and exits non-zero. Messages say what was wrong, what was
expected and what to do.
"""

from __future__ import annotations


class InspkitError(Exception):
    """Base class of every error a user can cause or fix."""

    exit_code: int = 2


class RecipeError(InspkitError):
    """A recipe file is missing, malformed, or has an unknown key or bad value."""


class WorkspaceError(InspkitError):
    """A workspace is missing, already exists, or is damaged."""


class StorageFullError(InspkitError):
    """Free disk space is below the recipe's ``storage.min_free_gb``."""


class InputError(InspkitError):
    """A path, image, label file or option value the user gave cannot be used."""


class LabelError(InspkitError):
    """A label, defect type or class is not in the recipe's taxonomy."""


class ModelError(InspkitError):
    """A model version is missing, damaged, changed after it was stored, or cannot be used."""


class ConnectError(InspkitError):
    """A peer of the edge service (vision station, PLC, MES) is unreachable, or sent something malformed."""
