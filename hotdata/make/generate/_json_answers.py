"""Asking a model in JSON: the schema it is asked with, the fields described in words, and
the JSON found in its answer (or where a cut-off answer stopped).

Used by both paths of the generate stage: the structured one (``_ask``, one object under a
schema) and the prose one (``_write``, whose structure is decoded apart from its prose).
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Mapping
from typing import Any

from .._json_schema import is_shaped, resolve_ref

__all__ = ["ARRAY_CAP", "TEXT_CAP", "extract_json", "field_guide", "open_pointer", "schema_for_model"]

_FENCE = re.compile(r"```(?:json|JSON)?\s*\n?(.*?)```", re.DOTALL)
# Arrays without a bound are asked for with at most this many items (halved after a cut-off).
ARRAY_CAP = 8
# Strings without a bound are asked for with at most this many characters.
TEXT_CAP = 400


def extract_json(text: str) -> str:
    """The first JSON value in a model answer: tolerates code fences, prose around it, and a
    second value after it (the first one is taken)."""
    fenced = _FENCE.search(text)
    candidates = [fenced.group(1)] if fenced and text.strip()[:1] not in "{[" else []
    candidates.append(text)
    for candidate in candidates:
        starts = [i for i in (candidate.find("{"), candidate.find("[")) if i >= 0]
        if not starts:
            continue
        start = min(starts)
        try:
            _, end = json.JSONDecoder().raw_decode(candidate, start)
        except (ValueError, RecursionError):  # nested too deep to parse: validation says so
            continue
        return candidate[start:end]
    stripped = text.strip()
    if fenced:
        return fenced.group(1).strip()
    starts = [i for i in (stripped.find("{"), stripped.find("[")) if i >= 0]
    return stripped[min(starts) :] if starts else stripped


def schema_for_model(json_schema: Mapping[str, Any], array_cap: int = ARRAY_CAP) -> dict[str, Any]:
    """The schema to ask with: what it describes, not what it merely tolerates.

    Objects are closed (no invented keys), and arrays without ``maxItems`` and free
    strings without ``maxLength`` get one, so a small model cannot run away inside an
    endless list or text. Optional fields are
    settled for the model: an optional text (``str | None``) is asked for as text —
    left nullable, a model answers ``null`` everywhere, as the cheapest valid
    answer — and other optional fields are left out (their defaults apply).
    Validation still uses the real schema.
    """
    schema = copy.deepcopy(dict(json_schema))

    def resolve(node: Any) -> Any:
        return resolve_ref(schema, node)

    def optional_text(node: Any) -> dict[str, Any] | None:
        if isinstance(node, dict) and node.get("type") == "string" and not is_shaped(node):
            return {k: v for k, v in node.items() if k != "default"}  # a plain optional text
        options = node.get("anyOf") if isinstance(node, dict) else None
        if not options:
            return None
        kinds = [resolve(o) for o in options if resolve(o).get("type") != "null"]
        if len(kinds) == 1 and kinds[0].get("type") == "string" and "enum" not in kinds[0]:
            return {k: v for k, v in {**node, **kinds[0]}.items() if k not in ("anyOf", "default")}
        return None

    def visit(node: Any) -> None:
        if isinstance(node, dict):
            properties = node.get("properties")
            if properties:
                required = list(node.get("required", []))
                for name in list(properties):
                    if name in required:
                        continue
                    text = optional_text(properties[name])
                    if text is not None:
                        properties[name] = text
                        required.append(name)
                    else:
                        del properties[name]
                node["required"] = required
                if node.get("additionalProperties") is not False:
                    node["additionalProperties"] = False
            if node.get("type") == "array" and "maxItems" not in node:
                node["maxItems"] = max(array_cap, int(node.get("minItems", 0)))
            if node.get("type") == "string" and "maxLength" not in node and not is_shaped(node):
                node["maxLength"] = max(TEXT_CAP, int(node.get("minLength", 0)))  # no endless text
            for value in node.values():
                visit(value)
        elif isinstance(node, list):
            for value in node:
                visit(value)

    visit(schema)
    return schema


def open_pointer(text: str) -> str:
    """The JSON pointer of the innermost value still open where ``text`` ends (a cut-off answer)."""
    path: list[str | int] = []
    kinds: list[str] = []  # "{" or "[" per open container
    expecting_key = False
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            token = text[i + 1 : j]
            if kinds and kinds[-1] == "{" and expecting_key:
                try:
                    path[-1] = json.loads(f'"{token}"')
                except ValueError:
                    path[-1] = token
                expecting_key = False
            i = j + 1
            continue
        if ch in "{[":
            kinds.append(ch)
            path.append("" if ch == "{" else 0)
            expecting_key = ch == "{"
        elif ch in "}]":
            if kinds:
                kinds.pop()
                path.pop()
        elif ch == ",":
            if kinds and kinds[-1] == "[":
                path[-1] = int(path[-1]) + 1
            elif kinds:
                expecting_key = True
        i += 1
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in path if p != "") or "/"


def field_guide(schema: Mapping[str, Any], limit: int = 25) -> str:
    """What the schema says about its fields, in lines a model reads (descriptions, formats, enums,
    bounds): for models that decode under the schema without reading its descriptions."""
    lines: list[str] = []

    def resolve(node: Any) -> Any:
        return resolve_ref(schema, node)

    def visit(node: Any, path: str, depth: int) -> None:
        node = resolve(node)
        if not isinstance(node, Mapping) or len(lines) >= limit or depth > 3:
            return
        for key in ("anyOf", "oneOf"):
            for option in node.get(key, []):
                if resolve(option).get("type") != "null":
                    visit(option, path, depth + 1)
        notes = []
        leaf = path.rsplit(".", 1)[-1]
        if node.get("type") == "integer" and (leaf in ("created", "timestamp") or leaf.endswith("_at")):
            notes.append("a Unix timestamp in seconds, such as 1767225600")  # not a year
        if node.get("description"):
            notes.append(str(node["description"]).strip().rstrip("."))
        if node.get("format"):
            notes.append(f"format {node['format']}")
        if node.get("enum"):
            notes.append("one of " + ", ".join(json.dumps(v) for v in node["enum"][:8]))
        for bound, word in (
            ("minimum", ">="),
            ("maximum", "<="),
            ("maxLength", "at most"),
            ("minItems", "at least"),
        ):
            if bound in node:
                unit = " characters" if bound == "maxLength" else " items" if bound == "minItems" else ""
                notes.append(f"{word} {node[bound]}{unit}")
        if notes and path:
            lines.append(f"- {path}: {'; '.join(notes)}")
        for name, sub in (node.get("properties") or {}).items():
            visit(sub, f"{path}.{name}" if path else name, depth + 1)
        if "items" in node:
            visit(node["items"], f"{path}[]", depth + 1)

    visit(schema, "", 0)
    return "\n".join(lines[:limit])
