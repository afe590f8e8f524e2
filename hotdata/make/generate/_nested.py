"""Nested objects for a small model: asked item by item, structure and prose apart.

A model that decodes under a grammar without reading the schema's text (the embedded
135M model) answers one request for a nested object badly: prose fields come back as
digit runs ("1.1.1.1") or snake_case ids, and lists of strings as skeletons ("1. ",
"2. "). So ``ctx.generate`` of an object holding objects, lists of objects or lists of
texts is asked the way such a model works:

* each object's **structure** (numbers, enums, booleans, ids, formats, short labels) is
  decoded under the grammar, one request per object, its fields described in words;
* a **list of objects** is asked one item at a time, each with the items so far as
  context, so the items differ;
* each **prose leaf** (a free-text string, or an item of a list of texts) is written apart
  through the prose path, as ``ctx.write`` writes it, with that object's structure as
  context and the same leaf of earlier items to avoid;

then the value is assembled, validated against the whole schema and gated as a whole.
A refused whole is asked again with new samples, up to ``retries.validation_attempts``.
Models that take a JSON Schema and read it keep the one-request path (``Asker.ask``).
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..._schema import SchemaAdapter
from .._errors import GenerationError
from .._json_schema import is_shaped, resolve_ref
from ..models._seam import ModelCapabilities
from ..quality._gates import check_value
from ..quality._leaves import iter_strings
from ._ask import Asker
from ._json_answers import extract_json, field_guide, schema_for_model
from ._write import write

__all__ = ["asks_item_by_item", "generate_nested"]

# Keys whose strings are identifiers or codes, decoded under the grammar, never written as prose.
_ID_KEY = re.compile(
    r"(^|_)(id|ids|uuid|slug|sku|code|key|email|url|uri|phone|handle|username|zip|postcode|"
    r"currency|country|locale|language|version|date|time)$",
    re.I,
)
# Keys whose text is a name or a heading: a short phrase, without a final stop.
_PHRASE_KEY = re.compile(
    r"(^|_)(name|title|headline|label|subject|place|region|role|game|winner|leader)$", re.I
)
# Keys naming who wrote the object's prose: the prose speaks as them, not about them.
_VOICE_KEY = re.compile(r"(^|_)(author|reviewer|customer|user|writer|speaker|sender|by)$", re.I)
# Keys whose text is prose, in sentences, whatever its length.
_SENTENCE_KEY = re.compile(
    r"(^|_)(description|summary|text|body|message|bio|notes?|comment|details|story|recap|review|"
    r"abstract|tip|advice|explanation|reason|happened|findings)$",
    re.I,
)
# Free strings allowed at most this many characters are labels (a name, a place), decoded under
# the grammar in words: a small model's grammar answer there is otherwise a snake_case id.
_LABEL_MAX = 60
_WORDS = r"^[A-Z][a-z]{1,15}( [A-Za-z][a-z]{1,15}){0,5}$"  # words, not "LADY-AM-A" or "zai-zai"
# Free strings allowed fewer characters than this (and no sentence key) are written as phrases.
_PHRASE_MAX = 120
# The sampling temperature of structure requests when the fixture sets none (the catalog's).
_WARM = 0.8
# Items asked for in a list of objects or texts that sets no minimum.
_DEFAULT_ITEMS = 2


def asks_item_by_item(capabilities: ModelCapabilities, json_schema: Mapping[str, Any]) -> bool:
    """Whether ``ctx.generate`` of ``json_schema`` is asked item by item: for a model that decodes
    under a grammar without reading the schema's text and writes prose apart, when the object
    holds objects, lists of objects or lists of texts."""
    if not (capabilities.reads_no_schema_text and capabilities.writes_prose_apart):
        return False
    root = schema_for_model(json_schema)
    node = resolve_ref(root, root)
    if node.get("type") != "object" or not node.get("properties"):
        return False
    return any(
        _kind(root, name, sub)[0] in ("object", "items", "texts") for name, sub in node["properties"].items()
    )


def _kind(root: Mapping[str, Any], name: str, node: Any) -> tuple[str, Mapping[str, Any]]:
    """How one property is asked: ``object``, ``items`` (a list of objects), ``texts`` (a list of
    prose strings), ``text`` (one prose string) or ``structure`` (under the grammar)."""
    node = resolve_ref(root, node)
    if not isinstance(node, Mapping):
        return "structure", {}
    if node.get("type") == "object" and node.get("properties"):
        return "object", node
    if node.get("type") == "array":
        items = resolve_ref(root, node.get("items", {}))
        if isinstance(items, Mapping) and items.get("type") == "object" and items.get("properties"):
            return "items", node
        if isinstance(items, Mapping) and _is_text(name, items):
            return "texts", node
        return "structure", node
    return ("text", node) if _is_text(name, node) else ("structure", node)


def _is_text(name: str, node: Mapping[str, Any]) -> bool:
    """A free-text string written apart: longer than a label, or prose by its key."""
    if not _is_free(name, node):
        return False
    return int(node.get("maxLength", _PHRASE_MAX)) > _LABEL_MAX or bool(_SENTENCE_KEY.search(name))


def _is_free(name: str, node: Mapping[str, Any]) -> bool:
    """A string of no fixed form that is not an identifier or a code."""
    return node.get("type") == "string" and not is_shaped(node) and not _ID_KEY.search(name)


def _singular(name: str) -> str:
    words = name.replace("_", " ")
    if words.endswith("ies"):
        return words[:-3] + "y"
    return words[:-1] if words.endswith("s") and not words.endswith("ss") else words


def _pointer(path: tuple[str | int, ...]) -> str:
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in path) or "/"


def _line(data: Mapping[str, Any], limit: int = 160) -> str:
    """One object in a line a small model reads: ``key: value; key: value``."""
    parts = []
    for key, value in data.items():
        if isinstance(value, Mapping | list):
            continue
        parts.append(f"{key.replace('_', ' ')}: {value}")
    text = "; ".join(parts)
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


@dataclass
class _Where:
    """Where in the value a request is: its path, and the words that name it."""

    path: tuple[str | int, ...]
    words: str  # "ingredient 2 of 3", "stop 1 of 2 of day 1", "" at the top
    so_far: list[str]  # earlier items of the same list, one line each
    earlier: list[Any] = dataclasses.field(default_factory=list)  # those items themselves
    subject: str = ""  # the nearest label above (a name, a place): prose about it starts with it


class _NestedAsk:
    """One ``ctx.generate`` of a nested object, asked item by item (see the module docstring)."""

    def __init__(
        self, asker: Asker, prompt: str, root: dict[str, Any], system: str | None, where: str
    ) -> None:
        self.asker, self.prompt, self.root, self.system, self.where = asker, prompt, root, system, where
        self.outer = 0  # the whole value's attempt: each one draws new samples
        self.takes_schema = asker.capabilities.supports_schema

    async def value(self) -> dict[str, Any]:
        return await self._object(self.root, _Where((), "", []))

    async def _object(self, node: Mapping[str, Any], at: _Where) -> dict[str, Any]:
        node = resolve_ref(self.root, node)
        properties: Mapping[str, Any] = node.get("properties", {})
        kinds = {name: _kind(self.root, name, sub) for name, sub in properties.items()}
        structure = [n for n, (k, _) in kinds.items() if k == "structure"]
        data: dict[str, Any] = await self._structure(node, structure, at) if structure else {}
        labels = [
            data[n]
            for n in structure
            if _is_free(n, kinds[n][1]) and isinstance(data.get(n), str) and not _VOICE_KEY.search(n)
        ]
        subject = next((str(v).strip() for v in labels if str(v).strip()), at.subject)
        for name, (kind, sub) in kinds.items():
            path = (*at.path, name)
            of = f" of {at.words}" if at.words else ""
            if kind == "object":
                words = f"the {name.replace('_', ' ')}{of}"
                data[name] = await self._object(sub, _Where(path, words, [], subject=subject))
            elif kind == "items":
                data[name] = await self._items(sub, name, path, of, subject)
        facts = [_line(data)] if _line(data) else []
        at = dataclasses.replace(at, subject=subject)
        for name, (kind, sub) in kinds.items():
            path = (*at.path, name)
            if kind == "texts":
                data[name] = await self._texts(sub, name, path, at, facts)
            elif kind == "text":
                same = [
                    e[name] for e in at.earlier if isinstance(e, Mapping) and isinstance(e.get(name), str)
                ]
                data[name] = await self._text(sub, name, path, at, facts, same)
        return {name: data[name] for name in properties if name in data}

    async def _items(
        self, node: Mapping[str, Any], name: str, path: tuple[str | int, ...], of: str, subject: str
    ) -> list[Any]:
        items: list[Any] = []
        count = _count(node)
        noun = _singular(name)
        for i in range(count):
            so_far = [_line(item) for item in items]
            at = _Where((*path, i), f"{noun} {i + 1} of {count}{of}", so_far, items[:], subject)
            items.append(await self._object(node["items"], at))
        return items

    async def _texts(
        self, node: Mapping[str, Any], name: str, path: tuple[str | int, ...], at: _Where, facts: list[str]
    ) -> list[str]:
        texts: list[str] = []
        count = _count(node)
        item = resolve_ref(self.root, node["items"])
        noun = _singular(name)
        of = f" of {at.words}" if at.words else ""
        for i in range(count):
            here = _Where((*path, i), f"{noun} {i + 1} of {count}{of}", at.so_far, subject=at.subject)
            texts.append(await self._text(item, noun, here.path, here, facts, texts, own=True))
        return texts

    async def _text(
        self,
        node: Mapping[str, Any],
        name: str,
        path: tuple[str | int, ...],
        at: _Where,
        facts: list[str],
        siblings: list[str],
        *,
        own: bool = False,
    ) -> str:
        """One prose leaf, written apart (``ctx.write``'s path)."""
        limit = int(node.get("maxLength", 400))
        about = f" ({node['description']})" if node.get("description") else ""
        what = at.words if own else f"the {name.replace('_', ' ')}" + (f" of {at.words}" if at.words else "")
        phrase = not _SENTENCE_KEY.search(name) and (limit < _PHRASE_MAX or bool(_PHRASE_KEY.search(name)))
        sentences = max(1, min(3, limit // 150))
        how = "as a short phrase" if phrase else f"in {sentences} sentence(s)"
        # earlier items' lines hold their texts already; a list of texts names its own
        earlier = [f"Earlier {name.replace('_', ' ')}: {s}" for s in siblings] if own else []
        context = [*facts, *(f"Earlier: {s}" for s in at.so_far), *earlier]
        attempts = self.asker.max_attempts
        # prose about a named thing starts with its name: a small model then writes about it
        # instead of restarting the task ("Day", "Sure, I'd be happy")
        opener = at.subject if at.subject and not phrase else None

        async def written(start: str | None) -> str:
            return await write(
                self.asker,
                f"{self.prompt}\n\nWrite {what}{about}, {how}.",
                start=start,
                protect=[at.subject] if at.subject else [],
                max_length=limit,
                min_length=int(node.get("minLength", 1)),
                sentences=None if phrase else sentences,
                phrase=phrase,
                avoid=siblings,
                context=context,
                where=self.where,
                field=_pointer(path),
                first_sample=self.outer * attempts * 2,
            )

        if opener:
            try:
                return await written(opener)
            except GenerationError:
                pass  # a label the model cannot go on from ("Easy", "Players"): asked without it
        return await written(None)

    def _sampling(self, number: int) -> dict[str, Any]:
        """The options of one structure sample. Without a temperature set, a model's chat default
        is near-greedy and the items of a list come out alike: a model that takes one is sampled
        warm."""
        options = self.asker.requests.sample_options(self.asker.round, number)
        accepted = self.asker.capabilities.option_names
        if "temperature" not in options and accepted and "temperature" in accepted:
            options["temperature"] = _WARM
        return options

    async def _structure(self, node: Mapping[str, Any], names: list[str], at: _Where) -> dict[str, Any]:
        """The object's structure fields, decoded under the grammar in one request."""
        properties = {n: dict(resolve_ref(self.root, node["properties"][n])) for n in names}
        labels = [n for n, sub in properties.items() if _is_free(n, sub)]
        for name in labels:  # asked in words (validation still uses the real schema)
            properties[name]["pattern"] = _WORDS
        schema: dict[str, Any] = {
            "type": "object",
            "properties": properties,
            "required": names,
            "additionalProperties": False,
        }
        if "$defs" in self.root:
            schema["$defs"] = self.root["$defs"]
        # a label's length bound is the grammar's business: said in words, it is copied ("At most 30")
        described = {
            n: {k: v for k, v in p.items() if k != "maxLength" or n not in labels}
            for n, p in properties.items()
        }
        guide = field_guide({**schema, "properties": described})
        fields = ", ".join(n.replace("_", " ") for n in names)
        if at.words:
            focus = f"This is {at.words}."
            if at.earlier:
                # the items so far named in a sentence: shown as lines of fields, they are copied
                named = "; ".join(_named(i, item, labels) for i, item in enumerate(at.earlier))
                focus = f"This is {at.words} ({named}). Give the {fields} of another one."
            else:
                focus += f" Give its {fields}."
        else:
            focus = f"Give the {fields}."
        text = f"{self.prompt}\n\n{focus}" + (f"\n\nThe fields:\n{guide}" if guide else "")
        if not self.takes_schema:
            text += (
                f"\n\nAnswer with one JSON value matching this JSON Schema:\n{json.dumps(schema, indent=1)}"
            )
        reasons: list[str] = []
        attempts = self.asker.max_attempts
        for attempt in range(1, attempts + 1):
            number = self.outer * attempts + attempt
            request = self.asker.requests.request(
                text,
                attempt=number,
                json_schema=schema,
                system=self.system,
                options=self._sampling(number),
            )
            reply = await self.asker.answer(request)
            try:
                data = json.loads(extract_json(reply.text))
            except ValueError:
                data = None
            missing = [n for n in names if not isinstance(data, dict) or n not in data]
            if not missing and isinstance(data, dict):
                same = _same_label(data, labels, at)
                if not same or attempt == attempts:  # the whole value's gates judge the last one
                    self.asker.note_material(*(t for _, t in iter_strings(data)))
                    return {n: data[n] for n in names}
                reasons = [f"at {_pointer(at.path)}: {same}"]
            else:
                missing_ = ", ".join(missing)
                reasons = [f"at {_pointer(at.path)}: the structure is not JSON with {missing_} (cut off?)"]
            self.asker.refuse(reasons)
        raise GenerationError(
            f"fixture {self.asker.fixture}: ctx.generate at {self.where}, {_pointer(at.path)}: "
            f"no structure ({fields}) in {attempts} attempt(s); last: {reasons[0]}. Ask for fewer "
            "fields per object, or raise retries.validation_attempts in [tool.hotdata]"
        )


def _named(index: int, item: Any, labels: list[str]) -> str:
    """An earlier item in words: "1 is Red lentils", or its fields when it has no label."""
    if isinstance(item, Mapping):
        named = [str(item[n]) for n in labels if isinstance(item.get(n), str)]
        return f"{index + 1} is {named[0]}" if named else f"{index + 1} has {_line(item, 80)}"
    return f"{index + 1} is {item}"


def _same_label(data: Mapping[str, Any], labels: list[str], at: _Where) -> str:
    """Why this item's labels are an earlier item's ('' when they differ)."""
    for name in labels:
        for i, earlier in enumerate(at.earlier):
            mine, theirs = data.get(name), earlier.get(name) if isinstance(earlier, Mapping) else None
            if (
                isinstance(mine, str)
                and isinstance(theirs, str)
                and mine.strip().lower() == theirs.strip().lower()
            ):
                return f"{name} {mine!r} is item {i + 1}'s: the items must differ"
    return ""


def _count(node: Mapping[str, Any]) -> int:
    """How many items a list is asked for: its minimum, or a few within its maximum."""
    least = int(node.get("minItems", 0))
    return least if least >= 1 else max(1, min(int(node.get("maxItems", _DEFAULT_ITEMS)), _DEFAULT_ITEMS))


async def generate_nested(
    asker: Asker, prompt: str, adapter: SchemaAdapter[Any], system: str | None, *, where: str = ""
) -> Any:
    """One value of ``adapter``'s nested schema, asked item by item; validated and gated whole."""
    json_schema = adapter.json_schema() or {}
    nested = _NestedAsk(asker, prompt, schema_for_model(json_schema), system, where)
    fixture = asker.plan.inputs
    asker.note_prompt(prompt, f"ctx.generate at {where}" if where else "")
    reasons: list[str] = []
    for outer in range(asker.max_attempts):
        nested.outer = outer
        data = await nested.value()
        raw = json.dumps(data, ensure_ascii=False).encode("utf-8")
        reasons = adapter.errors_for(raw)
        if not reasons:
            value = adapter.validate_json(raw)
            judged = dataclasses.replace(asker.echo_context(prompt), json_schema=json_schema)
            problems = check_value(json.loads(raw), fixture.quality, judged, fixture.checks)
            reasons = [p.message for p in problems]
            if not reasons:
                return value
        asker.refuse(reasons[:10])
    site = f"ctx.generate at {where}: " if where else ""
    raise GenerationError(
        f"fixture {asker.fixture}: {site}no acceptable answer for {adapter.label} in {asker.max_attempts} "
        f"attempt(s), asked item by item; last: {'; '.join(reasons[:3])}. Loosen the schema's bounds "
        "there, or tune [tool.hotdata.quality] (or quality= on the fixture)"
    )
