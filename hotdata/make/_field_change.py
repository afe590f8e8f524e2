"""A new field the committed data can take from the schema: filled from its default, no model asked.

A field added to a fixture's own schema with a ``default`` in its JSON Schema (so not required)
is filled in. The committed data is validated under the new schema, which fills the default, and
serialized as every fixture is (``model_dump(mode="json")``, then canonical JSON); every other
value must come out as it was, or the fixture is rebuilt. A field added inside a nested model is
found wherever the model is used (``/items/*/tags``); a recursive model is rebuilt.

A new required field (no default) is asked for alone (``plan_ask``): one request a JSON pointer,
the fixture's recorded answer replayed around it (``generate._ask``). One inside array items, or
a ``default_factory`` (which no JSON Schema holds), is rebuilt as before.

>>> new = {"properties": {"title": {"type": "string"}, "tags": {"default": []}}, "required": ["title"]}
>>> plan_fill(new, [("properties", "tags")]).words()
"/tags filled from the schema's default, the rest kept — no call"
>>> new["required"].append("mood"); new["properties"]["mood"] = {"type": "string"}
>>> plan_ask(new, [("properties", "mood")]).words()
'/mood asked alone, the rest kept — 1 call'
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from .._schema import SchemaAdapter, canonical_json
from ._secrets import secret_at

__all__ = [
    "FieldAsk",
    "FieldFill",
    "FillRefused",
    "fill_data",
    "plan_ask",
    "first_change",
    "plan_fill",
    "without",
]

_EACH = ("items", "additionalProperties")  # a subschema of every item or value: "*" in a pointer
_SAME = ("anyOf", "oneOf", "allOf")  # alternatives at the same place in the data


class FillRefused(ValueError):
    """The committed data cannot take the new fields from their defaults alone; the message says why."""


@dataclass(frozen=True)
class FieldFill:
    """Where the new fields go in the data, as JSON pointers ("*": every item or value), and the
    values the schema no longer has (``dropped``, each where it is in the committed data)."""

    pointers: tuple[str, ...]
    dropped: tuple[str, ...] = ()

    def words(self) -> str:
        said = []
        if self.pointers:
            plural = "s" if len(self.pointers) > 1 else ""
            said.append(f"{', '.join(self.pointers)} filled from the schema's default{plural}")
        if self.dropped:
            said.append(f"{', '.join(self.dropped)} dropped (no longer in the schema)")
        if not said:
            return "no place in the data holds the new field, the data kept — no call"
        return f"{', '.join(said)}, the rest kept — no call"


@dataclass(frozen=True)
class FieldAsk:
    """Fields the model is asked for one by one, as JSON pointers, the committed answer kept around
    them (the rest of the data kept byte for byte): new required fields, or (``reasons``, one a
    pointer) values the schema now refuses. ``dropped``: values the schema no longer has."""

    pointers: tuple[str, ...]
    reasons: tuple[str, ...] = ()
    dropped: tuple[str, ...] = ()

    def words(self) -> str:
        calls = len(self.pointers)
        asked = f"{', '.join(self.pointers)} asked alone"
        if self.reasons:
            more = f", and {len(self.reasons) - 1} more" if len(self.reasons) > 1 else ""
            asked = f"{', '.join(self.pointers)} no longer valid ({self.reasons[0]}{more}): asked alone"
        if self.dropped:
            asked = f"{', '.join(self.dropped)} dropped (no longer in the schema); {asked}"
        return f"{asked}, the rest kept — {calls} call{'s' if calls > 1 else ''}"


def _escape(name: str) -> str:
    return name.replace("~", "~0").replace("/", "~1")


def _node(schema: Any, loc: tuple[str, ...]) -> Any:
    for key in loc:
        schema = schema[int(key)] if isinstance(schema, list) else schema[key]
    return schema


def _suffix(loc: tuple[str, ...]) -> str:
    """The data pointer of schema location ``loc`` (keys under one schema object)."""
    out, i = "", 0
    while i < len(loc):
        key = loc[i]
        if key == "properties":
            out, i = out + "/" + _escape(loc[i + 1]), i + 2
        elif key in _EACH:
            out, i = out + "/*", i + 1
        elif key in _SAME:
            i += 2
        elif key == "prefixItems":
            out, i = f"{out}/{loc[i + 1]}", i + 2
        else:
            raise FillRefused(f"a field under `{key}` has no place in the data to fill")
    return out


def _uses(schema: dict[str, Any], ref: str) -> list[str]:
    """The data pointers where ``schema`` uses the definition ``ref`` ("#/$defs/Item")."""
    found: list[str] = []

    def walk(node: Any, pointer: str, following: frozenset[str]) -> None:
        if not isinstance(node, dict):
            return
        target = node.get("$ref")
        if isinstance(target, str) and target.startswith("#/"):
            if target == ref:
                found.append(pointer)
            if target in following:
                raise FillRefused(f"`{target.rsplit('/', 1)[-1]}` holds itself: its depth is not known")
            walk(_node(schema, tuple(target[2:].split("/"))), pointer, following | {target})
        for name, sub in (node.get("properties") or {}).items():
            walk(sub, f"{pointer}/{_escape(name)}", following)
        for key in _EACH:
            walk(node.get(key), pointer + "/*", following)
        for key in _SAME:
            for sub in node.get(key) or ():
                walk(sub, pointer, following)
        for i, sub in enumerate(node.get("prefixItems") or ()):
            walk(sub, f"{pointer}/{i}", following)

    walk(schema, "", frozenset())
    return found


def _pointers(schema: dict[str, Any], at: tuple[str, ...]) -> list[str]:
    """Every data pointer of the field added at schema location ``at``."""
    if at[0] in ("$defs", "definitions"):
        bases = _uses(schema, f"#/{at[0]}/{at[1]}")
        return [base + _suffix(at[2:]) for base in bases]
    return [_suffix(at)]


@dataclass(frozen=True)
class _Added:
    """One field added to a schema: where it lands in the data, and what the schema says of it."""

    pointers: list[str]
    shown: str  # its pointers, or its name when no place in the data holds it
    required: bool
    has_default: bool


def _added(new_schema: dict[str, Any], added: Iterable[tuple[str, ...]]) -> list[_Added] | str:
    """Each field ``added`` to ``new_schema`` (where it is in the schema, as keys), or why one has
    no place in the data that can be known, in words."""
    found: list[_Added] = []
    for at in added:
        try:
            pointers = _pointers(new_schema, at)
        except FillRefused as exc:
            return str(exc)
        parent, name = _node(new_schema, at[:-2]), at[-1]
        required = name in (parent.get("required") or ())
        shown = ", ".join(pointers) or f"`{name}`"
        found.append(_Added(pointers, shown, required, "default" in _node(new_schema, at)))
    return found


def plan_fill(new_schema: dict[str, Any], added: Iterable[tuple[str, ...]]) -> FieldFill | str:
    """The fill of the fields ``added`` to ``new_schema`` (each where it is in the schema, as keys:
    ``("properties", "tags")``; each must have a default), or why there is none, in words (the
    fixture is then rebuilt). ``SchemaChange.at`` of a diff's additive changes says where."""
    fields = _added(new_schema, added)
    if isinstance(fields, str):
        return fields
    for f in fields:
        if f.required:
            return f"{f.shown} is required (no default in the schema)"
        if not f.has_default:
            return f"{f.shown} has no default in the schema"
    return FieldFill(tuple(sorted({p for f in fields for p in f.pointers})))


def plan_ask(new_schema: dict[str, Any], added: Iterable[tuple[str, ...]]) -> FieldAsk | str:
    """The asks of the required fields ``added`` to ``new_schema`` (none with a default), one
    request a field, or why they cannot be asked alone, in words (the fixture is then rebuilt):
    a field inside array items or map values (``/items/*/x``) would be one request an item."""
    fields = _added(new_schema, added)
    if isinstance(fields, str):
        return fields
    for f in fields:
        if f.has_default:
            return f"{f.shown} has a default, and another new field has none"
        if not f.required:
            return f"{f.shown} has no default in the schema"
        if not f.pointers:
            return f"{f.shown} has no place in the data"
        if any("*" in pointer.split("/") for pointer in f.pointers):
            return f"{f.shown} is required (no default in the schema), once in every item (not asked item by item)"
    return FieldAsk(tuple(sorted({p for f in fields for p in f.pointers})))


def _places(data: Any, parts: list[str]) -> Iterator[tuple[dict[str, Any], str]]:
    """Each (object, key) pointer ``parts`` reaches in ``data`` ("*": every item or value)."""
    head, rest = parts[0], parts[1:]
    if head == "*":
        children = data if isinstance(data, list) else list(data.values()) if isinstance(data, dict) else []
    elif isinstance(data, dict):
        if not rest:
            yield data, head
            return
        children = [data[head]] if head in data else []
    elif isinstance(data, list) and head.isdigit() and int(head) < len(data):
        children = [data[int(head)]]
    else:
        children = []
    for child in children:
        if rest:
            yield from _places(child, rest)


def _default_at_fault(error: str, pointers: tuple[str, ...]) -> str | None:
    """The pointer of ``pointers`` (each a new field, "*" any item) that ``error`` (``"at
    items/0/note: ..."``) is at, or None: what was filled from a default is what fails."""
    where = error.removeprefix("at ").split(": ", 1)[0].split("/")
    for pointer in pointers:
        parts = pointer.split("/")[1:]
        if len(parts) == len(where) and all(p in ("*", w) for p, w in zip(parts, where, strict=True)):
            return pointer
    return None


def first_change(before: Any, after: Any, at: str = "") -> str:
    """Where ``after`` first differs from ``before``, and how: ``"/mood: added"``.

    >>> first_change({"a": [1, 2]}, {"a": [1, 3], "b": 0})
    '/a/1: changed'
    """
    if isinstance(before, dict) and isinstance(after, dict):
        for key in sorted({*before, *after}):
            where = f"{at}/{_escape(key)}"
            if key not in before:
                return f"{where}: added"
            if key not in after:
                return f"{where}: removed"
            if canonical_json(before[key]) != canonical_json(after[key]):
                return first_change(before[key], after[key], where)
    elif isinstance(before, list) and isinstance(after, list) and len(before) == len(after):
        for i, (was, now) in enumerate(zip(before, after, strict=True)):
            if canonical_json(was) != canonical_json(now):
                return first_change(was, now, f"{at}/{i}")
    return f"{at or '/'}: changed"  # no value quoted: a reason may be kept in a record


def fill_data(adapter: SchemaAdapter[Any], raw: bytes, fill: FieldFill, secrets: Sequence[str] = ()) -> bytes:
    """``raw`` (committed data) with the new fields filled from the defaults of ``adapter``'s schema,
    serialized as a fixture is; ``FillRefused`` when anything else would change, or when a default
    holds one of ``secrets`` (a build refuses such a value too)."""
    kept = raw
    try:
        before = json.loads(raw)
        kept = raw if not fill.dropped else canonical_json(without(before, fill.dropped))
        value = adapter.validate_json(kept)
        filled = canonical_json(adapter.to_data(value))
    except Exception as exc:  # pydantic, a from_json, or the JSON itself: each says what is wrong
        # in pydantic's own words an error quotes the value (``input_value=...``), on several
        # lines: a reason is one line, kept in a record, and quotes no value
        said = adapter.errors_for(kept) if isinstance(exc, ValidationError) else []
        raise FillRefused(
            f"the data does not validate under the new schema: {said[0] if said else type(exc).__name__}"
        ) from None
    errors = adapter.errors_for(filled)
    if errors:
        culprit = _default_at_fault(errors[0], fill.pointers)
        if culprit is not None:  # pydantic does not check a default: the schema is to blame
            raise FillRefused(
                f"the schema's default of {culprit} does not meet the field's own constraints "
                f"({errors[0]}): fix the default"
            )
        raise FillRefused(f"the filled data does not validate: {errors[0]}")
    where = secret_at(json.loads(filled), secrets)
    if where is not None:
        raise FillRefused(
            f"the schema's default of {where} holds a secret value (not shown): a default must hold no key or token"
        )
    rest = without(json.loads(filled), fill.pointers)
    before = without(before, fill.dropped)
    if canonical_json(rest) != canonical_json(before):
        changed = "the new fields" if not fill.dropped else "the fields it no longer has"
        raise FillRefused(
            f"validating the data under the new schema changes more than {changed} "
            f"(at {first_change(before, rest)})"
        )
    return filled


def without(data: Any, pointers: Iterable[str]) -> Any:
    """A copy of ``data`` without the values at ``pointers`` ("*": every item or value)."""
    rest = copy.deepcopy(data)
    for pointer in pointers:
        parts = [p.replace("~1", "/").replace("~0", "~") for p in pointer.split("/")[1:]]
        for holder, key in list(_places(rest, parts)):
            holder.pop(key, None)
    return rest
