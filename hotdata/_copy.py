"""Fast private copies of loaded values, so callers cannot poison each other's loads."""

from __future__ import annotations

import copy
import dataclasses
from typing import Any, TypeVar

from pydantic import BaseModel

__all__ = ["private_copy"]

T = TypeVar("T")

_ATOMIC: frozenset[type] = frozenset({str, int, float, bool, type(None), bytes})


def _copy_model(obj: BaseModel) -> BaseModel:
    new = object.__new__(type(obj))
    object.__setattr__(new, "__dict__", {k: _copy(v) for k, v in obj.__dict__.items()})
    object.__setattr__(new, "__pydantic_fields_set__", set(obj.__pydantic_fields_set__))
    extra = obj.__pydantic_extra__
    object.__setattr__(new, "__pydantic_extra__", None if extra is None else _copy(extra))
    private = obj.__pydantic_private__
    object.__setattr__(new, "__pydantic_private__", None if private is None else copy.deepcopy(private))
    return new


def _copy(obj: Any) -> Any:
    kind = type(obj)
    if kind in _ATOMIC:
        return obj
    if kind is list:
        return [x if type(x) in _ATOMIC else _copy(x) for x in obj]
    if kind is dict:
        return {k: (v if type(v) in _ATOMIC else _copy(v)) for k, v in obj.items()}
    if isinstance(obj, BaseModel):
        return _copy_model(obj)
    if kind is tuple and all(type(x) in _ATOMIC for x in obj):
        return obj
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type) and not obj.__dataclass_params__.frozen:  # type: ignore[attr-defined]
        new = copy.copy(obj)
        for f in dataclasses.fields(obj):
            object.__setattr__(new, f.name, _copy(getattr(obj, f.name)))
        return new
    return copy.deepcopy(obj)


def private_copy(value: T) -> T:
    """A deep copy that shares only immutable leaves (str, numbers, None)."""
    result: T = _copy(value)
    return result
