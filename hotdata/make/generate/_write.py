"""Prose fields: ``ctx.write`` asks for free text, cut back to whole sentences and gated.

A small model writes much better prose as free text than inside a JSON grammar,
where it is cut at ``maxLength`` mid-word or loops. So a generator picks the
structure itself (names, enums, numbers, lists) and asks for each prose field:

    summary = await ctx.write(
        f"{name} is in crisis. In two sentences, describe what {name} feels and fears.",
        max_length=300, start=[f"{name} feels", f"Most of all, {name} fears"], protect=[name],
    )

``start`` begins the answer (a list: one sentence per opener, each continued by the
model), which pins subject and topic and stops "Sure! Here is…". The answer is
cleaned (labels, quotes, list markers), cut back to the last whole sentence that
fits ``max_length`` (never mid-word), and must pass the quality gates; otherwise
another sample is drawn. Models that take the hints (the embedded one: ``prefill``,
``sentences``, ``one_line``, ``protect`` options) continue the text themselves;
others are asked in words to begin with the opener.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ..._provenance import Repair
from ..._schema import SchemaAdapter
from .._errors import GenerationError
from .._json_schema import is_shaped, resolve_ref
from .._secrets import redact
from ..quality._gates import check_value
from ..quality._settings import QualityContext
from ..quality._similar import similarity
from ..quality._text import open_quote, split_sentences
from ._ask import Asker
from ._json_answers import ARRAY_CAP, extract_json, schema_for_model
from ._repair import refused_fields

__all__ = [
    "clean",
    "generate_with_prose",
    "prose_fields",
    "trim_phrase",
    "trim_to_sentence",
    "with_context",
    "write",
]

_LABEL = re.compile(r"^\s*([A-Z][\w'\u2019 -]{0,40}?)\s*:\s+")
_SUBORDINATE = re.compile(
    r"^(although|though|when|whenever|if|while|as|because|since|unless|until|after|before|once|"
    r"whether|despite|in order)\b",
    re.I,
)
_DANGLING = frozenset(
    [
        "a",
        "an",
        "the",
        "and",
        "or",
        "but",
        "to",
        "of",
        "in",
        "on",
        "at",
        "for",
        "with",
        "by",
        "from",
        "into",
        "onto",
        "as",
        "that",
        "which",
        "who",
        "whose",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "his",
        "her",
        "its",
        "their",
        "our",
        "my",
        "your",
        "this",
        "these",
        "those",
        "than",
        "then",
        "if",
        "because",
        "while",
        "when",
        "so",
        "not",
        "no",
        "very",
        "more",
        "most",
        "about",
        "over",
        "under",
        "between",
        "through",
        "it's",
        "he",
        "she",
        "they",
        "we",
        "i",
    ]
)
_WORD = re.compile(r"[A-Za-z][A-Za-z'\-]*|\d+")
# Strings allowed at least this many characters are prose, written apart for models that need it.
_PROSE_MIN = 60
# The least room kept for each sentence still to come in a multi-sentence answer.
_PER_SENTENCE = 60
# Models that take these options continue a started answer themselves (the embedded model does).
PROSE_OPTIONS = frozenset({"prefill", "sentences", "one_line", "protect"})


def clean(text: str) -> str:
    """The first paragraph on one line, without labels ("Summary:"), wrapping quotes, markdown."""
    t = re.split(r"<\|", text.replace("\r", ""))[0]
    paragraphs = [p for p in re.split(r"\n\s*\n", t) if p.strip()]
    t = paragraphs[0] if paragraphs else ""
    t = re.sub(r"^\s*(?:[-*\u2022]|\d+[.)])\s+", "", t)
    t = " ".join(t.replace("**", "").replace("__", "").replace("`", "").split())
    for _ in range(2):
        label = _LABEL.match(t)
        if label and len(label.group(1).split()) <= 4:
            t = t[label.end() :].strip()
        if len(t) >= 2 and t[0] in "\"\u201c'" and t[-1] in "\"\u201d'":
            t = t[1:-1].strip()
        elif t[:1] in '"\u201c' and sum(t.count(q) for q in '"\u201c\u201d') == 1:
            t = t[1:].strip()
    return t


def _complete(sentence: str) -> bool:
    return bool(re.search(r"[.!?][\"'\u201d\u2019)\]]?$", sentence)) and not open_quote(sentence)


def trim_to_sentence(text: str, max_len: int, max_sentences: int | None = None, *, min_len: int = 1) -> str:
    """The longest run of whole sentences from the start that fits ``max_len`` (and ``max_sentences``).

    When not even the first sentence fits, it is cut at its last clause boundary that
    fits - if what is kept is a main clause of at least ``min_len`` characters that does
    not end on a dangling word - and closed with a period. '' when nothing qualifies:
    text is never cut mid-word.
    """
    kept: list[str] = []
    sentences = split_sentences(text)
    for sentence in sentences:
        if not _complete(sentence) or (max_sentences is not None and len(kept) >= max_sentences):
            break
        if len(" ".join([*kept, sentence])) > max_len:
            break
        kept.append(sentence)
    if kept or not sentences:
        return " ".join(kept)
    first = sentences[0]
    if _SUBORDINATE.match(first):
        return ""
    cuts = [m.start() for m in re.finditer(r"[,;:]\s|\s[-\u2013\u2014]\s", first) if m.start() + 1 <= max_len]
    for cut in reversed(cuts):
        if first[cut:].lstrip(" ,;:-\u2013\u2014")[:1] in "\"\u201c'":
            continue  # never cut just before a quotation
        head = first[:cut].rstrip(" ,;:-\u2013\u2014")
        words = head.split()
        if len(head) + 1 < min_len or not words or words[-1].lower().strip("'\"") in _DANGLING:
            continue
        if head.count('"') % 2 or head.count("(") != head.count(")"):
            continue
        return head + "."
    return ""


def trim_phrase(text: str, max_len: int, max_words: int | None = None) -> str:
    """A short phrase: its first sentence without the final stop, cut at a comma if too long;
    '' when it still does not fit or ends on a dangling word."""
    if not text.strip():
        return ""
    phrase = split_sentences(text)[0].rstrip(".!?;:,").strip()

    def too_long(x: str) -> bool:
        return len(x) > max_len or (max_words is not None and len(x.split()) > max_words)

    if too_long(phrase) and "," in phrase:
        phrase = phrase.split(",")[0].strip()
    if too_long(phrase) or not phrase or phrase.split()[-1].lower() in _DANGLING:
        return ""
    return phrase


def with_context(prompt: str, context: Sequence[str]) -> str:
    """``prompt`` after the material it builds on (``context=``); unchanged without any."""
    material = [c for c in context if c]
    return "Context:\n" + "\n".join(material) + "\n\n" + prompt if material else prompt


def _untrimmed(text: str, max_len: int) -> str:
    """Why no whole sentence of ``text`` fits ``max_len``: one cause, in words."""
    sentences = split_sentences(text)
    if not sentences or not _complete(sentences[0]):
        return (
            f"the text stopped mid-sentence ({len(text)} characters, no sentence end): cut off, or a runaway"
        )
    return f"its first sentence is {len(sentences[0])} characters, past max_length={max_len}"


def _too_few_words(opener: str) -> str:
    """Why the model added (almost) nothing to ``opener``."""
    end = opener.rstrip()[-1:]
    if end in (".", "!", "?", ":", ";"):
        return (
            f"the opener {opener!r} ends with {end!r}, so its sentence is over before the model "
            "writes: end the opener mid-sentence (start='Mara checks the')"
        )
    return f"the model added fewer than 3 words to the opener {opener!r}"


def _new_words(prefill: str, text: str) -> int:
    """Words the model added to its opener before the first full stop."""
    added = text[len(prefill) :] if text.startswith(prefill) else text
    return len(_WORD.findall(added.split(".")[0]))


async def write(
    asker: Asker,
    instruction: str,
    *,
    max_length: int,
    min_length: int = 1,
    sentences: int | None = None,
    start: str | Sequence[str] | None = None,
    keep_start: bool = True,
    phrase: bool = False,
    max_words: int | None = None,
    protect: Sequence[str] = (),
    avoid: Sequence[str] = (),
    check: Callable[[str], Sequence[str]] | None = None,
    best_of: int = 2,
    context: Sequence[str] = (),
    where: str = "",
    field: str = "",
    first_sample: int = 0,
) -> str:
    """Free text for one prose field; see the module docstring.

    Each attempt draws up to ``best_of`` samples and takes the first that passes the
    gates (most pass at once, so the second is rarely drawn); an attempt fails when
    all of its samples fail. ``context``: material sent before the instruction that the
    text may build on and repeat (not an echo); ``where``: the generator's line that asked;
    ``field``: the field of a ``ctx.generate`` answer it writes (named in refusals);
    ``first_sample``: samples numbered after it (a field or a whole written again draws new ones).
    """
    instruction = with_context(instruction, context)
    asker.note_material(*context)
    parts: list[str] = [start] if isinstance(start, str) else list(start or [""])
    guided = start is not None and not isinstance(start, str)
    draft = _Draft(
        asker,
        instruction,
        parts=parts,
        guided=guided,
        sentences=len(parts) if guided else sentences,
        phrase=phrase,
        max_length=max_length,
        min_length=min_length,
        max_words=max_words,
        protect=protect,
    )
    fixture = asker.plan.inputs
    judged = asker.echo_context(instruction)
    reasons: list[str] = []
    asker.note_prompt(instruction, f"ctx.write at {where}" if where and not field else "")
    for attempt in range(1, asker.max_attempts + 1):
        for sample in range(best_of):
            value = await draft(first_sample + (attempt - 1) * max(1, best_of) + sample + 1)
            if value and not keep_start and parts[0] and value.startswith(parts[0]):
                value = value[len(parts[0]) :].strip()
            reasons = [draft.why] if not value else []
            reasons += _problems(value, min_length, max_length, avoid, fixture.quality, judged, check)
            if not reasons:
                value = value[:1].upper() + value[1:]
                asker.note_material(value)
                return value
        asker.refuse(reasons[:10])
    secrets = list(fixture.secrets)
    call = f"ctx.write at {where}" if where else f"ctx.write({redact(instruction, secrets)[:60]!r}…)"
    if field:
        call = f"ctx.generate at {where}, field {field!r}" if where else f"field {field!r}"
    shown = start if isinstance(start, str) or start is None else list(start)
    opener = f" (start={redact(repr(shown), secrets)})" if parts[0] else ""
    raise GenerationError(
        f"fixture {asker.fixture}: {call}{opener}: no acceptable text in "
        f"{asker.max_attempts} attempt(s) of {best_of} sample(s); last: {'; '.join(reasons[:3])}. "
        "Give the instruction more to work with (a `start`), allow more length, or tune "
        "[tool.hotdata.quality]"
    )


class _Draft:
    """One sample of a prose field: the openers continued by the model, cleaned and trimmed."""

    def __init__(
        self,
        asker: Asker,
        instruction: str,
        *,
        parts: list[str],
        guided: bool,
        sentences: int | None,
        phrase: bool,
        max_length: int,
        min_length: int,
        max_words: int | None,
        protect: Sequence[str],
    ) -> None:
        self.asker, self.instruction, self.parts, self.guided = asker, instruction, parts, guided
        self.sentences, self.phrase, self.protect = sentences, phrase, protect
        self.max_length, self.min_length, self.max_words = max_length, min_length, max_words
        self.takes_hints = set(asker.capabilities.option_names or ()) >= PROSE_OPTIONS
        self.why = ""  # why the last sample came out empty, in words

    async def __call__(self, sample: int) -> str:
        self.why = ""
        value = ""
        for i, part in enumerate(self.parts):
            so_far = f"{value} {part}".strip() if value else part
            # leave room for the sentences still to come, so the first cannot starve the rest
            reserve = _PER_SENTENCE * (len(self.parts) - i - 1)
            budget = max(_PER_SENTENCE, self.max_length - len(value) - (1 if value else 0) - reserve)
            text = await _continue(
                self.asker,
                self.instruction,
                so_far,
                sample,
                i,
                budget,
                self.takes_hints,
                sentences=(i + 1) if self.guided else (1 if self.phrase else self.sentences),
                one_line=self.guided or self.phrase,
                protect=self.protect,
            )
            if part and _new_words(so_far, text) < 3:
                return self._empty(_too_few_words(part))
            if part and not clean(text).startswith(so_far[:12]):
                return self._empty(
                    f"the opener {part!r} was read as a label ('Word: …') and cut: "
                    "write it as the start of a sentence"
                )
            if self.guided:
                fresh = text[len(value) :].strip() if value and text.startswith(value) else text
                piece = trim_to_sentence(clean(fresh), budget, 1)
                if not piece:
                    return self._empty(
                        f"the sentence begun with {part!r}: {_untrimmed(clean(fresh), budget)}"
                    )
                value = f"{value} {piece}".strip()
            elif self.phrase:
                value = trim_phrase(clean(text), self.max_length, self.max_words)
                if not value:
                    words = f" or {self.max_words} words" if self.max_words else ""
                    return self._empty(
                        f"no phrase within {self.max_length} characters{words} "
                        "(too long, or it ended on a word like 'the' or 'and')"
                    )
            else:
                value = trim_to_sentence(
                    clean(text), self.max_length, self.sentences, min_len=self.min_length
                )
                if not value:
                    return self._empty(_untrimmed(clean(text), self.max_length))
        return value

    def _empty(self, why: str) -> str:
        self.why = why
        return ""


async def _continue(
    asker: Asker,
    instruction: str,
    so_far: str,
    attempt: int,
    part: int,
    budget: int,
    takes_hints: bool,
    *,
    sentences: int | None,
    one_line: bool,
    protect: Sequence[str],
) -> str:
    """The answer so far continued by the model (through the answer store, like any request)."""
    options: dict[str, Any] = asker.requests.sample_options(asker.round, attempt, part)
    prompt = instruction
    if takes_hints:
        options.update(prefill=so_far, sentences=sentences, one_line=one_line, protect=list(protect))
        options["max_tokens"] = int(budget * 0.3) + 8
    elif so_far:
        prompt = f"{instruction}\n\nBegin your answer with: {so_far}"
    reply = await asker.answer(asker.requests.request(prompt, attempt=attempt, options=options))
    text = reply.text.strip()
    if so_far and not text.startswith(so_far):
        text = f"{so_far} {text}"  # a model that restarted instead of continuing
    return text


def _problems(
    value: str,
    min_length: int,
    max_length: int,
    avoid: Sequence[str],
    quality: Any,
    context: QualityContext,
    check: Callable[[str], Sequence[str]] | None,
) -> list[str]:
    if not value:
        return []  # the draft says why (``_Draft.why``)
    reasons = [str(p.message) for p in check_value(value, quality, context)]
    if not min_length <= len(value) <= max_length:
        reasons.append(f"{len(value)} characters, outside {min_length}..{max_length}")
    for other in avoid:
        if other and similarity(value, other) > quality.near_duplicate_threshold:
            reasons.append(f"says the same as {redact(other, list(context.secrets))[:40]!r}…")
            break
    if check is not None:
        reasons += list(check(value))
    return reasons


def prose_fields(schema: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    """Top-level free-text fields of an object schema worth writing as prose apart: strings of
    no fixed shape (enum, const, format, pattern) allowed at least ``_PROSE_MIN`` characters."""
    out: dict[str, Mapping[str, Any]] = {}
    for name, field_schema in (schema.get("properties") or {}).items():
        node = resolve_ref(schema, field_schema)
        if node.get("type") != "string" or is_shaped(node):
            continue
        if int(node.get("maxLength", _PROSE_MIN)) >= _PROSE_MIN:
            out[name] = node
    return out


# Sample numbers one ctx.generate attempt leaves to each prose field's ``write``.
_SAMPLES_PER_ATTEMPT = 100


async def generate_with_prose(
    asker: Asker,
    prompt: str,
    adapter: SchemaAdapter[Any],
    fields: Mapping[str, Mapping[str, Any]],
    system: str | None,
    *,
    where: str = "",
) -> Any:
    """One value whose prose fields are written apart (``write``) and whose structure is decoded
    under the schema: what a small model does well, each on its own. A value refused at some
    fields (``retries.repair = "field"``) has only those written again: a prose field alone, or
    the structure, the rest kept."""
    asked = schema_for_model(adapter.json_schema() or {}, ARRAY_CAP)
    rest = [n for n in asked.get("properties", {}) if n not in fields]
    structure = copy.deepcopy(asked)
    for name in fields:  # decoded as a fixed placeholder, replaced by the written text
        structure["properties"][name] = {"type": "string", "const": "-"}
    fixture = asker.plan.inputs
    judged = asker.echo_context(prompt)
    reasons: list[str] = []
    asker.note_prompt(prompt, f"ctx.generate at {where}" if where else "")
    data: dict[str, Any] = {}
    todo: set[str] = {*fields, *rest}  # what the next attempt writes or decodes again
    whole_tokens: int | None = None  # output tokens of the last attempt that wrote everything
    for attempt in range(1, asker.max_attempts + 1):
        whole = todo >= {*fields, *rest}
        before = _output_tokens(asker)
        if rest and todo & set(rest):
            request = asker.requests.request(
                prompt,
                attempt=attempt,
                json_schema=structure,
                system=system,
                options=asker.requests.sample_options(asker.round, attempt),
            )
            reply = await asker.answer(request)
            try:
                decoded = json.loads(extract_json(reply.text))
            except ValueError:
                reasons = ["the structure is not JSON (cut off, or runaway)"]
                asker.refuse(reasons)
                continue
            data.update(
                {k: v for k, v in decoded.items() if k not in fields} if isinstance(decoded, dict) else {}
            )
            if not whole:  # asked again for the structure field(s) refused: named by the first
                _repaired(asker, f"/{_escape(min(todo & set(rest)))}", before, whole_tokens)
        for name, node in fields.items():
            if name not in todo:
                continue
            limit = int(node.get("maxLength", 400))
            about = f" ({node['description']})" if node.get("description") else ""
            sentences = max(1, min(3, limit // 100))
            started = _output_tokens(asker)
            data[name] = await write(
                asker,
                f"{prompt}\nWrite the {name.replace('_', ' ')}{about}, in {sentences} sentence(s).",
                max_length=limit,
                min_length=int(node.get("minLength", 1)),
                sentences=sentences,
                where=where,
                field=name,
                # a field written again draws samples the earlier attempts did not
                first_sample=(attempt - 1) * _SAMPLES_PER_ATTEMPT,
            )
            if not whole:
                _repaired(asker, f"/{_escape(name)}", started, whole_tokens)
        if whole:
            whole_tokens = _output_tokens(asker) - before
        raw = json.dumps(data, ensure_ascii=False).encode("utf-8")
        reasons = adapter.errors_for(raw)
        todo = {*fields, *rest}
        if not reasons:
            value = adapter.validate_json(raw)
            problems = check_value(json.loads(raw), fixture.quality, judged, fixture.checks)
            reasons = [p.message for p in problems]
            if not reasons:
                return value
            refused = refused_fields(problems) if fixture.repair == "field" else None
            if refused is not None:
                tops = {_unescape(pointer.split("/")[1]) for pointer in refused}
                todo = tops if tops <= todo else todo
        asker.refuse(reasons[:10])
    site = f"ctx.generate at {where}: " if where else ""
    raise GenerationError(
        f"fixture {asker.fixture}: {site}no acceptable answer for {adapter.label} in {asker.max_attempts} "
        f"attempt(s); last: {'; '.join(reasons[:3])}"
    )


def _output_tokens(asker: Asker) -> int:
    return asker.tally.usage.output_tokens or 0


def _repaired(asker: Asker, pointer: str, before: int, whole_tokens: int | None) -> None:
    """A field written again alone: what it took, against the whole attempt it stands in for."""
    asker.tally.repairs.append(
        Repair(
            attempt=asker.tally.attempts,
            pointer=pointer,
            output_tokens=_output_tokens(asker) - before,
            whole_output_tokens=whole_tokens,
        )
    )


def _escape(name: str) -> str:
    return name.replace("~", "~0").replace("/", "~1")


def _unescape(step: str) -> str:
    return step.replace("~1", "/").replace("~0", "~")
