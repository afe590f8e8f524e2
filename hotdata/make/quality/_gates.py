"""Quality gates: pydantic decides whether a model's answer is valid; these decide whether it is good.

Pure functions over JSON data. Every string value is checked and reported by its RFC 6901
JSON pointer; arrays and the whole value are checked too. Built-in checks:

- ``truncated``: prose that stops mid-sentence ("…staring at a map of");
- ``repeated``: a sentence or word run said again in a value, or by many items of an array;
- ``echo``: the prompt, hotdata's feedback, JSON-Schema text, template syntax or a secret;
- ``degenerate``: runs of digits or punctuation, control characters, filler;
- ``near-duplicate``: two variants of a fixture family saying the same thing.

A string is prose only when it clearly is (enough words, mostly words): labels, ids, enums,
timestamps, URLs and numbers are left alone, because a false positive is as bad as a miss.
"""

from __future__ import annotations

import fnmatch
import importlib
import inspect
import json
import math
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, NamedTuple, cast, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from .._secrets import blank
from ._leaves import Leaf, as_json, walk

__all__ = [
    "QUALITY_VERSION",
    "BUILTIN_CHECKS",
    "CheckName",
    "DEFAULT_FEEDBACK_MARKERS",
    "QualityConfigError",
    "QualityContext",
    "QualityProblem",
    "QualitySettings",
    "UserCheck",
    "check_value",
    "load_user_checks",
    "user_check",
]

# Bump when a built-in check changes what it refuses: records that passed older gates are re-checked.
QUALITY_VERSION = 1

CheckName = Literal["truncated", "repeated", "echo", "degenerate", "near-duplicate"]
BUILTIN_CHECKS: tuple[CheckName, ...] = get_args(CheckName)

# Phrases only hotdata's own re-ask prompts and error messages contain (see _context.py
# and _schema.py); a value containing one is a copy of the feedback, never data.
DEFAULT_FEEDBACK_MARKERS: tuple[str, ...] = (
    "at (root):",
    "previous answer did not validate",
    "answer again with one json value",
    "matching this json schema",
    "invalid json: control character",
    "invalid json: eof while parsing",
    "found while parsing a string at line",
    "tighten the template",
)


class QualityConfigError(ValueError):
    """A ``[tool.hotdata.quality]`` table, a ``quality=`` override or a user check is wrong."""


@dataclass(frozen=True)
class QualityProblem:
    """One gate failure: where, which check, and why in words."""

    pointer: str  # RFC 6901 pointer of the value ("" = the whole value)
    check: str  # a built-in check's name or a user check's name
    message: str

    def __str__(self) -> str:
        return f"{self.message} [{self.check}]"


class QualitySettings(BaseModel):
    """``[tool.hotdata.quality]`` in pyproject.toml, or ``quality=`` on one fixture."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = True
    checks: list[CheckName] = Field(default_factory=lambda: list(BUILTIN_CHECKS))
    prose_min_words: int = Field(4, ge=1, description="a string with fewer words is a label, not prose")
    repeat_ngram: int = Field(5, ge=2, description="length of the word runs counted for repetition")
    repeat_max: int = Field(2, ge=1, description="times a word run may appear in one value")
    echo_min_words: int = Field(10, ge=3, description="words in a row copied from the prompt that are echo")
    degenerate_max_symbol_ratio: float = Field(
        0.35, gt=0, le=1, description="share of digits and odd symbols (@ $ % = …) over which prose is junk"
    )
    near_duplicate_threshold: float = Field(
        0.5, gt=0, le=1, description="word 3-shingle Jaccard over which two texts say the same thing"
    )
    custom: list[str] = Field(default_factory=list, description='user checks, "module:function"')
    ignore: list[str] = Field(default_factory=list, description="pointers (shell-style) never reported")

    @field_validator("custom")
    @classmethod
    def _module_function(cls, value: list[str]) -> list[str]:
        for entry in value:
            _split_entry(entry)
        return value

    @classmethod
    def from_mapping(cls, table: Mapping[str, Any], where: str = "[tool.hotdata.quality]") -> QualitySettings:
        """Settings from a TOML table; an unknown key or a bad value raises ``QualityConfigError``."""
        try:
            return cls.model_validate(dict(table))
        except ValidationError as exc:
            parts = [
                f"{'.'.join(map(str, e['loc'])) or '(table)'}: "
                + ("unknown key" if e["type"] == "extra_forbidden" else e["msg"])
                for e in exc.errors(include_url=False)
            ]
            known = ", ".join(cls.model_fields)
            raise QualityConfigError(f"{where}: {'; '.join(parts)} (known keys: {known})") from None

    def merged(self, overrides: Mapping[str, Any], *, where: str = "quality=") -> QualitySettings:
        """These settings with a fixture's overrides applied (``{"prose_min_words": 6}``)."""
        return type(self).from_mapping({**self.model_dump(), **overrides}, where=where)


@dataclass(frozen=True)
class QualityContext:
    """What the gates may compare the data with."""

    prompt: str | None = None  # what the model was asked (for echo)
    json_schema: Mapping[str, Any] | None = None  # maxLength, enum and format per pointer
    secrets: Sequence[str] = ()  # values that must never appear in the data
    feedback_markers: Sequence[str] = DEFAULT_FEEDBACK_MARKERS


UserCheck = Callable[[Any, QualityContext], Iterable[QualityProblem | str]]


@dataclass(frozen=True)
class _Facts:
    structured: bool  # enum, const, format or pattern: not free text
    prose: bool  # enough words, mostly words
    max_length: int | None
    prose_slot: bool  # the schema or the key name says this is where prose goes


def _wordset(words: str) -> frozenset[str]:
    return frozenset(words.split())


# Key names whose value is prose; a placeholder word there is filler.
_PROSE_KEYS = _wordset(
    "description summary text content body narrative message bio notes note comment details "
    "story caption activity stance explanation reason paragraph"
)


def _facts(leaf: Leaf, settings: QualitySettings) -> _Facts:
    strings = [s for s in leaf.schemas if s.get("type", "string") == "string" or "string" in s["type"]]
    structured = any(k in s for s in strings for k in ("enum", "const", "format", "pattern"))
    lengths = [n for s in strings if isinstance(n := s.get("maxLength"), int)]
    # With several alternatives, the loosest bound counts (and none when one is unbounded).
    max_length = max(lengths) if lengths and len(lengths) == len(strings) else None
    # A long free-text field (maxLength ≥ 100 or minLength ≥ 10) is a prose slot.
    roomy = any(s.get("maxLength", 0) >= 100 or s.get("minLength", 0) >= 10 for s in strings)
    prose = not structured and _is_prose(leaf.text, settings.prose_min_words)
    return _Facts(structured, prose, max_length, roomy or leaf.key.lower() in _PROSE_KEYS)


# ---------------------------------------------------------------- text helpers

_OPEN_QUOTES, _CLOSE_QUOTES = "\u201c\u2018", "\u201d\u2019"  # typographic quotes
_EDGE_PUNCT = "\"'()[]{}<>.,;:!?*_`\u2026-\u2014\u2013" + _OPEN_QUOTES + _CLOSE_QUOTES
# A whitespace-separated token that is an alphabetic word, punctuation around it allowed.
_WORD_TOKEN = re.compile(
    rf"(?<!\S)[{re.escape(_EDGE_PUNCT)}]*[^\W\d_]+(?:['\u2019-][^\W\d_]+)*[{re.escape(_EDGE_PUNCT)}]*(?!\S)"
)
_NORM_WORD = re.compile(r"[^\W_]+(?:['\u2019][^\W_]+)*")


def _words(text: str) -> list[str]:
    """Lowercased words and numbers, punctuation dropped (for comparing and counting)."""
    return _NORM_WORD.findall(text.lower())


def _is_prose(text: str, min_words: int) -> bool:
    # Prose: at least `min_words` alphabetic words, and words are at least half the tokens.
    words = len(_WORD_TOKEN.findall(text))
    return words >= min_words and 2 * words >= len(text.split())


_C0 = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


# Inline code, URLs and Markdown rules are not prose; they are blanked before prose checks.
_NOT_PROSE = re.compile(r"`+[^`]*`+|(?:https?://|www\.)[^\s)\]>\"']+|([-=~^*#_+|])\1{3,}")


def _plain(text: str) -> str:
    return _NOT_PROSE.sub("…", text)  # a mark, not a word: "``code``," keeps its comma attached


def _quote(text: str, *, tail: bool = False) -> str:
    text = " ".join(_C0.sub(lambda m: f"\\u{ord(m.group()):04x}", text).split())  # shown, not obeyed
    if len(text) > 40 and tail:
        cut = text[-39:]
        text = "…" + (cut.split(" ", 1)[1] if " " in cut[:15] else cut)
    elif len(text) > 40:
        text = text[:39].rstrip() + "…"
    return f"'{text}'"


# ---------------------------------------------------------------- truncated

# Words that cannot end an English sentence: articles, conjunctions, possessive determiners.
_NEVER_LAST = _wordset(
    "a an the and or nor but because although unless whereas whether than my your our their its whose very"
)
# Prepositions that can be stranded ("what she was proud of", "someone to fly with"): they
# end a sentence after a verb or an adjective, so they are truncation after anything else
# ("a map of"). Words ending in -ed, -ing, -s are taken for verbs (a plural noun is a miss).
_PREPOSITIONS = _wordset("of to at for from with into onto upon via toward towards")
_STRANDERS = _wordset(
    "be am do did have had can could will would should must may might get got go went come came look talk "
    "work deal live fly play lean count rely hold stand care wait ask think thought dream hear heard listen "
    "belong agree speak point aim head return run stick cling fight pay apply vote long hope search "
    "proud afraid aware fond sure worth full kind sort capable tired sick ashamed scared grateful known"
)
# Adverb particles end phrasal verbs and noun phrases ("logged in", "a night out"); they are
# truncation only after a function word ("it is now in").
_PARTICLES = _wordset(
    "in on up out off over down by about around through along across under after before behind "
    "inside outside past back away near beyond within without between among"
)
_NOT_A_VERB = _wordset(
    "now then still just also and or but the a an of to its their our my your this these those very more "
    "most from with for at"
)
_ABBREVIATIONS = _wordset("mr mrs ms dr st vs etc e.g i.e no fig approx jr sr inc ltd co mt lt prof")
_SENTENCE_BREAK = re.compile(rf"(?<=[.!?])[\"'{_CLOSE_QUOTES})\]]*\s+(?=[\"'{_OPEN_QUOTES}(]?[A-Z0-9])")
_LIST_LINE = re.compile(r"^\s*(?:[-*+>#|]|\d+[.)])\s", re.MULTILINE)
_URLISH = re.compile(r"(?:https?://|www\.|\S+@\S+\.\S+|\S*/\S*)")


def _sentences(text: str) -> list[str]:
    groups: list[list[str]] = []
    for part in _SENTENCE_BREAK.split(text):
        tail = groups[-1][-1].rsplit(None, 1)[-1].rstrip(".").lower() if groups and groups[-1][-1] else ""
        # "Dr. Smith", "J. R. Tolkien" and "H.A.L.O. Seven" do not end a sentence.
        if groups and (tail in _ABBREVIATIONS or len(tail) == 1 or "." in tail):
            groups[-1].append(part)
        else:
            groups.append([part])
    return [" ".join(group) for group in groups]


def _truncation(text: str, facts: _Facts, settings: QualitySettings) -> str | None:
    s = text.rstrip()
    tokens = s.split()
    at_limit = facts.max_length is not None and len(text) >= facts.max_length
    if at_limit and len(tokens) >= 2 and s[-1].isalnum():
        return f"is cut at the schema's maxLength ({facts.max_length}) mid-sentence ({_quote(s, tail=True)})"
    if not facts.prose:
        return None
    last = tokens[-1].lstrip("\"'(" + _OPEN_QUOTES).lower()
    prev = tokens[-2].lower() if len(tokens) > 1 else ""
    if s[-1] == ",":
        return f"ends on a dangling {s[-1]!r} ({_quote(s, tail=True)})"
    verbish = prev.endswith(("ed", "ing", "s", "en")) or prev in _STRANDERS or prev in _PARTICLES
    if (
        last in _NEVER_LAST
        or (last in _PREPOSITIONS and not verbish)
        or (last in _PARTICLES and prev in _NOT_A_VERB)
    ):
        return f"stops mid-sentence: ends on {last!r} ({_quote(s, tail=True)})"
    # "enjoy a 2", "lost to the T": a lone character after an article is a cut-off word
    # ("bay 3", "Plan B", "from A to B", "starts at 9", "key not in d" stay good).
    if len(last) == 1 and last.isalnum() and prev in ("a", "an", "the"):
        return f"stops mid-word: ends on a lone {tokens[-1]!r} ({_quote(s, tail=True)})"
    last_line = s.splitlines()[-1]
    plain = _plain(last_line)  # an unclosed bracket in an earlier paragraph is not where the text stops
    for opener, closer in (("(", ")"), ("[", "]"), ("\u201c", "\u201d")):
        if plain.count(opener) > plain.count(closer):
            return f"has an unclosed {opener!r} ({_quote(s, tail=True)})"
    quotes = [i for i, ch in enumerate(plain) if ch == '"']
    # An odd straight quote is unclosed when the last one opens (not an inch mark: 5'11").
    if len(quotes) % 2 and (quotes[-1] == 0 or plain[quotes[-1] - 1].isspace()):
        return f"has an unclosed '\"' ({_quote(s, tail=True)})"
    # Sentences ended with periods, then one stops on a letter or digit: cut mid-sentence. Left
    # alone: one phrase without a period ("Recalibrating the clamps"), informal text ("Landed!
    # Can't wait to explore"), Markdown list lines, a URL or path at the end, and a title at the
    # end ("…Section 3.2 of Detecting the Lost Update Problem").
    earlier = _sentences(last_line)[:-1]
    if (
        s[-1].isalnum()
        and earlier
        and all(sentence.endswith(".") for sentence in earlier)
        and not all(t[:1].isupper() for t in tokens[-2:])
        and not _LIST_LINE.match(last_line)
        and not _URLISH.fullmatch(tokens[-1])
        and len(tokens) >= 2 * settings.prose_min_words
    ):
        return f"stops mid-sentence: the last sentence has no ending ({_quote(s, tail=True)})"
    return None


# ---------------------------------------------------------------- repeated


def _repetition(text: str, facts: _Facts, settings: QualitySettings) -> str | None:
    if not facts.prose:
        return None
    seen: Counter[tuple[str, ...]] = Counter()
    for sentence in _sentences(text):
        said = tuple(_words(sentence))
        if len(said) >= settings.repeat_ngram:
            seen[said] += 1
            if seen[said] == 2:
                return f"repeats the sentence {_quote(sentence)}"
    # Word runs are counted line by line: list items in parallel ("- @ann made their first
    # contribution", "- @bo made their first contribution") are structure, not a loop.
    for line in _plain(text).splitlines():
        words = _words(line)
        # Longer texts reuse a phrase in parallel sentences ("bit 4 is set if the function …; bit 8
        # is set if the function …"): one more occurrence allowed per 40 words. Loops are denser.
        allowed = settings.repeat_max + len(words) // 40
        grams = Counter(_ngrams(words, settings.repeat_ngram))
        gram, count = grams.most_common(1)[0] if grams else ((), 0)
        if count > allowed:
            return f"repeats the words {_quote(' '.join(gram))} {count} times"
    return None


def _array_repetition(leaves: list[Leaf], settings: QualitySettings) -> list[QualityProblem]:
    """Items of one array whose prose (``leaves``) at the same place says the same thing."""
    groups: dict[tuple[str, str], list[Leaf]] = defaultdict(list)
    for leaf in leaves:
        if leaf.group is not None:
            groups[leaf.group].append(leaf)
    problems = []
    for members in groups.values():
        firsts: dict[tuple[str, ...], Leaf] = {}
        copies: dict[str, list[Leaf]] = defaultdict(list)
        recent: list[tuple[Leaf, set[tuple[str, ...]]]] = []
        for leaf in members:
            words = _words(leaf.text)
            key = tuple(words)
            original = firsts.get(key)
            shingles = _shingle_set(words)
            if original is None and len(words) >= 10:
                # Nearly identical: compared with the 8 items before only, to stay linear.
                for other, theirs in recent[-8:]:
                    if _jaccard(shingles, theirs) > settings.near_duplicate_threshold:
                        original = other
                        break
            if original is None:
                firsts.setdefault(key, leaf)
                recent.append((leaf, shingles))
            else:
                copies[original.pointer].append(leaf)
        duplicates = sum(len(c) for c in copies.values())
        # A few repeated lines in a long log are realistic; a quarter of the items is not.
        if duplicates and duplicates >= max(1, math.ceil(len(members) / 4)):
            for pointer, same in copies.items():
                names = ", ".join(c.pointer for c in same[:3]) + (" …" if len(same) > 3 else "")
                verb = "says" if len(same) == 1 else "say"
                message = f"{names} {verb} the same as {pointer}: {_quote(same[0].text)}"
                problems.append(QualityProblem(same[0].pointer, "repeated", message))
    return problems


# ---------------------------------------------------------------- echo

_FEEDBACK_LINE = re.compile(
    r"\bat [\w.-]+(?:/[\w.-]+)*: (?:Invalid JSON|Field required|Input should|String should|List should|"
    r"Value error|Extra inputs|Object has)"
)
# JSON-Schema as a schema writes it: keywords as JSON keys, or a length keyword with its number.
# ("additionalProperties" named in prose about JSON Schema, or "type": "message" in a payload, is data.)
_SCHEMA_TEXT = re.compile(
    r"\"(?:minLength|maxLength|minItems|maxItems|additionalProperties|\$defs|\$ref|\$schema|anyOf|oneOf|allOf)"
    r"\"\s*:|\"type\"\s*:\s*\"(?:string|object|array|integer|number|boolean|null)\"|\"properties\"\s*:\s*\{|"
    r"\"required\"\s*:\s*\[|\b(?:minLength|maxLength|minItems|maxItems)\b\W{0,3}\d"
)
_TEMPLATE = re.compile(
    r"\{\{-?\s*[A-Za-z_][\w.]*(?:\s*\|[^{}]{0,40})?\s*-?\}\}|\{%-?\s*(?:if|for|include|extends|block|"
    r"set|macro|import|from|raw|with|call|filter|else|elif|end\w*)\b"
)


_SECRET = "contains a secret value (not shown)"


def _ngrams(words: list[str], n: int) -> Iterator[tuple[str, ...]]:
    return (tuple(words[i : i + n]) for i in range(len(words) - n + 1))


class _EchoSources(NamedTuple):
    secrets: list[str]  # secrets shorter than 6 characters would match ordinary words: skipped
    feedback: re.Pattern[str]  # hotdata's own phrases, any case
    prompt_spans: set[tuple[str, ...]]  # every run of echo_min_words words of the prompt
    span: int


def _echo_sources(context: QualityContext, settings: QualitySettings) -> _EchoSources:
    markers = [re.escape(m) for m in context.feedback_markers if m] or ["(?!)"]
    span = settings.echo_min_words
    return _EchoSources(
        [secret for secret in context.secrets if len(secret) >= 6],
        re.compile("|".join(markers), re.IGNORECASE),
        set(_ngrams(_words(context.prompt or ""), span)),
        span,
    )


def _echo(text: str, sources: _EchoSources) -> str | None:
    secrets, feedback, prompt_spans, span = sources
    if any(secret in text for secret in secrets):
        return _SECRET
    if feedback.search(text) or _FEEDBACK_LINE.search(text):
        return f"contains hotdata's own feedback: {_quote(text)}"
    if prompt_spans:
        copied = next((g for g in _ngrams(_words(text), span) if g in prompt_spans), None)
        if copied:
            return f"copies the prompt: {_quote(' '.join(copied))}"
    if found := _SCHEMA_TEXT.search(text):
        return f"contains JSON-Schema text {_quote(found.group())}: {_quote(text)}"
    if found := _TEMPLATE.search(text):
        return f"contains template syntax {_quote(found.group())}"
    return None


# ---------------------------------------------------------------- degenerate

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1a\x1c-\x1f]")  # not \t \n \r, not ESC (ANSI colours)
_FILLER_ANYWHERE = re.compile(
    r"\blorem ipsum\b|^(?:this is )?(?:(?:a|an|the|some|my) )?(?:placeholder|sample|example|dummy|generic) "
    r"(?:text|summary|description|content|value|string|sentence|paragraph|name|title|message|data|bio)\.?$|"
    r"^(?:your|insert|enter) (?:\w+ ){0,3}here\.?$",
    re.IGNORECASE,
)
# A placeholder word where prose goes ("None" or "N/A" in a notes field is an answer, not filler).
_FILLER_WORD = re.compile(
    r"^(?:string|str|text|example|sample|placeholder|lorem|todo|tbd|foo|bar|baz|dummy|value|null|"
    r"undefined|description|summary|content|\.\.\.|\u2026)\.?$",
    re.IGNORECASE,
)
# Well-formed tokens that look numeric but are data: ISO dates and times, versions, IPs, uuids.
_BENIGN = re.compile(
    r"(?<![\w.,:-])(?:\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?|"
    r"\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?|v?\d+(?:\.\d+){1,3}(?:[-+][\w.]+)?|[0-9a-f]{8}(?:-[0-9a-f]{4}){3}-[0-9a-f]{12})(?![\d:,]|\.\d)",
    re.IGNORECASE,
)
# Six or more numbers glued by punctuation ("400,371,887,149620:2011,2010").
_NUMBER_RUN = re.compile(r"\d+(?:[^\w\s]+\d+){5,}")
_SYMBOL = re.compile(r"[\d@$%^\\~|<>{}=+]")
_NUMBERISH = re.compile(r"[\d\W_]*\d[\d\W_]*")


_NUMBER_SEPARATORS = re.compile(r"[:.,;/\-]")


def _degenerate(text: str, facts: _Facts, settings: QualitySettings) -> str | None:
    if found := _CONTROL.search(text):
        return f"contains the control character {found.group()!r}"
    stripped = text.strip()
    plain = _plain(stripped)
    if _FILLER_ANYWHERE.search(stripped) or (facts.prose_slot and _FILLER_WORD.match(stripped)):
        return f"is filler: {_quote(stripped)}"
    tokens = plain.split()
    if len(tokens) < 2:
        # ids, numbers, timestamps and single words are not prose; but a dozen or more numbers
        # glued by punctuation (":18:53.1296.13:26:58:…") is a runaway, not an identifier
        if sum(part.isdigit() for part in _NUMBER_SEPARATORS.split(stripped)) >= 12:
            return f"is a run of numbers glued by punctuation: {_quote(stripped)}"
        return None
    words = len(_WORD_TOKEN.findall(plain))
    rest = _BENIGN.sub(" ", plain)
    if words and (found := _NUMBER_RUN.search(rest)):
        return f"has a run of digits and punctuation {_quote(found.group())}"
    # Numbers used as sentences ("2023-05-25. 2023-05-26. …"): three or more, and twice as many
    # as the words around them ("Step 1. Step 2." is fine).
    listless = _LIST_LINE.sub("", plain).split()  # "1. [Getting started](…)" numbers a list
    numeric_sentences = sum(1 for t in listless if t.endswith(".") and _NUMBERISH.fullmatch(t))
    if numeric_sentences >= 3 and numeric_sentences >= 2 * words:
        return f"is a run of numbers, not prose: {_quote(stripped)}"
    # "state ,": a comma standing alone at the end, or more than once (one is a typo).
    strays = [t for t in tokens if t.strip(",;") == ""]
    if strays and (len(strays) > 1 or tokens[-1] in strays):
        return f"has a stray {strays[-1]!r}: {_quote(stripped)}"
    if facts.prose:
        # Punctuation and Markdown marks belong to prose; digits and odd symbols do not.
        visible = sum(map(len, rest.split()))
        symbols = len(_SYMBOL.findall(rest))
        if visible and symbols / visible > settings.degenerate_max_symbol_ratio:
            return f"is mostly digits and symbols ({symbols}/{visible}): {_quote(stripped)}"
    return None


# ---------------------------------------------------------------- the gate


def check_value(
    data: Any,
    settings: QualitySettings,
    context: QualityContext = QualityContext(),
    extra_checks: Sequence[UserCheck] = (),
) -> list[QualityProblem]:
    """Every quality problem of ``data`` (JSON data or a pydantic model), in document order."""
    if not settings.enabled:
        return []
    data = as_json(data)
    on = set(settings.checks)
    sources = _echo_sources(context, settings)
    problems: list[QualityProblem] = []
    prose_leaves: list[Leaf] = []
    secret_shown = False
    for leaf in walk(data, context.json_schema):
        facts = _facts(leaf, settings)
        free = not facts.structured
        if facts.prose:
            prose_leaves.append(leaf)
        echo = _echo(leaf.text, sources) if "echo" in on else None
        # the other gates quote a cut of the text: a secret is blanked before it can be cut in two
        text = blank(leaf.text, sources.secrets)
        for check, reason in (
            ("echo", echo),
            ("degenerate", _degenerate(text, facts, settings) if "degenerate" in on and free else None),
            ("truncated", _truncation(text, facts, settings) if "truncated" in on and free else None),
            ("repeated", _repetition(text, facts, settings) if "repeated" in on else None),
        ):
            if reason:
                secret_shown |= reason == _SECRET
                where = leaf.pointer or "the value"
                problems.append(QualityProblem(leaf.pointer, check, f"{where} {reason}"))
    if "echo" in on and sources.secrets and not secret_shown:
        # A secret in an object key is in no string value; the whole text is searched once.
        dumped = json.dumps(data, ensure_ascii=False, default=str)
        if any(secret in dumped for secret in sources.secrets):
            problems.append(QualityProblem("", "echo", f"a key of the value {_SECRET}"))
    if "repeated" in on:
        problems += _array_repetition(prose_leaves, settings)
    for user_check in [*load_user_checks(settings.custom), *extra_checks]:
        problems += _run_user_check(user_check, data, context)
    return _drop_ignored(problems, settings)


def _drop_ignored(problems: list[QualityProblem], settings: QualitySettings) -> list[QualityProblem]:
    return [p for p in problems if not any(fnmatch.fnmatchcase(p.pointer, pat) for pat in settings.ignore)]


def _run_user_check(user_check: UserCheck, data: Any, context: QualityContext) -> list[QualityProblem]:
    name = getattr(user_check, "__name__", type(user_check).__name__)
    try:
        found = list(user_check(data, context))
    except Exception as exc:
        exc.add_note(f"in the user quality check {name}")
        raise
    if bad := [item for item in found if not isinstance(item, QualityProblem | str)]:
        raise TypeError(f"quality check {name} returned {bad[0]!r}; return QualityProblem or str")
    return [item if isinstance(item, QualityProblem) else QualityProblem("", name, item) for item in found]


def load_user_checks(paths: Sequence[str]) -> list[UserCheck]:
    """Import ``"module:function"`` entries; ``QualityConfigError`` names a bad one."""
    checks: list[UserCheck] = []
    for entry in paths:
        module_name, attribute = _split_entry(entry)
        try:
            obj: Any = importlib.import_module(module_name)
        except Exception as exc:
            raise QualityConfigError(
                f"quality check {entry!r}: cannot import {module_name!r} ({type(exc).__name__}: {exc}); "
                "make it importable from the project root or fix the name in [tool.hotdata.quality] custom"
            ) from exc
        obj = getattr(obj, attribute, None)
        if obj is None:
            raise QualityConfigError(f"quality check {entry!r} is missing, not a function (data, context)")
        checks.append(user_check(obj, repr(entry)))
    return checks


def user_check(obj: Any, label: str) -> UserCheck:
    """``obj`` when hotdata can call it as ``check(data, context)``; ``QualityConfigError`` naming
    ``label`` otherwise, so a wrong check stops the catalog once instead of failing every fixture."""
    if not callable(obj) or isinstance(obj, type):
        raise QualityConfigError(
            f"quality check {label} is a {type(obj).__name__}, not a function (data, context)"
        )
    if inspect.iscoroutinefunction(obj):
        raise QualityConfigError(
            f"quality check {label} is an 'async def' function; write it as a plain def check(data, context)"
        )
    try:
        signature = inspect.signature(obj)
    except (TypeError, ValueError):  # a builtin without a signature: trusted
        return cast(UserCheck, obj)
    try:
        signature.bind(None, None)
    except TypeError:
        raise QualityConfigError(
            f"quality check {label} takes {signature}, but hotdata calls it as check(data, context) "
            "and expects a list of problems (str or QualityProblem)"
        ) from None
    return cast(UserCheck, obj)


def _split_entry(entry: str) -> tuple[str, str]:
    module_name, _, attribute = entry.partition(":")
    if not module_name.strip() or not attribute.strip():
        raise QualityConfigError(
            f"quality check {entry!r}: expected 'module:function' (e.g. 'checks:no_lorem')"
        )
    return module_name.strip(), attribute.strip()


# ---------------------------------------------------------------- shingles (also used by _similar)


def _shingle_set(words: list[str]) -> set[tuple[str, ...]]:
    return set(_ngrams(words, 3))


def _jaccard(a: set[tuple[str, ...]], b: set[tuple[str, ...]]) -> float:
    return len(a & b) / len(a | b) if a and b else 0.0
