"""Deterministic schema-valid JSON from a JSON Schema: the answers of the test doubles.

``fake_from_schema(schema, seed)`` covers the JSON Schema pydantic emits: objects
(``properties``, ``required``, ``additionalProperties``, ``propertyNames``), arrays
(``items``, ``prefixItems``, ``minItems``/``maxItems``, ``uniqueItems``), strings
(``minLength``/``maxLength``, ``format`` — uuid, email, uri, date, date-time, time,
duration, ip addresses, base64 and more — ``pattern``, JSON in a string), numbers
(``minimum``/``maximum``, their exclusive forms, ``multipleOf``), ``const``, ``enum``,
``anyOf``/``oneOf`` (discriminated unions included), ``allOf``, and ``$ref`` anywhere
in the document (nested ``$defs``; recursive models end in finite trees).

A ``pattern`` is honoured by a small generator for the common regex subset (``_pattern``).

Strings read like words from a small vocabulary, never random code points, and the
same schema and seed always give the same value.
"""

from __future__ import annotations

import base64
import json
import random
import uuid
from collections.abc import Callable, Mapping
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Any
from urllib.parse import unquote

from ._pattern import matching_string

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

# Containers entered before the faker stops adding optional content; past _LEAN_DEPTH only
# what the schema requires is generated, so recursive models end in finite trees.
_RICH_DEPTH = 4
_LEAN_DEPTH = 8
# A $ref already open this many times on the current path is expanded leanly.
_MAX_REF_REPEATS = 2
# Past this depth the schema has no finite instance (recursion through required fields).
_MAX_DEPTH = 64


def _text(rng: random.Random, min_len: int, max_len: int) -> str:
    """Words from the vocabulary, between ``min_len`` and ``max_len`` characters."""
    max_len = max(max_len, min_len)
    target = rng.randint(min_len, max(min_len, min(max_len, 60)))
    words: list[str] = []
    while len(" ".join(words)) < max(target, 1):
        words.append(rng.choice(_WORDS))
    text = " ".join(words)
    if len(text) > max_len:
        text = text[:max_len]
        # end on a whole word when that still leaves enough characters
        space = text.rfind(" ")
        if space >= max(min_len, 1):
            text = text[:space]
    if len(text) < min_len:
        text = text.rstrip() + "x" * (min_len - len(text.rstrip()))
    if text.endswith(" "):
        text = text[:-1] + "s"
    return text


# -- regex → a matching string ----------------------------------------------------------

# -- formats ------------------------------------------------------------------------------


def _date(rng: random.Random) -> str:
    return f"{rng.randint(2019, 2026)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"


def _time(rng: random.Random) -> str:
    return f"{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}"


def _duration(rng: random.Random) -> str:
    return f"P{rng.randint(0, 30)}DT{rng.randint(0, 23)}H{rng.randint(0, 59)}M{rng.randint(0, 59)}S"


def _uuid(version: int) -> Callable[[random.Random], str]:
    return lambda rng: str(uuid.UUID(int=rng.getrandbits(128), version=version))


def _email(rng: random.Random) -> str:
    return f"{rng.choice(_WORDS)}.{rng.choice(_WORDS)}@{rng.choice(_WORDS)}.example.com"


def _uri(rng: random.Random) -> str:
    return f"https://{rng.choice(_WORDS)}.example.com/{rng.choice(_WORDS)}/{rng.choice(_WORDS)}"


def _ipv4(rng: random.Random) -> str:
    return f"10.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"


def _ipv6(rng: random.Random) -> str:
    return f"fd00::{rng.randint(1, 0xFFFF):x}:{rng.randint(1, 0xFFFF):x}"


def _base64(rng: random.Random) -> str:
    return base64.b64encode(_text(rng, 3, 30).encode()).decode()


_FORMATS: dict[str, Callable[[random.Random], str]] = {
    "date": _date,
    "date-time": lambda rng: f"{_date(rng)}T{_time(rng)}Z",
    "time": _time,
    "duration": _duration,
    "uuid": _uuid(4),
    "uuid1": _uuid(1),
    "uuid3": _uuid(3),
    "uuid4": _uuid(4),
    "uuid5": _uuid(5),
    "email": _email,
    "idn-email": _email,
    "name-email": lambda rng: f"{rng.choice(_WORDS).capitalize()} <{_email(rng)}>",
    "uri": _uri,
    "iri": _uri,
    "uri-reference": lambda rng: f"/{rng.choice(_WORDS)}/{rng.choice(_WORDS)}",
    "hostname": lambda rng: f"{rng.choice(_WORDS)}.example.com",
    "ipv4": _ipv4,
    "ipv6": _ipv6,
    "ipvanyaddress": _ipv4,
    "ipv4network": lambda rng: f"10.{rng.randint(0, 255)}.0.0/16",
    "ipv6network": lambda rng: f"fd00:{rng.randint(1, 0xFFFF):x}::/32",
    "ipvanynetwork": lambda rng: f"10.{rng.randint(0, 255)}.0.0/16",
    "ipv4interface": lambda rng: f"{_ipv4(rng)}/24",
    "ipv6interface": lambda rng: f"{_ipv6(rng)}/64",
    "ipvanyinterface": lambda rng: f"{_ipv4(rng)}/24",
    "base64": _base64,
    "byte": _base64,
    "base64url": lambda rng: base64.urlsafe_b64encode(_text(rng, 3, 30).encode()).decode(),
}


# -- the faker ----------------------------------------------------------------------------


def _lower_bound(schema: Mapping[str, Any]) -> tuple[Decimal | None, bool]:
    """The tighter of ``minimum`` and ``exclusiveMinimum``, and whether it is exclusive."""
    inclusive = schema.get("minimum")
    exclusive = schema.get("exclusiveMinimum")
    if isinstance(exclusive, bool):  # draft 4: a flag on minimum
        return (None if inclusive is None else Decimal(str(inclusive))), exclusive
    if exclusive is not None and (inclusive is None or exclusive >= inclusive):
        return Decimal(str(exclusive)), True
    return (None if inclusive is None else Decimal(str(inclusive))), False


def _upper_bound(schema: Mapping[str, Any]) -> tuple[Decimal | None, bool]:
    inclusive = schema.get("maximum")
    exclusive = schema.get("exclusiveMaximum")
    if isinstance(exclusive, bool):
        return (None if inclusive is None else Decimal(str(inclusive))), exclusive
    if exclusive is not None and (inclusive is None or exclusive <= inclusive):
        return Decimal(str(exclusive)), True
    return (None if inclusive is None else Decimal(str(inclusive))), False


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


def _is_null(schema: Any) -> bool:
    return isinstance(schema, Mapping) and schema.get("type") == "null"


def _decimal_branch(options: list[Any]) -> Mapping[str, Any] | None:
    """The number branch of ``anyOf: [number, string]``, the way pydantic shows a Decimal.

    ``max_digits`` and ``decimal_places`` never reach the schema, so a whole number from
    the number branch is the answer that satisfies them (and a plain ``float | str``).
    """
    if len(options) != 2 or not all(isinstance(o, Mapping) for o in options):
        return None
    number: Mapping[str, Any] | None = next((o for o in options if o.get("type") == "number"), None)
    text: Mapping[str, Any] | None = next((o for o in options if o.get("type") == "string"), None)
    if number is None or text is None or set(text) - {"type", "title", "description"}:
        return None
    return number


def _merge(parts: list[Mapping[str, Any]]) -> dict[str, Any]:
    """``allOf`` as one schema: later keywords win, properties and required add up."""
    merged: dict[str, Any] = {}
    for part in parts:
        for key, value in part.items():
            if key == "properties":
                merged["properties"] = {**merged.get("properties", {}), **value}
            elif key == "required":
                merged["required"] = [*merged.get("required", []), *value]
            else:
                merged[key] = value
    return merged


class _Faker:
    def __init__(self, root: Mapping[str, Any], rng: random.Random) -> None:
        self.root = root
        self.rng = rng
        self.open_refs: list[str] = []
        self.defs_by_name: dict[str, Any] = {}
        self._index_defs(root)

    def _index_defs(self, node: Any) -> None:
        # a fallback for refs whose pointer does not resolve: definitions by their own name
        if isinstance(node, Mapping):
            for key in ("$defs", "definitions"):
                defs = node.get(key)
                if isinstance(defs, Mapping):
                    for name, schema in defs.items():
                        self.defs_by_name.setdefault(name, schema)
            for child in node.values():
                self._index_defs(child)
        elif isinstance(node, list):
            for child in node:
                self._index_defs(child)

    def resolve(self, ref: str) -> Mapping[str, Any]:
        node: Any = self.root
        if ref.startswith("#"):
            try:
                for part in filter(None, ref[1:].split("/")):
                    node = node[unquote(part).replace("~1", "/").replace("~0", "~")]
                if isinstance(node, Mapping):
                    return node
            except (KeyError, TypeError):
                pass
        name = unquote(ref.rsplit("/", 1)[-1])
        if name in self.defs_by_name:
            found: Mapping[str, Any] = self.defs_by_name[name]
            return found
        raise ValueError(f"cannot resolve $ref {ref!r}: no such definition in the schema")

    def value(self, schema: Mapping[str, Any] | bool, depth: int = 0, lean: bool = False) -> Any:
        if depth > _MAX_DEPTH:
            raise ValueError("the schema has no finite instance: it recurses through required fields")
        if schema is True or schema is False or not isinstance(schema, Mapping):
            return _text(self.rng, 3, 12)
        lean = lean or depth >= _LEAN_DEPTH
        if "$ref" in schema:
            return self._ref(schema, depth, lean)
        if "const" in schema:
            return schema["const"]
        if "enum" in schema:
            return self.rng.choice(list(schema["enum"]))
        if "allOf" in schema:
            rest = {k: v for k, v in schema.items() if k != "allOf"}
            return self.value(_merge([*schema["allOf"], rest]), depth, lean)
        for key in ("oneOf", "anyOf"):
            if key in schema:
                return self._union(schema, schema[key], depth, lean)
        kind = schema.get("type")
        if isinstance(kind, list):
            kinds = [k for k in kind if k != "null"]
            kind = ("null" if lean and "null" in kind else None) or (
                self.rng.choice(kinds) if kinds else "null"
            )
        if kind is None:
            if "properties" in schema or "additionalProperties" in schema:
                kind = "object"
            elif "items" in schema or "prefixItems" in schema:
                kind = "array"
            else:
                kind = "string"
        if kind == "object":
            return self._object(schema, depth, lean)
        if kind == "array":
            return self._array(schema, depth, lean)
        if kind == "string":
            return self._string(schema, depth, lean)
        if kind in ("integer", "number"):
            return self._number(schema, integer=kind == "integer")
        if kind == "boolean":
            return self.rng.random() < 0.5
        return None

    def _ref(self, schema: Mapping[str, Any], depth: int, lean: bool) -> Any:
        ref = schema["$ref"]
        target = self.resolve(ref)
        siblings = {k: v for k, v in schema.items() if k != "$ref"}
        if siblings:
            target = _merge([target, siblings])
        lean = lean or self.open_refs.count(ref) >= _MAX_REF_REPEATS
        self.open_refs.append(ref)
        try:
            return self.value(target, depth, lean)
        finally:
            self.open_refs.pop()

    def _union(self, schema: Mapping[str, Any], options: list[Any], depth: int, lean: bool) -> Any:
        rest = {k: v for k, v in schema.items() if k not in ("anyOf", "oneOf", "discriminator")}
        present = [o for o in options if not _is_null(o)] or options
        decimal = _decimal_branch(present)
        if lean and len(present) < len(options):
            # the cheapest way out of a recursion: null
            chosen = next(o for o in options if _is_null(o))
        elif decimal is not None:
            return self._number(decimal, integer=False, whole=True)
        elif lean:
            chosen = next((o for o in present if "$ref" not in o), present[0])
        else:
            chosen = self.rng.choice(present)
        # keywords beside anyOf (a title, a default, a shared type) apply to the chosen branch too
        shared = {k: v for k, v in rest.items() if k not in ("title", "description", "default", "examples")}
        return self.value(_merge([shared, chosen]) if shared else chosen, depth, lean)

    def _object(self, schema: Mapping[str, Any], depth: int, lean: bool) -> dict[str, Any]:
        props: Mapping[str, Any] = schema.get("properties", {})
        required = set(schema.get("required", props))
        rich = not lean and depth < _RICH_DEPTH
        result = {
            key: self.value(sub, depth + 1, lean) for key, sub in props.items() if key in required or rich
        }
        extra = schema.get("additionalProperties")
        if props or not (isinstance(extra, Mapping) or "propertyNames" in schema):
            return result
        # a mapping (dict[K, V]): a few entries with keys drawn from propertyNames
        lo = int(schema.get("minProperties", 0 if lean else 1))
        hi = int(schema.get("maxProperties", lo + 3))
        count = self.rng.randint(lo, max(lo, min(hi, lo if lean else lo + 3)))
        key_schema = schema.get("propertyNames", {"type": "string", "minLength": 3, "maxLength": 12})
        value_schema = extra if isinstance(extra, Mapping) else {}
        for _ in range(count * 20):
            if len(result) >= count:
                break
            key = self.value(key_schema, depth + 1, lean)
            key = key if isinstance(key, str) else json.dumps(key)
            if key not in result:
                result[key] = self.value(value_schema, depth + 1, lean)
        return result

    def _array(self, schema: Mapping[str, Any], depth: int, lean: bool) -> list[Any]:
        prefix: list[Any] = list(schema.get("prefixItems", []))
        items = schema.get("items", {} if prefix else {"type": "string"})
        if items is False:
            items = None
        rich = not lean and depth < _RICH_DEPTH
        lo = max(int(schema.get("minItems", 1 if rich else 0)), 0)
        hi = int(schema.get("maxItems", lo + 3))
        if prefix and items is None:
            hi = min(hi, len(prefix))
        target = (
            max(lo, len(prefix)) if lean or items is None else self.rng.randint(lo, max(lo, min(hi, lo + 3)))
        )
        target = min(max(target, lo), max(hi, lo))
        unique = bool(schema.get("uniqueItems"))
        result: list[Any] = []
        seen: set[str] = set()
        attempts = 0
        while len(result) < target and attempts < target * 30 + 30:
            attempts += 1
            index = len(result)
            if index < len(prefix):
                item = self.value(prefix[index], depth + 1, lean)
            elif items is not None:
                item = self.value(items, depth + 1, lean)
            else:
                break
            if unique:
                key = _canonical(item)
                if key in seen:
                    continue
                seen.add(key)
            result.append(item)
        return result

    def _string(self, schema: Mapping[str, Any], depth: int, lean: bool) -> str:
        rng = self.rng
        max_len = int(schema.get("maxLength", 80))
        fmt = schema.get("format")
        pattern = schema.get("pattern")
        min_len = int(schema.get("minLength", 0 if pattern else min(3, max_len)))
        if schema.get("contentMediaType") == "application/json" or fmt == "json-string":
            content = schema.get("contentSchema", {"type": "string", "minLength": 3, "maxLength": 20})
            return json.dumps(self.value(content, depth + 1, lean))
        if isinstance(pattern, str):
            return matching_string(rng, pattern, min_len, max_len, words=_WORDS, filler=_text)
        if isinstance(fmt, str) and fmt in _FORMATS:
            for _ in range(20):
                text = _FORMATS[fmt](rng)
                if min_len <= len(text) <= max_len:
                    return text
        return _text(rng, min_len, max_len)

    def _number(self, schema: Mapping[str, Any], integer: bool, whole: bool = False) -> int | float:
        """A number on a grid inside the bounds: two decimals, whole numbers for ``whole``."""
        lo, lo_exclusive = _lower_bound(schema)
        hi, hi_exclusive = _upper_bound(schema)
        if lo is None and hi is None:
            lo, hi = Decimal(0), Decimal(100)
        elif lo is None:
            assert hi is not None
            lo = hi - 100
        elif hi is None:
            hi = lo + 100
        assert lo is not None and hi is not None
        multiple = schema.get("multipleOf")
        if multiple is not None:
            step = Decimal(str(multiple))
            if integer and step != step.to_integral_value():
                step = step * 10 ** max(0, -int(step.normalize().as_tuple().exponent))
        elif integer:
            step = Decimal(1)
        else:
            # a grid of two decimals (whole numbers for a Decimal), finer when the interval is narrow
            step = Decimal(1) if whole else Decimal("0.01")
            while step > Decimal("1e-9") and (hi - lo) / step < 20:
                step /= 10
        first = (lo / step).to_integral_value(ROUND_CEILING)
        if lo_exclusive and first * step == lo:
            first += 1
        last = (hi / step).to_integral_value(ROUND_FLOOR)
        if hi_exclusive and last * step == hi:
            last -= 1
        if first > last:
            raise ValueError(f"no number satisfies {dict(schema)}")
        value = Decimal(self.rng.randint(int(first), int(last))) * step
        if integer or (whole and value == value.to_integral_value()):
            return int(value)
        return float(value)


def fake_from_schema(schema: Mapping[str, Any], seed: int | str = 0) -> Any:
    """A value valid for ``schema`` (the JSON Schema subset pydantic emits).

    The same schema and seed always give the same value::

        >>> fake_from_schema({"type": "string", "pattern": "^[A-Z]{3}-[0-9]{4}$"}, seed=1) == (
        ...     fake_from_schema({"type": "string", "pattern": "^[A-Z]{3}-[0-9]{4}$"}, seed=1)
        ... )
        True
    """
    return _Faker(schema, random.Random(str(seed))).value(schema)
