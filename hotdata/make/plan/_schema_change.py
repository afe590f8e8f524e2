"""A schema change in words, classified from the JSON Schema a record keeps and the one there is now.

Each difference between the two schemas is one of:

* an **annotation** (``description``, ``title``, ``examples``, ``$comment``): it cannot make
  committed data invalid;
* a **constraint** (``maxLength``, ``minimum``, ``pattern``, ``enum``, ``required`` ...): the
  committed data either still meets it or does not; the data is revalidated to tell;
* **additive**: a new field;
* **breaking**: a removed field, a changed type, default or shape.

A change made only of annotations, and of constraints the data still meets, is a change "that
does not matter": the record is updated and no model is asked. Anything else is rebuilt.

>>> old = {"properties": {"summary": {"type": "string", "description": "Short."}}}
>>> new = {"properties": {"summary": {"type": "string", "description": "One line."}}}
>>> diff_schemas(old, new).words()
'description of `summary` changed'
"""

from __future__ import annotations

import enum
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

__all__ = ["ChangeKind", "SchemaChange", "SchemaDiff", "diff_schemas"]

ANNOTATIONS = frozenset({"description", "title", "examples", "$comment"})
CONSTRAINTS = frozenset(
    {
        "maxLength",
        "minLength",
        "maximum",
        "minimum",
        "exclusiveMaximum",
        "exclusiveMinimum",
        "multipleOf",
        "maxItems",
        "minItems",
        "uniqueItems",
        "maxProperties",
        "minProperties",
        "pattern",
        "format",
        "enum",
        "const",
        "required",
    }
)
_NAMED = ("properties", "$defs", "definitions")  # keys whose members are names, not keywords
_SUBSCHEMA = ("items", "additionalProperties", "not", "contains", "propertyNames")
_SUBSCHEMAS = ("anyOf", "oneOf", "allOf", "prefixItems")


class ChangeKind(enum.IntEnum):
    """How much a change matters, least first (a diff is as bad as its worst change)."""

    ANNOTATION = 0
    CONSTRAINT = 1
    ADDITIVE = 2
    BREAKING = 3


@dataclass(frozen=True)
class SchemaChange:
    kind: ChangeKind
    words: str  # "description of `summary` changed", "`summary` maxLength 300 → 200"
    # an added field: where it is in the new JSON Schema, as keys ("properties", "tags")
    at: tuple[str, ...] = ()


@dataclass(frozen=True)
class SchemaDiff:
    changes: tuple[SchemaChange, ...]

    @property
    def kind(self) -> ChangeKind:
        return max((c.kind for c in self.changes), default=ChangeKind.ANNOTATION)

    def words(self, most: int = 3) -> str:
        """The changes in words, worst first: at most ``most``, then how many more."""
        ordered = sorted(self.changes, key=lambda c: -c.kind)
        said = "; ".join(c.words for c in ordered[:most]) or "no difference"
        more = len(ordered) - most
        return f"{said} (and {more} more)" if more > 0 else said


def _shown(value: Any) -> str:
    if value is None:
        return "none"
    text = json.dumps(value, sort_keys=True, ensure_ascii=False)
    return text if len(text) <= 40 else text[:37] + "..."


def _where(path: tuple[str, ...]) -> str:
    return f"`{'.'.join(path)}`" if path else "the schema"


def _walk(old: Any, new: Any, path: tuple[str, ...], loc: tuple[str, ...] = ()) -> Iterator[SchemaChange]:
    if not isinstance(old, dict) or not isinstance(new, dict):
        if old != new:
            yield SchemaChange(ChangeKind.BREAKING, f"{_where(path)} changed shape")
        return
    for key in sorted(set(old) | set(new)):
        was, now = old.get(key), new.get(key)
        if was == now:
            continue
        if key in ANNOTATIONS:
            yield SchemaChange(ChangeKind.ANNOTATION, f"{key} of {_where(path)} changed")
        elif key == "required":
            gone, came = set(was or ()) - set(now or ()), set(now or ()) - set(was or ())
            if came:
                names = ", ".join(f"`{'.'.join((*path, n))}`" for n in sorted(came))
                yield SchemaChange(ChangeKind.CONSTRAINT, f"{names} now required")
            if gone:
                names = ", ".join(f"`{'.'.join((*path, n))}`" for n in sorted(gone))
                yield SchemaChange(ChangeKind.CONSTRAINT, f"{names} no longer required")
        elif key in CONSTRAINTS:
            yield SchemaChange(ChangeKind.CONSTRAINT, f"{_where(path)} {key} {_shown(was)} → {_shown(now)}")
        elif key in _NAMED and isinstance(was, dict) and isinstance(now, dict):
            yield from _members(key, was, now, path, (*loc, key))
        elif key in _SUBSCHEMA:
            yield from _walk(was, now, path, (*loc, key))
        elif key in _SUBSCHEMAS and isinstance(was, list) and isinstance(now, list) and len(was) == len(now):
            for i, (a, b) in enumerate(zip(was, now, strict=True)):
                yield from _walk(a, b, path, (*loc, key, str(i)))
        else:
            yield SchemaChange(ChangeKind.BREAKING, f"{_where(path)} {key} {_shown(was)} → {_shown(now)}")


def _members(
    key: str, old: dict[str, Any], new: dict[str, Any], path: tuple[str, ...], loc: tuple[str, ...]
) -> Iterator[SchemaChange]:
    for name in sorted(set(old) | set(new)):
        # a definition is named on its own ("Connection.note"); a property under its parent's path
        where = (name,) if key != "properties" else (*path, name)
        if name not in new:
            if key == "properties":
                yield SchemaChange(ChangeKind.BREAKING, f"field {_where(where)} removed")
            # a definition no field uses any more: the field that used it says what changed
        elif name not in old:
            if key == "properties":
                yield SchemaChange(ChangeKind.ADDITIVE, f"field {_where(where)} added", (*loc, name))
        else:
            yield from _walk(old[name], new[name], where, (*loc, name))


def diff_schemas(old: Any, new: Any) -> SchemaDiff:
    """Every difference between JSON Schemas ``old`` and ``new``, classified and in words."""
    return SchemaDiff(tuple(_walk(old, new, ())))
