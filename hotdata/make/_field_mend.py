"""A breaking schema change met field by field: what the committed data fails at is asked again alone.

A fixture's own schema changed so that its committed data no longer validates (a tightened
``max_length`` the text exceeds, a changed type, a renamed or newly required field), or so that
it has values the schema no longer holds (a removed field). The data is validated under the new
schema, and each error is placed at the JSON pointer it is at (``failing_fields``):

* a value the schema no longer holds (``extra_forbidden``, or a key the serializer leaves out)
  is dropped, no call;
* a value the schema now refuses, or a field it now requires, is asked again alone (one request
  a pointer, ``generate._ask``), the rest kept byte for byte.

A required field inside array items is asked item by item (``/items/0/note``, ``/items/1/note``).
A fixture whose data fails as a whole (the root, a pointer the schema does not describe, more
fields than ``MAX_MENDED``) is rebuilt, with why.

>>> from .._schema import SchemaAdapter
>>> from pydantic import BaseModel, Field
>>> class Card(BaseModel):
...     title: str = Field(max_length=5)
...     body: str
>>> plan_mend(SchemaAdapter(Card), b'{"body": "ok", "title": "too long"}').words()
'/title no longer valid (at /title: String should have at most 5 characters): asked alone, the rest kept — 1 call'
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import ValidationError

from .._schema import SchemaAdapter, canonical_json
from ._field_change import FieldAsk, FieldFill, FillRefused, fill_data, first_change, without
from .quality._gates import check_value
from .quality._leaves import schema_for_pointer
from .quality._settings import QualityContext, QualitySettings

__all__ = ["MAX_MENDED", "failing_fields", "fails_beyond", "gated_anew", "plan_mend"]

# More failing fields than this and the fixture is rebuilt: one answer is then cheaper than many.
MAX_MENDED = 8


def _escape(step: object) -> str:
    return str(step).replace("~", "~0").replace("/", "~1")


def _deepest(data: Any, loc: Sequence[object]) -> str:
    """The pointer of the deepest place of ``loc`` that is in ``data``: pydantic puts a union's
    member (``int``, ``function-after[...]``) in an error's location after the field's key."""
    pointer, node = "", data
    for step in loc:
        if isinstance(node, dict) and isinstance(step, str) and step in node:
            node = node[step]
        elif isinstance(node, list) and isinstance(step, int) and 0 <= step < len(node):
            node = node[int(step)]
        else:
            break
        pointer += "/" + _escape(step)
    return pointer


def failing_fields(adapter: SchemaAdapter[Any], raw: bytes) -> tuple[dict[str, str], list[str]] | str:
    """Where ``raw`` fails ``adapter``'s schema, field by field: each pointer with pydantic's
    message ("" for a field it lacks), in the schema's order, and the pointers of keys the schema
    forbids; or why it cannot be taken field by field, in words (no value of the data quoted)."""
    try:
        data = json.loads(raw)
        adapter.validate_json(raw)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
    except ValueError as exc:
        return f"the data is not JSON the schema can read ({type(exc).__name__})"
    else:
        return {}, []
    fields: dict[str, str] = {}
    extra: list[str] = []
    for error in errors:
        loc, kind = error["loc"], error["type"]
        if kind == "missing":
            parent = _deepest(data, loc[:-1])
            pointer = f"{parent}/{_escape(loc[-1])}"
            if parent.count("/") != len(loc) - 1:
                return f"{pointer} is required where the data has no place for it"
            fields.setdefault(pointer, "")  # inside array items too: asked item by item
            continue
        pointer = _deepest(data, loc)
        if not pointer:
            return f"the data as a whole does not meet it ({error['msg']})"
        if kind == "extra_forbidden":
            extra.append(pointer)
        else:
            fields.setdefault(pointer, error["msg"])
    # a field inside one asked again is asked with it
    fields = {p: m for p, m in fields.items() if not any(p.startswith(o + "/") for o in fields)}
    return fields, extra


def fails_beyond(adapter: SchemaAdapter[Any], raw: bytes, ask: FieldAsk | None) -> bool:
    """Whether committed ``raw`` fails ``adapter``'s schema at more than the new required fields
    ``ask`` plans (None: any field) or has keys the schema forbids: a field added beside a change
    the data does not meet, which only ``plan_mend`` plans whole. Data that cannot be taken field
    by field is left to the plan as it was (it says why it is rebuilt)."""
    found = failing_fields(adapter, raw)
    if isinstance(found, str):
        return False
    fields, extra = found
    return bool(extra) or not set(fields) <= set(() if ask is None else ask.pointers)


def plan_mend(
    adapter: SchemaAdapter[Any], raw: bytes, secrets: Sequence[str] = ()
) -> FieldAsk | FieldFill | str | None:
    """How committed ``raw`` meets ``adapter``'s schema after a breaking change: None when it does
    as it is (kept, no call), a ``FieldFill`` that drops the values the schema no longer has (no
    call), a ``FieldAsk`` of the fields it fails at (one call each), or why it is rebuilt."""
    found = failing_fields(adapter, raw)
    if isinstance(found, str):
        return found
    fields, extra = found
    if fields:
        if len(fields) > MAX_MENDED:
            return f"{len(fields)} fields to ask alone (more than {MAX_MENDED}: one whole answer is cheaper)"
        asked = adapter.json_schema()
        for pointer in fields:
            if asked is None or not schema_for_pointer(asked, pointer):
                return f"{pointer} no longer valid, and the schema does not describe it alone"
        reasons = tuple(f"at {p}: {m}" for p, m in fields.items() if m)
        return FieldAsk(tuple(fields), reasons, tuple(extra))
    before = json.loads(raw)
    value = adapter.validate_json(raw if not extra else canonical_json(without(before, extra)))
    after = json.loads(canonical_json(adapter.to_data(value)))
    if not extra and canonical_json(after) == canonical_json(before):
        return None
    dropped = tuple(sorted({*extra, *_left_out(before, after)}))
    if not dropped:
        return f"the data changes when written under the new schema (at {first_change(before, after)})"
    fill = FieldFill(tuple(sorted(_left_out(after, before))), dropped)  # and new fields' defaults
    try:
        fill_data(adapter, raw, fill, secrets)
    except FillRefused as exc:
        return str(exc)
    return fill


def _left_out(before: Any, after: Any, at: str = "") -> list[str]:
    """The pointers of the keys ``before`` has and ``after`` (the data as the new schema writes
    it) does not."""
    if isinstance(before, dict) and isinstance(after, dict):
        gone = [f"{at}/{_escape(k)}" for k in before if k not in after]
        return gone + [
            p for k in before if k in after for p in _left_out(before[k], after[k], f"{at}/{_escape(k)}")
        ]
    if isinstance(before, list) and isinstance(after, list) and len(before) == len(after):
        return [
            p
            for i, (b, a) in enumerate(zip(before, after, strict=True))
            for p in _left_out(b, a, f"{at}/{i}")
        ]
    return []


def gated_anew(
    raw: bytes, quality: QualitySettings, old: Mapping[str, Any], new: Mapping[str, Any]
) -> FieldAsk | None:
    """The fields of valid committed ``raw`` the quality gates refuse under JSON Schema ``new`` and
    did not under ``old`` (a text now exactly at a tightened ``maxLength`` reads as cut off), to
    be asked alone; None when there are none (or more than ``MAX_MENDED``: then kept, as valid).
    Both runs see the same context, so only what the schema changed can differ."""
    data = json.loads(raw)
    then = {(p.pointer, p.check) for p in check_value(data, quality, QualityContext(json_schema=old))}
    now = [
        p
        for p in check_value(data, quality, QualityContext(json_schema=new))
        if (p.pointer, p.check) not in then
    ]
    fields = dict.fromkeys(p.pointer for p in now if p.pointer)
    if not fields or len(fields) > MAX_MENDED or len(fields) < len({p.pointer for p in now}):
        return None
    checks = {p.pointer: p.check for p in now}
    reasons = tuple(f"at {p}: the {checks[p]} gate refuses it under the new schema" for p in fields)
    return FieldAsk(tuple(fields), reasons)
