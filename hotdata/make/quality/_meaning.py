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
    ]
)
# A bracketed or angled slot: "[Company]", "[Customer Name]", "<name>", "<your email>".
_SLOT = re.compile(
    r"\[(?P<square>[A-Z][A-Za-z]*(?:[ _-][A-Za-z]+){0,3})\](?!\()|"  # not a Markdown link [text](url)
    r"<(?P<angle>(?:your |the |customer |user |company |product )?[a-z]+(?:[ _][a-z]+){0,2})>"
)
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
    r"\b(?:X{3,}|TBD|FIXME|lorem ipsum)\b|"
    r"\b(?:insert|enter|add|put) (?:the |your |a )?(?:\w+ ){0,2}here\b|"
    r"\b(?:name|date|company|product) goes here\b",
    re.IGNORECASE,
)


def _is_slot(inside: str) -> bool:
    """``[Customer Name]``, ``[Date]`` and ``[TechCorp]`` (an invented CamelCase stand-in) are
    slots; ``[ERROR]`` and ``[Quest]`` are data."""
    if inside.upper() in _BRACKET_DATA:
        return False
    words = re.split(r"[ _-]", inside)
    if any(w.lower() in _SLOT_NOUNS for w in words) or inside.lower().startswith("your"):
        return True
    return len(words) == 1 and re.fullmatch(r"[A-Z][a-z]+[A-Z][A-Za-z]*", inside) is not None


def placeholder(text: str) -> str | None:
    """Why ``text`` holds a slot nobody filled, or None."""
    for found in _SLOT.finditer(text):
        square, angle = found.group("square"), found.group("angle")
        if square is not None and not _is_slot(square):
            continue
        if angle is not None and angle in _HTML:
            continue
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
    r"\bI hope (?:this|that|it) helps\b|"
    r"\b(?:I would|I'd) (?:suggest|recommend) (?:rephrasing|rewording|rewriting|revising)\b|"
    r"\b(?:rephras|reword|rewrit)\w* (?:it|(?:this|the) (?:text|sentence|paragraph|review|summary|response))"
    r" (?:for|to) (?:better |more |improved? )?(?:clarity|readability|flow)\b|"
    r"\b(?:this|the above|the following) (?:response|prompt|instruction|text snippet|generated text)\b|"
    r"^(?:Sure|Certainly|Of course|Absolutely)[!,.] (?:here(?:'s| is)|I (?:can|will|'ll) (?:write|help|provide|create|generate))\b|"
    r"^Here(?:'s| is) (?:a|an|the|your|my) (?:\w+ ){0,3}"
    r"(?:summary|description|review|response|version|paragraph|rewrite|example|text|answer|draft)\b|"
    r"\b(?:the|this|my) (?:previous|last|above) (?:answer|response|output)\b",
    re.IGNORECASE,
)


def meta_commentary(text: str) -> str | None:
    """Why ``text`` talks about itself, the task or the model instead of its subject, or None."""
    if found := _META.search(text):
        return f"talks about the task, not its subject: {found.group()!r}"
    return None
