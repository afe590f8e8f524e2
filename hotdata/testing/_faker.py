"""Deterministic schema-valid JSON from a JSON Schema: the answers of the test doubles."""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import Any

__all__ = ["fake_from_schema"]

_WORDS = [
    "amber",
    "lattice",
    "quiet",
    "signal",
    "drift",
    "harbor",
    "ember",
    "vector",
    "meadow",
    "cipher",
    "lantern",
    "orbit",
    "thread",
    "mosaic",
    "tide",
    "summit",
    "echo",
    "prism",
    "willow",
    "circuit",
    "compass",
    "delta",
    "fable",
    "garnet",
]


def _text(rng: random.Random, min_len: int, max_len: int) -> str:
    words = []
    length = 0
    target = rng.randint(min_len, max(min_len, min(max_len, 60)))
    while length < target:
        word = rng.choice(_WORDS)
        words.append(word)
        length += len(word) + 1
    text = " ".join(words)[:max_len]
    return text.ljust(min_len, "x")


class _Faker:
    def __init__(self, root: Mapping[str, Any], rng: random.Random) -> None:
        self.defs: Mapping[str, Any] = root.get("$defs", root.get("definitions", {}))
        self.rng = rng

    def value(self, schema: Mapping[str, Any], depth: int = 0) -> Any:
        rng = self.rng
        if "$ref" in schema:
            return self.value(self.defs[schema["$ref"].rsplit("/", 1)[-1]], depth + 1)
        if "const" in schema:
            return schema["const"]
        if "enum" in schema:
            return rng.choice(list(schema["enum"]))
        for key in ("anyOf", "oneOf"):
            if key in schema:
                options = [s for s in schema[key] if s.get("type") != "null"] or schema[key]
                return self.value(options[0] if depth > 6 else rng.choice(options), depth + 1)
        if "allOf" in schema:
            merged: dict[str, Any] = {}
            for part in schema["allOf"]:
                merged.update(part)
            return self.value(merged, depth + 1)
        kind = schema.get("type", "object" if "properties" in schema else "string")
        if isinstance(kind, list):
            kind = next((k for k in kind if k != "null"), "null")
        if kind == "object":
            props: Mapping[str, Any] = schema.get("properties", {})
            required = set(schema.get("required", props))
            return {k: self.value(v, depth + 1) for k, v in props.items() if k in required or depth < 4}
        if kind == "array":
            lo = int(schema.get("minItems", 1 if depth < 4 else 0))
            hi = int(schema.get("maxItems", max(lo, 3)))
            items = schema.get("items", {"type": "string"})
            if "prefixItems" in schema:
                return [self.value(s, depth + 1) for s in schema["prefixItems"]]
            return [self.value(items, depth + 1) for _ in range(rng.randint(lo, max(lo, min(hi, lo + 3))))]
        if kind == "string":
            fmt = schema.get("format")
            if fmt == "date-time":
                return (
                    f"2026-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}T{rng.randint(0, 23):02d}:00:00Z"
                )
            if fmt == "date":
                return f"2026-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
            return _text(rng, int(schema.get("minLength", 3)), int(schema.get("maxLength", 80)))
        if kind in ("integer", "number"):
            lo = schema.get("minimum", schema.get("exclusiveMinimum", 0))
            hi = schema.get("maximum", schema.get("exclusiveMaximum", lo + 100))
            if kind == "integer":
                lo_i = int(lo) + (1 if "exclusiveMinimum" in schema else 0)
                hi_i = int(hi) - (1 if "exclusiveMaximum" in schema else 0)
                return rng.randint(lo_i, max(lo_i, hi_i))
            value = round(rng.uniform(float(lo), float(hi)), 3)
            return min(max(value, float(lo)), float(hi))
        if kind == "boolean":
            return rng.random() < 0.5
        return None


def fake_from_schema(schema: Mapping[str, Any], seed: int | str = 0) -> Any:
    """A value valid for ``schema`` (the common JSON Schema subset pydantic emits).

    The same schema and seed always give the same value.
    """
    return _Faker(schema, random.Random(str(seed))).value(schema)
