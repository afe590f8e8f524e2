"""JSON Schemas as llama.cpp's grammar can take them, and what it cannot express, in words."""

from __future__ import annotations

import contextlib
import copy
import io
import json
import re
from typing import Any

__all__ = ["grammar_for", "grammar_schema", "unsupported_construct"]

_ANCHORED = re.compile(r"^\^.*\$$", re.DOTALL)
_FORMAT_PATTERNS = {
    "email": r"^[a-z][a-z0-9]{1,15}([.][a-z][a-z0-9]{1,15})?@[a-z][a-z0-9]{1,20}[.](com|org|net|io)$",
    "uri": r"^https://[a-z][a-z0-9-]{1,20}[.](com|org|net|io)/[a-z0-9-]{0,20}$",
}
# Escapes the grammar converter mistranslates (into literal text, or a grammar llama.cpp
# rejects at sampling time, in native code): rewritten as classes outside [...]; any other
# backslash leaves the pattern to validation.
_ESCAPES = {r"\d": "[0-9]", r"\w": "[A-Za-z0-9_]", r"\s": "[ ]", r"\.": "[.]", r"\-": "[-]", r"\_": "[_]"}


def _without_escapes(pattern: str) -> str | None:
    out, i, in_class = [], 0, False
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\":
            pair = pattern[i : i + 2]
            if in_class or pair not in _ESCAPES:
                return None
            out.append(_ESCAPES[pair])
            i += 2
            continue
        in_class = True if ch == "[" else False if ch == "]" else in_class
        out.append(ch)
        i += 1
    return "".join(out)


# Group openings the grammar converter has no rule for, by what follows "(?".
_GROUPS = (
    ("<=", "the lookbehind"),
    ("<!", "the negative lookbehind"),
    ("=", "the lookahead"),
    ("!", "the negative lookahead"),
    ("P=", "the named backreference"),
    ("P<", "the named group"),
    ("<", "the named group"),
    (">", "the atomic group"),
    ("#", "the comment"),
    ("(", "the conditional group"),
)
_FLAGS = re.compile(r"\(\?[aiLmsux-]+[:)]")


def unsupported_construct(pattern: str) -> str | None:
    """The first construct of ``pattern`` that hotdata cannot hand to llama.cpp's grammar,
    named with its text (``the inline flags '(?i)'``), or None when it finds none it knows."""
    i, in_class = 0, False
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\":
            pair = pattern[i : i + 2]
            if in_class:
                return f"the escape '{pair}' inside a character class"
            if pair[1:].isdigit():
                return f"the backreference '{pair}'"
            if pair not in _ESCAPES:
                return f"the escape '{pair}'"
            i += 2
            continue
        if in_class:
            in_class = ch != "]"
        elif ch == "[":
            in_class = True
            i += 2 if pattern[i + 1 : i + 2] == "^" else 1
            i += pattern[i : i + 1] == "]"  # "[]…]", "[^]…]": that first "]" is a member
            continue
        elif pattern.startswith("(?", i) and not pattern.startswith("(?:", i):
            if flags := _FLAGS.match(pattern, i):
                return f"the inline flags '{flags.group()}'"
            for opening, what in _GROUPS:
                if pattern.startswith(opening, i + 2):
                    return f"{what} '(?{opening}'"
        i += 1
    return None


_SCHEMA_MAPS = frozenset({"properties", "patternProperties", "$defs", "definitions", "dependentSchemas"})
_VALUE_KEYWORDS = frozenset({"enum", "const", "default", "examples", "required"})


def grammar_schema(schema: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """The schema as llama.cpp's grammar can take it, and a note for each change.

    llama.cpp compiles only anchored patterns (``^…$``) and falls back to plain JSON —
    silently, no structure at all — on anything else. Unanchored patterns are
    anchored (a string matching ``^P$`` matches ``P`` too), ``(?:`` becomes ``(``;
    a pattern it still cannot compile (flags, lookarounds) is left out of the grammar
    and checked by validation after decoding, which re-asks until it matches; its note
    names the field and the construct found (``unsupported_construct``).
    """
    from llama_cpp import llama_grammar

    notes: list[str] = []
    schema = copy.deepcopy(schema)

    def compiles(pattern: str) -> bool:
        try:
            llama_grammar.json_schema_to_gbnf(json.dumps({"type": "string", "pattern": pattern}))
        except Exception:
            return False
        return True

    def visit(node: Any, pointer: str) -> None:
        if isinstance(node, dict):
            if (
                isinstance(node.get("format"), str)
                and node["format"] in _FORMAT_PATTERNS
                and "pattern" not in node
            ):
                # formats the grammar converter does not know decode as their usual shape
                node["pattern"] = _FORMAT_PATTERNS[node.pop("format")]
            pattern = node.get("pattern")
            if isinstance(pattern, str):
                fixed = _without_escapes(pattern.replace("(?:", "(")) or "(?!"  # "(?!": never compiles
                if not _ANCHORED.match(fixed):
                    fixed = (
                        ("" if fixed.startswith("^") else "^") + fixed + ("" if fixed.endswith("$") else "$")
                    )
                if compiles(fixed):
                    node["pattern"] = fixed
                else:
                    del node["pattern"]
                    found = unsupported_construct(pattern) or (
                        "a construct (flags, lookarounds, escapes in classes, backreferences)"
                    )
                    notes.append(
                        f"{pointer or '/'}: pattern {pattern!r} has {found}, which llama.cpp's grammar "
                        "cannot express; decoding leaves the pattern out and validation checks it "
                        "afterwards, re-asking until an answer matches"
                    )
            for key, value in node.items():
                if key in _VALUE_KEYWORDS:
                    continue  # data, not a schema: an enum member may well have a "pattern" key
                if key in _SCHEMA_MAPS and isinstance(value, dict):
                    # names to schemas: a property may be called "format" or "pattern"
                    for name, sub in value.items():
                        visit(sub, f"{pointer}/{key}/{name}")
                else:
                    visit(value, f"{pointer}/{key}")
        elif isinstance(node, list):
            for i, value in enumerate(node):
                visit(value, f"{pointer}/{i}")

    visit(schema, "")
    return schema, notes


def grammar_for(schema: dict[str, Any]) -> tuple[Any, list[str]]:
    """The llama.cpp grammar of ``schema``, and a note for each change the grammar needed
    (``grammar_schema``); ``ValueError`` when llama.cpp cannot express the schema at all."""
    from llama_cpp import llama_grammar

    fitted, notes = grammar_schema(schema)
    try:
        gbnf = llama_grammar.json_schema_to_gbnf(json.dumps(fitted))
    except Exception as exc:
        raise ValueError(
            f"llama.cpp cannot turn this JSON Schema into a grammar ({type(exc).__name__}: {exc}); "
            "simplify the schema or use another model"
        ) from None
    with contextlib.redirect_stderr(io.StringIO()):
        return llama_grammar.LlamaGrammar.from_string(gbnf, verbose=False), notes
