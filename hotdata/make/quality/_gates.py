"""Quality gates: pydantic decides whether a model's answer is valid; these decide whether it is good.

Pure functions over JSON data. Every string value is checked and reported by its RFC 6901
JSON pointer; arrays and the whole value are checked too. Built-in checks:

- ``truncated``: prose that stops mid-sentence ("…staring at a map of");
- ``repeated``: a sentence or word run said again in a value, or by many items of an array;
- ``echo``: the prompt, hotdata's feedback, JSON-Schema text, template syntax or a secret;
- ``degenerate``: runs of digits or punctuation, control characters, filler;
- ``near-duplicate``: two variants of a fixture family saying the same thing;
- ``placeholder``: a slot nobody filled (``[Company]``, ``<name>``, ``TBD``);
- ``meta``: text about the task, the text or the model ("as an AI", "I hope this helps");
- ``names``: a stand-in or replaced proper name nothing the fixture was given supplies (opt-in);
- ``roles``: a turn of a conversation spoken by the wrong side ("Agent: …" from the customer).

A string is prose only when it clearly is (enough words, mostly words): labels, ids, enums,
timestamps, URLs and numbers are left alone, because a false positive is as bad as a miss.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from .._json_schema import is_shaped
from .._secrets import blank
from ._leaves import Leaf, as_json, walk
from ._meaning import meta_commentary, placeholder
from ._names import KnownNames, invented_name
from ._roles import conversations, role_problem
from ._settings import QualityContext, QualityProblem, QualitySettings, UserCheck, load_user_checks
from ._text import (
    CLOSERS,
    OPEN_QUOTES,
    count_words,
    is_prose,
    jaccard,
    ngrams,
    shingles,
    split_sentences,
    words,
)

__all__ = ["check_value"]


@dataclass(frozen=True)
class _Facts:
    structured: bool  # enum, const, format or pattern: not free text
    prose: bool  # enough words, mostly words
    max_length: int | None
    prose_slot: bool  # the schema or the key name says this is where prose goes


def _wordset(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Key names whose value is prose; a placeholder word there is filler.
_PROSE_KEYS = _wordset(
    "description summary text content body narrative message bio notes note comment details "
    "story caption activity stance explanation reason paragraph"
)


def _facts(leaf: Leaf, settings: QualitySettings) -> _Facts:
    strings = [s for s in leaf.schemas if s.get("type", "string") == "string" or "string" in s["type"]]
    structured = any(is_shaped(s) for s in strings)
    lengths = [n for s in strings if isinstance(n := s.get("maxLength"), int)]
    # With several alternatives, the loosest bound counts (and none when one is unbounded).
    max_length = max(lengths) if lengths and len(lengths) == len(strings) else None
    # A long free-text field (maxLength ≥ 100 or minLength ≥ 10) is a prose slot.
    roomy = any(s.get("maxLength", 0) >= 100 or s.get("minLength", 0) >= 10 for s in strings)
    prose = not structured and is_prose(leaf.text, settings.prose_min_words)
    return _Facts(structured, prose, max_length, roomy or leaf.key.lower() in _PROSE_KEYS)


# ---------------------------------------------------------------- text helpers

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
_LIST_LINE = re.compile(r"^\s*(?:[-*+>#|]|\d+[.)])\s", re.MULTILINE)
_URLISH = re.compile(r"(?:https?://|www\.|\S+@\S+\.\S+|\S*/\S*)")


def _truncation(text: str, facts: _Facts, settings: QualitySettings) -> str | None:
    s = text.rstrip()
    tokens = s.split()
    at_limit = facts.max_length is not None and len(text) >= facts.max_length
    if at_limit and len(tokens) >= 2 and s[-1].isalnum():
        return f"is cut at the schema's maxLength ({facts.max_length}) mid-sentence ({_quote(s, tail=True)})"
    if not facts.prose:
        return None
    last = tokens[-1].lstrip("\"'(" + OPEN_QUOTES).lower()
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
    earlier = split_sentences(last_line)[:-1]
    if (
        s[-1].isalnum()
        and earlier
        and all(sentence.rstrip(CLOSERS).endswith(".") for sentence in earlier)
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
    for sentence in split_sentences(text):
        said = tuple(words(sentence))
        if len(said) >= settings.repeat_ngram:
            seen[said] += 1
            if seen[said] == 2:
                return f"repeats the sentence {_quote(sentence)}"
    # Word runs are counted line by line: list items in parallel ("- @ann made their first
    # contribution", "- @bo made their first contribution") are structure, not a loop.
    for line in _plain(text).splitlines():
        line_words = words(line)
        # Longer texts reuse a phrase in parallel sentences ("bit 4 is set if the function …; bit 8
        # is set if the function …"): one more occurrence allowed per 40 words. Loops are denser.
        allowed = settings.repeat_max + len(line_words) // 40
        grams = Counter(ngrams(line_words, settings.repeat_ngram))
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
            said = words(leaf.text)
            key = tuple(said)
            original = firsts.get(key)
            mine = shingles(said)
            if original is None and len(said) >= 10:
                # Nearly identical: compared with the 8 items before only, to stay linear.
                for other, theirs in recent[-8:]:
                    if jaccard(mine, theirs) > settings.near_duplicate_threshold:
                        original = other
                        break
            if original is None:
                firsts.setdefault(key, leaf)
                recent.append((leaf, mine))
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


class _EchoSources(NamedTuple):
    secrets: list[str]  # secrets shorter than 6 characters would match ordinary words: skipped
    feedback: re.Pattern[str]  # hotdata's own phrases, any case
    # every run of echo_min_words words of the prompts, with the call that asked it ('' unnamed);
    # runs that come from the context (material to build on) are left out
    prompt_spans: dict[tuple[str, ...], str]
    span: int


def _echo_sources(context: QualityContext, settings: QualitySettings) -> _EchoSources:
    markers = [re.escape(m) for m in context.feedback_markers if m] or ["(?!)"]
    span = settings.echo_min_words
    spans: dict[tuple[str, ...], str] = {}
    for label, prompt in [*context.prompts, ("", context.prompt or "")]:
        for gram in ngrams(words(prompt), span):
            spans.setdefault(gram, label)
    for material in context.context:
        for gram in ngrams(words(material), span):
            spans.pop(gram, None)
    return _EchoSources(
        [secret for secret in context.secrets if len(secret) >= 6],
        re.compile("|".join(markers), re.IGNORECASE),
        spans,
        span,
    )


def _echo(text: str, sources: _EchoSources) -> str | None:
    secrets, feedback, prompt_spans, span = sources
    if any(secret in text for secret in secrets):
        return _SECRET
    if feedback.search(text) or _FEEDBACK_LINE.search(text):
        return f"contains hotdata's own feedback: {_quote(text)}"
    if prompt_spans:
        copied = next((g for g in ngrams(words(text), span) if g in prompt_spans), None)
        if copied:
            label = prompt_spans[copied]
            return f"copies the prompt{f' of {label}' if label else ''}: {_quote(' '.join(copied))}"
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
    alphabetic = count_words(plain)
    rest = _BENIGN.sub(" ", plain)
    if alphabetic and (found := _NUMBER_RUN.search(rest)):
        return f"has a run of digits and punctuation {_quote(found.group())}"
    # Numbers used as sentences ("2023-05-25. 2023-05-26. …"): three or more, and twice as many
    # as the words around them ("Step 1. Step 2." is fine).
    listless = _LIST_LINE.sub("", plain).split()  # "1. [Getting started](…)" numbers a list
    numeric_sentences = sum(1 for t in listless if t.endswith(".") and _NUMBERISH.fullmatch(t))
    if numeric_sentences >= 3 and numeric_sentences >= 2 * alphabetic:
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

_NO_CONTEXT = QualityContext()


def check_value(
    data: Any,
    settings: QualitySettings,
    context: QualityContext = _NO_CONTEXT,
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
    leaves = [(leaf, _facts(leaf, settings)) for leaf in walk(data, context.json_schema)]
    known = _known_names(context, settings, leaves) if "names" in on else None
    for leaf, facts in leaves:
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
            ("placeholder", placeholder(text) if "placeholder" in on and free else None),
            ("meta", meta_commentary(text) if "meta" in on and free else None),
            ("names", _names(text, known, facts)),
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
    if "roles" in on:
        problems += _role_problems(data, settings)
    for user_check in [*load_user_checks(settings.custom), *extra_checks]:
        problems += _run_user_check(user_check, data, context)
    return settings.reported(problems)


def _known_names(
    context: QualityContext, settings: QualitySettings, leaves: list[tuple[Leaf, _Facts]]
) -> KnownNames | None:
    """What the fixture was given, or None when the prompts are unknown (committed data)."""
    prompts = [p for _, p in context.prompts] + ([context.prompt] if context.prompt else [])
    if not prompts:
        return None
    fields = [leaf.text for leaf, facts in leaves if not facts.prose]
    return KnownNames.of([*prompts, *context.context], fields, settings.names)


def _names(text: str, known: KnownNames | None, facts: _Facts) -> str | None:
    if known is None or not facts.prose or facts.structured or not (reason := invented_name(text, known)):
        return None
    name = reason.split("'")[1] if "'" in reason else reason
    return f"{reason} (names check); if it is right, allow it: names = [{json.dumps(name)}] in [tool.hotdata.quality]"


def _role_problems(data: Any, settings: QualitySettings) -> list[QualityProblem]:
    declared = {pointer: (f.role, f.text) for pointer, f in settings.roles.items()}
    problems = []
    for pointer, items, (role_key, text_key) in conversations(data, declared):
        roles = [
            item[role_key] for item in items if isinstance(item, dict) and isinstance(item.get(role_key), str)
        ]
        for i, item in enumerate(items):
            if not isinstance(item, dict):
                continue
            role, text = item.get(role_key), item.get(text_key)
            if (
                isinstance(role, str)
                and isinstance(text, str)
                and (reason := role_problem(text, role, roles))
            ):
                where = f"{pointer}/{i}/{text_key.replace('~', '~0').replace('/', '~1')}"
                message = (
                    f"{where} (role {role!r}) {reason} (roles check); if that role may say it, "
                    f"ignore the pointer: ignore = [{json.dumps(where)}] in [tool.hotdata.quality]"
                )
                problems.append(QualityProblem(where, "roles", message))
    return problems


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
