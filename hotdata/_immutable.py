"""Which schemas have values that cannot be mutated, so loads may share one object."""

from __future__ import annotations

import dataclasses
from typing import Any

from pydantic import BaseModel

__all__ = ["is_deeply_immutable"]

_ATOMIC: frozenset[type] = frozenset({str, int, float, bool, type(None), bytes})


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
        if tp.__private_attributes__:  # private attributes stay assignable on frozen models
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
