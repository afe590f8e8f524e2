"""The string leaves of a JSON value, each with its RFC 6901 pointer and the schema that governs it.

>>> list(iter_strings({"a/b": ["x", {"c~d": "y"}]}))
[('/a~1b/0', 'x'), ('/a~1b/1/c~0d', 'y')]
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from .._json_schema import ref_target

__all__ = ["Leaf", "as_json", "iter_strings", "schema_for_pointer", "walk"]


# ---------------------------------------------------------------- walking the data


def _escape(segment: str) -> str:
    return segment.replace("~", "~0").replace("/", "~1")


def as_json(data: Any) -> Any:
    # pydantic models (the openai SDK's among them) are checked as the JSON they dump to.
    return data.model_dump(mode="json") if isinstance(data, BaseModel) else data


def iter_strings(data: Any) -> Iterator[tuple[str, str]]:
    """Every string leaf of ``data`` as ``(json_pointer, text)``, in document order."""
    for leaf in walk(as_json(data), None):
        yield leaf.pointer, leaf.text


@dataclass
class Leaf:
    pointer: str
    text: str
    key: str  # the last object key above the leaf ("" at the top)
    group: tuple[str, str] | None  # (innermost array's pointer, path inside its item)
    schemas: list[Mapping[str, Any]]


def walk(data: Any, root_schema: Mapping[str, Any] | None) -> Iterator[Leaf]:
    # Iterative depth-first walk (deep values must not hit the recursion limit).
    top = _expand(root_schema, root_schema, 0) if root_schema else []
    stack: list[tuple[Any, str, str, tuple[str, str] | None, list[Mapping[str, Any]]]]
    stack = [(data, "", "", None, top)]
    while stack:
        value, pointer, key, group, schemas = stack.pop()
        if isinstance(value, str):
            yield Leaf(pointer, value, key, group, schemas)
        elif isinstance(value, Mapping):
            for k in reversed(list(value)):
                seg = _escape(str(k))
                sub = _child(root_schema, schemas, str(k))
                inner = (group[0], f"{group[1]}/{seg}") if group else None
                stack.append((value[k], f"{pointer}/{seg}", str(k), inner, sub))
        elif isinstance(value, list | tuple):
            for i in reversed(range(len(value))):
                sub = _child(root_schema, schemas, i)
                stack.append((value[i], f"{pointer}/{i}", key, (pointer, ""), sub))


# ---------------------------------------------------------------- JSON Schema lookup


def _expand(root: Mapping[str, Any] | None, schema: Any, depth: int) -> list[Mapping[str, Any]]:
    """The concrete alternatives of ``schema``: $ref followed, anyOf/oneOf/allOf flattened."""
    if root is None or not isinstance(schema, Mapping) or depth > 32:
        return []
    if "$ref" in schema:
        target = ref_target(root, str(schema["$ref"]))
        siblings = {k: v for k, v in schema.items() if k != "$ref"}
        return _expand(root, {**target, **siblings}, depth + 1) if target is not None else []
    branches = [b for key in ("anyOf", "oneOf", "allOf") for b in schema.get(key, ())]
    if not branches:
        return [schema]
    own = {k: v for k, v in schema.items() if k not in ("anyOf", "oneOf", "allOf")}
    return [s for b in branches for s in _expand(root, {**own, **b}, depth + 1)]


def _child(root: Mapping[str, Any] | None, schemas: list[Mapping[str, Any]], step: str | int) -> list[Any]:
    found: list[Any] = []
    for schema in schemas:
        if isinstance(step, int):
            prefix = schema.get("prefixItems")
            if isinstance(prefix, list) and step < len(prefix):
                found.append(prefix[step])
            elif isinstance(schema.get("items"), Mapping):
                found.append(schema["items"])
        elif step in schema.get("properties", {}):
            found.append(schema["properties"][step])
        elif isinstance(schema.get("additionalProperties"), Mapping):
            found.append(schema["additionalProperties"])
    return [s for f in found for s in _expand(root, f, 0)]


def schema_for_pointer(json_schema: Mapping[str, Any], pointer: str) -> list[Mapping[str, Any]]:
    """The schema alternatives that describe the value at ``pointer`` (empty when unknown)."""
    schemas = _expand(json_schema, json_schema, 0)
    for raw in pointer.split("/")[1:] if pointer else []:
        seg = raw.replace("~1", "/").replace("~0", "~")
        schemas = _child(json_schema, schemas, int(seg) if seg.isdigit() else seg)
    return schemas
