"""Meaning checks that need no model: text that is not data about the world, but about the task.

* ``placeholder``: a slot the model never filled (``[Company]``, ``<customer name>``, ``XXX``,
  ``TBD``, "insert the date here");
* ``meta``: the text talks about itself, the task or the model ("as an AI", "I hope this
  helps", "rephrasing it for clarity", "Here is a short review:", the model's own name).

Both judge free text only (not ids, enums, formats or patterns). Their precision and recall are
measured on a labelled set of strings from several domains (tests/data/meaning_labelled.json,
``python -m bench.bench_meaning``): a check that refuses good text is a defect too, so each
pattern is narrow, and text that merely mentions reviews, prompts or AI products passes.
"""

from __future__ import annotations

import re

__all__ = ["meta_commentary", "placeholder"]

# Log levels and status words are data in brackets ("[ERROR] disk full", "[OK]").
_BRACKET_DATA = frozenset(
    [
        "INFO",
        "WARN",
        "WARNING",
        "ERROR",
        "DEBUG",
        "TRACE",
        "FATAL",
        "CRITICAL",
        "NOTICE",
        "OK",
        "FAIL",
        "FAILED",
        "PASS",
        "PASSED",
        "DONE",
        "SKIP",
        "SKIPPED",
        "TODO",
        "NOTE",
        "EDIT",
        "UPDATE",
        "SOLVED",
        "CLOSED",
        "RESOLVED",
    ]
)
# What a slot stands for: "[Customer Name]" is a slot, "[Quest]" a tag of the data.
_SLOT_NOUNS = frozenset(
    [
        "name",
        "company",
        "date",
        "product",
        "customer",
        "team",
        "email",
        "address",
        "phone",
        "city",
        "country",
        "title",
        "brand",
        "store",
        "time",
        "location",
        "person",
        "agent",
        "user",
        "owner",
        "amount",
        "number",
        "organization",
        "organisation",
        "org",
        "id",
        "device",
        "project",
        "client",
        "tenant",
        "landlord",
        "bank",
        "account",
        "link",
        "url",
        "price",
        "role",
        "position",
        "department",
        "manager",
        "street",
        "zip",
        "state",
        "region",
        "venue",
        "topic",
        "item",
        "quantity",
        "value",
        "code",
        "skill",
        "school",
        "student",
        "parent",
        "guardian",
    ]
)
# A bracketed slot: "[Company]", "[Customer Name]", "[DEVICE_ID]", "[insert project name]".
_SQUARE = re.compile(r"\[(?P<inside>[A-Za-z][A-Za-z]*(?:[ _/-][A-Za-z]+){0,4})\](?!\()")  # not [text](url)
# An angled slot: "<name>", "<your email>", "<BANK NAME>"; an XML or HTML tag is data.
_ANGLE = re.compile(r"<(?P<inside>[A-Za-z]+(?:[ _][A-Za-z]+){0,3})>")
_HTML = frozenset(
    [
        "a",
        "b",
        "i",
        "u",
        "p",
        "br",
        "hr",
        "em",
        "strong",
        "span",
        "div",
        "code",
        "pre",
        "li",
        "ul",
        "ol",
        "small",
        "sub",
        "sup",
    ]
)
_MARKERS = re.compile(
    r"\b(?:X{3,}|TBD|FIXME)\b|_{4,}|\{\{\s*[A-Za-z_]\w*\s*\}\}|"
    r"^lorem ipsum\b|\blorem ipsum dolor\b|"
    r"\b(?:XYZ|ABC) (?:Corp|Company|Inc|Ltd|LLC|Co)\b|"
    r"\b(?:insert|enter|add|put) (?:the |your |a )?(?:\w+ ){0,2}here\b|"
    r"\b(?:name|date|company|product) goes here\b",
    re.IGNORECASE,
)
# Reported speech: a quotation may hold anything ("'Insert your thesis here', she wrote").
_QUOTED = re.compile(r"\"[^\"]*\"|\u201c[^\u201d]*\u201d|(?<![\w])'[^']{8,}'(?![\w])")


def _unquoted(text: str) -> str:
    return _QUOTED.sub(" ", text)


def _is_slot(inside: str) -> bool:
    """``[Customer Name]``, ``[DATE]``, ``[DEVICE_ID]`` and ``[TechCorp]`` (an invented CamelCase
    stand-in) are slots; ``[ERROR]`` and ``[Quest]`` are data."""
    if inside.upper() in _BRACKET_DATA:
        return False
    words = re.split(r"[ _/-]", inside)
    if any(w.lower() in _SLOT_NOUNS for w in words):
        return True
    if words[0].lower() in ("insert", "enter", "your", "add"):
        return True
    if len(words) > 1 and all(w.isupper() for w in words):
        return True  # CUSTOMER_NAME, BANK NAME
    return len(words) == 1 and re.fullmatch(r"[A-Z][a-z]+[A-Z][A-Za-z]*", inside) is not None


# A list item with nothing after its marker: the skeleton of an answer ("1. ", "- ").
_BARE_MARKER = re.compile(r"\s*(?:\d{1,3}[.)]|[*\u2022])\s*")


def placeholder(text: str) -> str | None:
    """Why ``text`` holds a slot nobody filled, or None."""
    if _BARE_MARKER.fullmatch(text):
        return f"is a bare list marker {text.strip()!r}: the item was never written"
    text = _unquoted(text)
    for found in _SQUARE.finditer(text):
        if _is_slot(found.group("inside")):
            return f"holds the placeholder {found.group()!r}"
    for found in _ANGLE.finditer(text):
        inside = found.group("inside")
        tag = inside.lower() in _HTML or (" " not in inside and f"</{inside}>" in text)
        if not tag:
            return f"holds the placeholder {found.group()!r}"
    if found_marker := _MARKERS.search(text):
        return f"holds the placeholder {found_marker.group()!r}"
    return None


# The model speaking about itself, the task or the text, never about the world it describes.
_META = re.compile(
    r"\bas an? (?:AI|artificial intelligence|language model|large language model|LLM|AI assistant)\b|"
    r"\b(?:I am|I'm) (?:just )?(?:an? )?(?:AI|language model|AI assistant|large language model)\b|"
    r"\b(?:an? )?AI language model\b|"
    r"\bSmolLM\w*\b|"
    r"\bI hope (?:this|that|it) helps[!.]?\s*(?:$|Let me know)|"
    r"\bI hope this (?:sample|example|draft|note|description|listing|text)\b|"
    r"\b(?:I would|I'd) (?:suggest|recommend) (?:rephrasing|rewording|rewriting|revising)\b|"
    r"\b(?:rephras|reword|rewrit)\w* (?:it|(?:this|the) (?:text|sentence|paragraph|review|summary|response))"
    r" (?:for|to) (?:better |more |improved? )?(?:clarity|readability|flow)\b|"
    r"\b(?:this|the above|the following) (?:response|prompt|instruction|text snippet|generated text)\b|"
    r"\b(?:the|your) (?:prompt|instructions?) (?:asks?|asked|requested|said|wanted)\b|"
    r"\bas the (?:prompt|instructions?) (?:asked|requested|said)\b|"
    r"\b(?:Let me know if|Would) you(?:'d| would)? like me to\b|"
    r"\bfeel free to (?:adjust|edit|modify|tweak|change)\b|"
    r"\bword count:\s*\d+|"
    r"\bI (?:generated|made up|invented) (?:this|these|the)\b|"
    r"\bfor demonstration purposes\b|"
    r"\b(?:created|generated|written) by (?:an? )?(?:AI|SmolLM\w*|language model|the model)\b|"
    r"\b(?:this|the above) (?:exchange|example|sample|description|note|blurb|listing|posting|text) "
    r"(?:demonstrates|illustrates|follows|was (?:created|generated|written))\b|"
    r"\bIn this (?:blurb|description|listing|posting|note|summary|review|text|response),? I\b|"
    r"\bI(?: have|'ve) (?:kept|written|made|focused on|highlighted) (?:this|the) "
    r"(?:posting|listing|description|note|text|summary|review|blurb|clause)\b|"
    r"^(?:(?:Sure|Certainly|Of course|Absolutely)[!,.] )?(?:Here(?:'s| is| are)|Below (?:is|are)) [^.!?]*:$|"
    r"^(?:Sure|Certainly|Of course|Absolutely)[!,.] "
    r"(?:here(?:'s| is)|below is|I (?:can|will|'ll) (?:write|help|provide|create|generate))\b|"
    r"^Here(?:'s| is) (?:a|an|the|your|my) (?:\w+ ){0,3}"
    r"(?:summary|description|review|response|version|paragraph|rewrite|example|text|answer|draft)\b|"
    r"\b(?:the|this|my) (?:previous|last|above|earlier) (?:answer|response|output|version|draft)\b",
    re.IGNORECASE,
)


def meta_commentary(text: str) -> str | None:
    """Why ``text`` talks about itself, the task or the model instead of its subject, or None."""
    if found := _META.search(_unquoted(text).strip()):
        return f"talks about the task, not its subject: {found.group()!r}"
    return None
