"""Deterministic schema-valid JSON from a JSON Schema: the answers of the test doubles.

``fake_from_schema(schema, seed)`` covers the JSON Schema pydantic emits: objects
(``properties``, ``required``, ``additionalProperties``, ``propertyNames``), arrays
(``items``, ``prefixItems``, ``minItems``/``maxItems``, ``uniqueItems``), strings
(``minLength``/``maxLength``, ``format`` — uuid, email, uri, date, date-time, time,
duration, ip addresses, base64 and more — ``pattern``, JSON in a string), numbers
(``minimum``/``maximum``, their exclusive forms, ``multipleOf``), ``const``, ``enum``,
``anyOf``/``oneOf`` (discriminated unions included), ``allOf``, and ``$ref`` anywhere
in the document (nested ``$defs``; recursive models end in finite trees).

A ``pattern`` is honoured by a small generator for the common regex subset: literals,
escapes (``\\d \\w \\s`` and friends), character classes with ranges and negation,
quantifiers (``? * + {n} {n,} {n,m}``), groups, alternation and anchors; lookarounds
are skipped and every candidate is checked against the real regex before it is used.

Strings read like words from a small vocabulary, never random code points, and the
same schema and seed always give the same value.
"""

from __future__ import annotations

import base64
import json
import random
import re
import string
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Any
from urllib.parse import unquote

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

_DIGITS = string.digits
_WORD_CHARS = string.ascii_lowercase + string.ascii_uppercase + string.digits + "_"
# the characters '.' and negated classes draw from: readable ASCII, no control or zero-width
_PRINTABLE = string.ascii_letters + string.digits + " -_.,:;!?@#%&*+=/()"
_ESCAPE_CLASSES = {
    "d": _DIGITS,
    "D": string.ascii_letters + "-_ ",
    "w": _WORD_CHARS,
    "W": " -.,:;",
    "s": " ",
    "S": string.ascii_letters + string.digits,
}
_ESCAPE_CHARS = {"n": "\n", "t": "\t", "r": "\r", "f": "\f", "v": "\v", "0": "\0"}
_BRACES = re.compile(r"\{(\d+)(,(\d*))?\}")


class _UnsupportedRegex(ValueError):
    pass


@dataclass(frozen=True)
class _Chars:
    choices: str


@dataclass(frozen=True)
class _Seq:
    items: tuple[_Node, ...]


@dataclass(frozen=True)
class _Alt:
    options: tuple[_Node, ...]


@dataclass(frozen=True)
class _Repeat:
    node: _Node
    lo: int
    hi: int | None


_Node = _Chars | _Seq | _Alt | _Repeat
_EMPTY = _Seq(())


class _RegexParser:
    """Recursive descent over the regex subset; anchors and lookarounds parse to nothing."""

    def __init__(self, pattern: str) -> None:
        self.pattern = pattern
        self.pos = 0

    def parse(self) -> _Node:
        node = self._alternation()
        if self.pos != len(self.pattern):
            raise _UnsupportedRegex(f"unbalanced ')' at {self.pos} in {self.pattern!r}")
        return node

    def _peek(self, ahead: int = 0) -> str | None:
        index = self.pos + ahead
        return self.pattern[index] if index < len(self.pattern) else None

    def _take(self) -> str:
        char = self._peek()
        if char is None:
            raise _UnsupportedRegex(f"{self.pattern!r} ends too early")
        self.pos += 1
        return char

    def _alternation(self) -> _Node:
        options = [self._sequence()]
        while self._peek() == "|":
            self.pos += 1
            options.append(self._sequence())
        return options[0] if len(options) == 1 else _Alt(tuple(options))

    def _sequence(self) -> _Node:
        items: list[_Node] = []
        while (char := self._peek()) is not None and char not in "|)":
            items.append(self._quantified(self._atom()))
        return items[0] if len(items) == 1 else _Seq(tuple(items))

    def _quantified(self, atom: _Node) -> _Node:
        char = self._peek()
        lo: int
        hi: int | None
        if char == "?":
            lo, hi = 0, 1
        elif char == "*":
            lo, hi = 0, None
        elif char == "+":
            lo, hi = 1, None
        elif char == "{" and (match := _BRACES.match(self.pattern, self.pos)):
            lo = int(match[1])
            hi = lo if match[2] is None else (int(match[3]) if match[3] else None)
            self.pos = match.end()
        else:
            return atom
        if char in "?*+":
            self.pos += 1
        if self._peek() in ("?", "+"):  # lazy and possessive forms match the same strings
            self.pos += 1
        return self._quantified(_Repeat(atom, lo, hi))

    def _atom(self) -> _Node:
        char = self._take()
        if char == "(":
            return self._group()
        if char == "[":
            return self._class()
        if char == ".":
            return _Chars(_PRINTABLE)
        if char in "^$":
            return _EMPTY
        if char == "\\":
            return self._escape()
        if char in "*+?":
            raise _UnsupportedRegex(f"nothing to repeat at {self.pos - 1} in {self.pattern!r}")
        return _Chars(char)

    def _group(self) -> _Node:
        zero_width = False
        rest = self.pattern[self.pos :]
        if rest.startswith(("?=", "?!")):
            self.pos += 2
            zero_width = True
        elif rest.startswith(("?<=", "?<!")):
            self.pos += 3
            zero_width = True
        elif rest.startswith(("?P<", "?<")):
            self.pos = self.pattern.index(">", self.pos) + 1
        elif rest.startswith("?:"):
            self.pos += 2
        elif rest.startswith("?"):
            raise _UnsupportedRegex(f"group flags at {self.pos} in {self.pattern!r}")
        node = self._alternation()
        if self._take() != ")":
            raise _UnsupportedRegex(f"unbalanced '(' in {self.pattern!r}")
        return _EMPTY if zero_width else node

    def _escape(self) -> _Node:
        char = self._take()
        if char in _ESCAPE_CLASSES:
            return _Chars(_ESCAPE_CLASSES[char])
        if char in "bBAzZ":
            return _EMPTY
        if char.isdigit() and char != "0":
            raise _UnsupportedRegex(f"backreference \\{char} in {self.pattern!r}")
        return _Chars(self._escaped_char(char))

    def _escaped_char(self, char: str) -> str:
        if char in _ESCAPE_CHARS:
            return _ESCAPE_CHARS[char]
        if char in "xu":
            if char == "u" and self._peek() == "{":
                end = self.pattern.index("}", self.pos)
                digits, self.pos = self.pattern[self.pos + 1 : end], end + 1
            else:
                width = 2 if char == "x" else 4
                digits = self.pattern[self.pos : self.pos + width]
                self.pos += width
            try:
                return chr(int(digits, 16))
            except ValueError:
                raise _UnsupportedRegex(f"bad \\{char} escape in {self.pattern!r}") from None
        return char

    def _class(self) -> _Chars:
        negate = self._peek() == "^"
        if negate:
            self.pos += 1
        members: set[str] = set()
        first = True
        while True:
            char = self._take()
            if char == "]" and not first:
                break
            first = False
            if char == "\\":
                escaped = self._take()
                if escaped in _ESCAPE_CLASSES:
                    members.update(_ESCAPE_CLASSES[escaped])
                    continue
                char = self._escaped_char(escaped)
            if self._peek() == "-" and self._peek(1) not in ("]", None):
                self.pos += 1
                end = self._take()
                if end == "\\":
                    end = self._escaped_char(self._take())
                members.update(_char_range(char, end))
            else:
                members.add(char)
        pool = [c for c in _PRINTABLE if c not in members] if negate else sorted(members)
        readable = [c for c in pool if c.isascii() and c.isprintable()] or [
            c for c in pool if c.isprintable()
        ]
        if not readable:
            raise _UnsupportedRegex(f"no readable character in a class of {self.pattern!r}")
        return _Chars("".join(readable))


def _char_range(start: str, end: str) -> set[str]:
    lo, hi = ord(start), ord(end)
    if lo > hi:
        raise _UnsupportedRegex(f"bad range {start}-{end}")
    # a huge range (\u0000-\uffff) contributes its readable ASCII and a few of its own
    ascii_part = {c for c in _PRINTABLE if lo <= ord(c) <= hi}
    return ascii_part | {chr(code) for code in range(lo, min(hi, lo + 256) + 1)}


class _RegexWriter:
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def write(self, node: _Node) -> str:
        out: list[str] = []
        self._emit(node, out)
        return "".join(out)

    def _emit(self, node: _Node, out: list[str]) -> None:
        rng = self.rng
        if isinstance(node, _Chars):
            out.append(rng.choice(node.choices))
        elif isinstance(node, _Seq):
            for item in node.items:
                self._emit(item, out)
        elif isinstance(node, _Alt):
            self._emit(rng.choice(node.options), out)
        else:
            hi = node.hi if node.hi is not None else node.lo + 8
            if isinstance(node.node, _Chars) and rng.random() < 0.8:
                # a run of letters reads better as a word when one fits the class and the bounds
                choices = set(node.node.choices)
                words = [
                    form
                    for word in _WORDS
                    for form in (word, word.upper(), word.capitalize())
                    if node.lo <= len(form) <= hi and set(form) <= choices
                ]
                if words:
                    out.append(rng.choice(words))
                    return
            for _ in range(rng.randint(node.lo, max(node.lo, min(hi, node.lo + 6)))):
                self._emit(node.node, out)


def _matching_string(rng: random.Random, pattern: str, min_len: int, max_len: int) -> str:
    """A string of the right length that ``pattern`` finds (JSON Schema patterns search)."""
    try:
        checker: re.Pattern[str] | None = re.compile(pattern)
    except re.error:
        checker = None
    try:
        tree: _Node | None = _RegexParser(pattern).parse()
    except (_UnsupportedRegex, ValueError):
        tree = None
    writer = _RegexWriter(rng)
    candidate = ""
    for _ in range(200):
        candidate = writer.write(tree) if tree is not None else _text(rng, min_len, max_len)
        if len(candidate) < min_len:
            # an unanchored pattern tolerates words around its match
            if not pattern.endswith("$"):
                candidate = (candidate + " " + _text(rng, min_len, max_len))[:max_len]
            elif not pattern.startswith("^"):
                candidate = (_text(rng, min_len, max_len) + " " + candidate)[-max_len:]
        if min_len <= len(candidate) <= max_len and (checker is None or checker.search(candidate)):
            return candidate
    return candidate


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
            return _matching_string(rng, pattern, min_len, max_len)
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
