"""Turn plain data (parsed YAML) into frozen dataclasses, checking keys and types.

Generic: it knows nothing about recipes beyond the type hints it is given.
Supported hints: dataclasses, str Enums, ``int``/``float``/``str``/``bool``,
``X | None``, fixed tuples of numbers, ``tuple[X, ...]`` (of scalars or of
dataclasses) and ``dict[str, X]``.
"""

from __future__ import annotations

import dataclasses
import enum
import types
import typing
from typing import Any

from inspkit.errors import RecipeError


def plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, enum.Enum):
        return value.value
    return value


def build_dataclass(cls: type, data: Any, where: str) -> Any:
    """Recursively turn plain data into the dataclass ``cls``, checking keys and types."""
    label = where or "the top level"
    if not isinstance(data, dict):
        raise RecipeError(f"{label} must be a mapping, got {type(data).__name__}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise RecipeError(
            f"unknown key '{_join(where, unknown[0])}'; valid keys in {label}: {', '.join(fields)}"
        )
    hints = typing.get_type_hints(cls)
    kwargs = {}
    for name, f in fields.items():
        if name in data:
            kwargs[name] = _coerce(hints[name], data[name], _join(where, name))
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise RecipeError(f"missing key '{_join(where, name)}'")
    try:
        return cls(**kwargs)
    except ValueError as exc:  # a dataclass's own check (e.g. Appearance)
        raise RecipeError(f"{label}: {exc}") from None


def _coerce(hint: Any, value: Any, where: str) -> Any:
    """Check and convert one value against its type hint."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        return _coerce(next(a for a in args if a is not type(None)), value, where)
    if dataclasses.is_dataclass(hint):
        return build_dataclass(hint, value, where)
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return _coerce_enum(hint, value, where)
    if origin is tuple and len(args) == 2 and args[1] is Ellipsis:
        return _coerce_list(args[0], value, where)
    if origin is tuple:
        return _coerce_tuple(args, value, where)
    if origin is dict:
        return _coerce_dict(args[1], value, where)
    return _coerce_scalar(hint, value, where)


def _coerce_list(item: Any, value: Any, where: str) -> tuple[Any, ...]:
    """``tuple[X, ...]``: a list of dataclasses or of scalars (a lone scalar is a list of one)."""
    if dataclasses.is_dataclass(item):
        if not isinstance(value, (list, tuple)):
            raise RecipeError(f"'{where}' must be a list of mappings, got {value!r}")
        return tuple(build_dataclass(item, v, f"{where}[{i}]") for i, v in enumerate(value))
    if not isinstance(value, (list, tuple)):
        value = [value]
    return tuple(_coerce_scalar(item, v, f"{where}[{i}]") for i, v in enumerate(value))


def _coerce_enum(hint: type[enum.Enum], value: Any, where: str) -> enum.Enum:
    try:
        return hint(value)
    except ValueError:
        valid = ", ".join(str(m.value) for m in hint)
        raise RecipeError(f"'{where}' is {value!r}; expected one of: {valid}") from None


def _coerce_tuple(args: tuple[Any, ...], value: Any, where: str) -> tuple[Any, ...]:
    if not isinstance(value, (list, tuple)) or len(value) != len(args):
        raise RecipeError(f"'{where}' must be a list of {len(args)} numbers, got {value!r}")
    return tuple(_coerce_scalar(a, v, f"{where}[{i}]") for i, (a, v) in enumerate(zip(args, value)))


def _coerce_dict(item: Any, value: Any, where: str) -> dict[str, Any]:
    """``dict[str, str]`` is a non-empty policy table; other value types may be empty."""
    if item is str:
        if not isinstance(value, dict) or not value:
            raise RecipeError(f"'{where}' must be a non-empty mapping of names to one-line policies")
        return {str(k): str(v) for k, v in value.items()}
    if not isinstance(value, dict):
        raise RecipeError(f"'{where}' must be a mapping, got {value!r}")
    return {str(k): _coerce(item, v, _join(where, str(k))) for k, v in value.items()}


def _coerce_scalar(hint: Any, value: Any, where: str) -> Any:
    if hint is float and isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if hint is int and isinstance(value, int) and not isinstance(value, bool):
        return value
    if hint is str and isinstance(value, (str, int, float)) and not isinstance(value, bool):
        return str(value)
    if hint is bool and isinstance(value, bool):
        return value
    raise RecipeError(f"'{where}' must be a {getattr(hint, '__name__', hint)}, got {value!r}")


def _join(where: str, name: str) -> str:
    return f"{where}.{name}" if where else name
