"""Fast private copies of loaded values, so callers cannot poison each other's loads."""

from __future__ import annotations

import copy
import dataclasses
import weakref
from typing import Any, TypeVar

from pydantic import BaseModel

__all__ = ["is_deeply_immutable", "private_copy"]

T = TypeVar("T")

_ATOMIC: frozenset[type] = frozenset({str, int, float, bool, type(None), bytes})
# Per model class, the fields that need copying: a cache of facts about classes, not state.
_MUTABLE_FIELDS: weakref.WeakKeyDictionary[type[BaseModel], tuple[str, ...] | None] = (
    weakref.WeakKeyDictionary()
)


def _mutable_fields(cls: type[BaseModel]) -> tuple[str, ...] | None:
    """Fields whose values may be mutable (need a copy); None when unknown (copy all)."""
    try:
        return _MUTABLE_FIELDS[cls]
    except KeyError:
        pass
    if cls.model_config.get("extra") == "allow":
        fields: tuple[str, ...] | None = None
    else:
        fields = tuple(
            name for name, info in cls.model_fields.items() if not _immutable_type(info.annotation, set())
        )
    _MUTABLE_FIELDS[cls] = fields
    return fields


def _copy_model(obj: BaseModel) -> BaseModel:
    new = object.__new__(type(obj))
    mutable = _mutable_fields(type(obj))
    if mutable is None:
        values = {k: _copy(v) for k, v in obj.__dict__.items()}
    else:
        values = obj.__dict__.copy()
        for name in mutable:
            if name in values:
                values[name] = _copy(values[name])
    object.__setattr__(new, "__dict__", values)
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


def _immutable_type(tp: Any, seen: set[int]) -> bool:
    import enum
    import types
    import typing

    if tp in _ATOMIC:
        return True
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return True
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin is typing.Literal:
        return True
    if origin is typing.Annotated:
        return _immutable_type(args[0], seen)
    if origin in (typing.Union, types.UnionType):
        return all(_immutable_type(a, seen) for a in args)
    if origin in (tuple, frozenset):
        return all(a is Ellipsis or _immutable_type(a, seen) for a in args)
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        if id(tp) in seen:
            return True
        seen.add(id(tp))
        if not tp.model_config.get("frozen") or tp.model_config.get("extra") == "allow":
            return False
        return all(_immutable_type(f.annotation, seen) for f in tp.model_fields.values())
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        if id(tp) in seen:
            return True
        seen.add(id(tp))
        hints = typing.get_type_hints(tp)
        return bool(tp.__dataclass_params__.frozen) and all(  # type: ignore[attr-defined]
            _immutable_type(hints[f.name], seen) for f in dataclasses.fields(tp)
        )
    return False


def is_deeply_immutable(schema: Any) -> bool:
    """True when every value of ``schema`` is immutable all the way down.

    Such values can be shared between callers without a copy: frozen pydantic
    models and frozen dataclasses whose fields are str/number/bool/None, enums,
    literals, tuples, frozensets or other such types.
    """
    try:
        return _immutable_type(schema, set())
    except Exception:  # unresolvable forward references and the like: copy to be safe
        return False
