"""Asking a model for one value: attempts, validation, quality gates and what changes on a re-ask.

An answer is accepted only when it parses, validates against the schema, holds
nothing JSON cannot (NaN, infinity) and passes the quality gates. Otherwise the
model is asked again, and the next attempt changes something:

* a model that copies feedback into its answers (``copies_feedback``, such as the
  small embedded model) is resampled with another seed instead of being shown
  the errors; any other model is shown what was wrong;
* an answer cut off at the token limit is named as such (``the model stopped at
  its token limit in /data/0/embedding``) and the next attempt asks for less:
  arrays capped tighter and, where the model takes it, more tokens.

Every refused attempt is kept with its reasons, for the provenance record and
the build summary.
"""

from __future__ import annotations

import contextlib
import copy
import json
import re
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..._provenance import FailedAttempt, Usage
from ..._schema import SchemaAdapter, canonical_json
from .._config import ReplayMode
from .._errors import AnswerError, ChangedAnswer, GenerationError
from ..answers._store import AnswerStore, StoredAnswer
from ..batch._queue import BatchedAnswerStore, WaitingForBatch
from ..models._seam import ModelClient, ModelReply, ModelRequest
from ..quality._gates import DEFAULT_FEEDBACK_MARKERS, QualityContext, QualitySettings, UserCheck, check_value

__all__ = [
    "AskPolicy",
    "Asker",
    "ReplayMiss",
    "extract_json",
    "field_guide",
    "open_pointer",
    "schema_for_model",
]

_FENCE = re.compile(r"```(?:json|JSON)?\s*\n?(.*?)```", re.DOTALL)
# Phrases of hotdata's own re-ask prompts: an answer that contains one copied the feedback.
_NOT_VALID = "Your previous answer did not validate"
_NOT_ACCEPTED = "Your previous answer was not accepted"
_AGAIN = "Answer again with one JSON value matching this JSON Schema"
FEEDBACK_MARKERS = (*DEFAULT_FEEDBACK_MARKERS, _NOT_VALID.lower(), _NOT_ACCEPTED.lower())
# Arrays without a bound are asked for with at most this many items (halved after a cut-off).
ARRAY_CAP = 8
# Strings without a bound are asked for with at most this many characters.
TEXT_CAP = 400
# An answer holding a secret is always refused: stored blanked, it could never be replayed as it was.
SECRET_REFUSED = "the answer contains a secret value (not shown)"


def _shaped(node: Mapping[str, Any]) -> bool:
    """A string whose form is fixed (an enum, a constant, a format or a pattern) needs no cap."""
    return any(key in node for key in ("enum", "const", "format", "pattern"))


class ReplayMiss(GenerationError):
    """``replay = only`` and a request has no recorded answer."""


def extract_json(text: str) -> str:
    """The first JSON value in a model answer: tolerates code fences, prose around it, and a
    second value after it (the first one is taken)."""
    fenced = _FENCE.search(text)
    candidates = [fenced.group(1)] if fenced and text.strip()[:1] not in "{[" else []
    candidates.append(text)
    for candidate in candidates:
        starts = [i for i in (candidate.find("{"), candidate.find("[")) if i >= 0]
        if not starts:
            continue
        start = min(starts)
        try:
            _, end = json.JSONDecoder().raw_decode(candidate, start)
        except (ValueError, RecursionError):  # nested too deep to parse: validation says so
            continue
        return candidate[start:end]
    stripped = text.strip()
    if fenced:
        return fenced.group(1).strip()
    starts = [i for i in (stripped.find("{"), stripped.find("[")) if i >= 0]
    return stripped[min(starts) :] if starts else stripped


def schema_for_model(json_schema: Mapping[str, Any], array_cap: int = ARRAY_CAP) -> dict[str, Any]:
    """The schema to ask with: what it describes, not what it merely tolerates.

    Objects are closed (no invented keys), and arrays without ``maxItems`` and free
    strings without ``maxLength`` get one, so a small model cannot run away inside an
    endless list or text. Optional fields are
    settled for the model: an optional text (``str | None``) is asked for as text —
    left nullable, a model answers ``null`` everywhere, as the cheapest valid
    answer — and other optional fields are left out (their defaults apply).
    Validation still uses the real schema.
    """
    schema = copy.deepcopy(dict(json_schema))
    defs = schema.get("$defs", {})

    def resolve(node: Any) -> Any:
        ref = node.get("$ref") if isinstance(node, dict) else None
        return defs.get(str(ref).rsplit("/", 1)[-1], {}) if ref else node

    def optional_text(node: Any) -> dict[str, Any] | None:
        if isinstance(node, dict) and node.get("type") == "string" and not _shaped(node):
            return {k: v for k, v in node.items() if k != "default"}  # a plain optional text
        options = node.get("anyOf") if isinstance(node, dict) else None
        if not options:
            return None
        kinds = [resolve(o) for o in options if resolve(o).get("type") != "null"]
        if len(kinds) == 1 and kinds[0].get("type") == "string" and "enum" not in kinds[0]:
            return {k: v for k, v in {**node, **kinds[0]}.items() if k not in ("anyOf", "default")}
        return None

    def visit(node: Any) -> None:
        if isinstance(node, dict):
            properties = node.get("properties")
            if properties:
                required = list(node.get("required", []))
                for name in list(properties):
                    if name in required:
                        continue
                    text = optional_text(properties[name])
                    if text is not None:
                        properties[name] = text
                        required.append(name)
                    else:
                        del properties[name]
                node["required"] = required
                if node.get("additionalProperties") is not False:
                    node["additionalProperties"] = False
            if node.get("type") == "array" and "maxItems" not in node:
                node["maxItems"] = max(array_cap, int(node.get("minItems", 0)))
            if node.get("type") == "string" and "maxLength" not in node and not _shaped(node):
                node["maxLength"] = max(TEXT_CAP, int(node.get("minLength", 0)))  # no endless text
            for value in node.values():
                visit(value)
        elif isinstance(node, list):
            for value in node:
                visit(value)

    visit(schema)
    return schema


def open_pointer(text: str) -> str:
    """The JSON pointer of the innermost value still open where ``text`` ends (a cut-off answer)."""
    path: list[str | int] = []
    kinds: list[str] = []  # "{" or "[" per open container
    expecting_key = False
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            token = text[i + 1 : j]
            if kinds and kinds[-1] == "{" and expecting_key:
                try:
                    path[-1] = json.loads(f'"{token}"')
                except ValueError:
                    path[-1] = token
                expecting_key = False
            i = j + 1
            continue
        if ch in "{[":
            kinds.append(ch)
            path.append("" if ch == "{" else 0)
            expecting_key = ch == "{"
        elif ch in "}]":
            if kinds:
                kinds.pop()
                path.pop()
        elif ch == ",":
            if kinds and kinds[-1] == "[":
                path[-1] = int(path[-1]) + 1
            elif kinds:
                expecting_key = True
        i += 1
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in path if p != "") or "/"


def field_guide(schema: Mapping[str, Any], limit: int = 25) -> str:
    """What the schema says about its fields, in lines a model reads (descriptions, formats, enums,
    bounds): for models that decode under the schema without reading its descriptions."""
    defs: Mapping[str, Any] = schema.get("$defs", {})
    lines: list[str] = []

    def resolve(node: Any) -> Any:
        ref = node.get("$ref") if isinstance(node, Mapping) else None
        return defs.get(str(ref).rsplit("/", 1)[-1], {}) if ref else node

    def visit(node: Any, path: str, depth: int) -> None:
        node = resolve(node)
        if not isinstance(node, Mapping) or len(lines) >= limit or depth > 3:
            return
        for key in ("anyOf", "oneOf"):
            for option in node.get(key, []):
                if resolve(option).get("type") != "null":
                    visit(option, path, depth + 1)
        notes = []
        leaf = path.rsplit(".", 1)[-1]
        if node.get("type") == "integer" and (leaf in ("created", "timestamp") or leaf.endswith("_at")):
            notes.append("a Unix timestamp in seconds, such as 1767225600")  # not a year
        if node.get("description"):
            notes.append(str(node["description"]).strip().rstrip("."))
        if node.get("format"):
            notes.append(f"format {node['format']}")
        if node.get("enum"):
            notes.append("one of " + ", ".join(json.dumps(v) for v in node["enum"][:8]))
        for bound, word in (
            ("minimum", ">="),
            ("maximum", "<="),
            ("maxLength", "at most"),
            ("minItems", "at least"),
        ):
            if bound in node:
                unit = " characters" if bound == "maxLength" else " items" if bound == "minItems" else ""
                notes.append(f"{word} {node[bound]}{unit}")
        if notes and path:
            lines.append(f"- {path}: {'; '.join(notes)}")
        for name, sub in (node.get("properties") or {}).items():
            visit(sub, f"{path}.{name}" if path else name, depth + 1)
        if "items" in node:
            visit(node["items"], f"{path}[]", depth + 1)

    visit(schema, "", 0)
    return "\n".join(lines[:limit])


@dataclass(frozen=True)
class AskPolicy:
    """How hard to try, what to accept, and where recorded answers come from."""

    max_attempts: int
    quality: QualitySettings
    user_checks: Sequence[UserCheck] = ()
    secrets: Sequence[str] = ()
    answers: AnswerStore | None = None
    replay: ReplayMode = "auto"


@dataclass
class Asker:
    """Asks one model for values on behalf of one fixture and keeps count of what it spent."""

    client: ModelClient
    model: str
    options: Mapping[str, Any]
    fixture: str
    policy: AskPolicy
    before_call: Callable[[], Awaitable[None]]
    after_call: Callable[[ModelReply], None]
    usage: Usage = field(default_factory=Usage)
    usage_per_attempt: list[Usage] = field(default_factory=list)
    failed: list[FailedAttempt] = field(default_factory=list)
    prompts: list[str] = field(default_factory=list)
    answer_keys: list[str] = field(default_factory=list)  # every answer used, in the store
    answer_digests: dict[str, str] = field(default_factory=dict)  # key -> digest of the answer used
    # key -> the digests the fixture's records say it was built from: anything else changed since
    expected: Mapping[str, frozenset[str]] = field(default_factory=dict)
    attempts: int = 0
    replayed: int = 0  # answers taken from the store instead of the model
    spent: Usage = field(default_factory=Usage)  # what this run paid the model (replays excluded)
    round: int = 0  # the generator's run: a new round samples new answers

    async def ask(self, prompt: str, adapter: SchemaAdapter[Any], system: str | None = None) -> Any:
        """One value of ``adapter``'s schema that passes validation and the quality gates."""
        json_schema = adapter.json_schema()
        if json_schema and getattr(self.client, "writes_prose_apart", False):
            from ._write import generate_with_prose, prose_fields

            if fields := prose_fields(schema_for_model(json_schema)):
                return await generate_with_prose(self, prompt, adapter, fields, system)
        takes_schema = bool(getattr(self.client, "supports_schema", False))
        copies_feedback = bool(getattr(self.client, "copies_feedback", False))
        cap = ARRAY_CAP
        reasons: list[str] = []
        refused: tuple[StoredAnswer, list[str]] | None = None  # the recorded answer just refused
        extra_tokens = 0
        self.prompts.append(prompt)
        # a model that decodes under the schema without reading it gets its descriptions in words
        guide = (
            field_guide(json_schema)
            if json_schema and getattr(self.client, "reads_no_schema_text", False)
            else ""
        )
        for attempt in range(1, self.policy.max_attempts + 1):
            asked = schema_for_model(json_schema, cap) if json_schema is not None else None
            text = prompt + (f"\n\nThe fields:\n{guide}" if guide else "")
            if asked is not None and not takes_schema:
                text += f"\n\n{_AGAIN.replace('again ', '')}:\n{json.dumps(asked, indent=1)}"
            if reasons and not copies_feedback:
                heading = _NOT_VALID if reasons[0].startswith("at ") else _NOT_ACCEPTED
                text += f"\n\n{heading}:\n" + "\n".join(f"- {r}" for r in reasons[:20])
            self.attempts += 1
            request = ModelRequest(
                model=self.model,
                prompt=text,
                fixture=self.fixture,
                json_schema=asked,
                system=system,
                options=self._options(attempt, extra_tokens, copies_feedback or bool(reasons)),
                attempt=attempt,
            )
            reply, stored, replayed = await self._answer(request, refused)
            self._count(reply)
            if replayed and stored is not None and stored.redacted:
                # stored with a secret blanked: judged as it was when asked, not as the blanked text
                value, reasons = None, list(stored.refused or [SECRET_REFUSED])
            else:
                value, reasons = self._judge(reply, adapter, json_schema, prompt)
                if not replayed and stored is not None and stored.redacted:
                    reasons = reasons or [SECRET_REFUSED]
                    self._record_refusal(stored, request, reply, reasons)
            if not reasons:
                return value
            self.failed.append(FailedAttempt(attempt=self.attempts, reasons=reasons[:10]))
            refused = (stored, reasons) if replayed and stored is not None else None
            if reply.finish_reason == "length":
                cap = max(1, cap // 2)
                extra_tokens += max(256, reply.output_tokens or 0)
        raise GenerationError(
            f"fixture {self.fixture}: no acceptable answer for {adapter.label} in {self.policy.max_attempts} "
            f"attempt(s); last: {'; '.join(reasons[:4])}. {_advice(reasons)}"
        )

    async def _answer(
        self, request: ModelRequest, refused: tuple[StoredAnswer, list[str]] | None = None
    ) -> tuple[ModelReply, StoredAnswer | None, bool]:
        """The recorded answer to ``request`` (replay), or the model's (recorded for next time): the
        reply, its stored form and whether it was replayed. ``refused``: the recorded answer the
        previous attempt replayed and refused, which a miss under ``replay = only`` is down to."""
        store, mode = self.policy.answers, self.policy.replay
        if store is None:
            await self.before_call()
            reply = await self.client.complete(request)
            self._paid(reply)
            return reply, None, False
        key = store.key(request, self.round)
        self.answer_keys.append(key)
        batches = store.batches if isinstance(store, BatchedAnswerStore) else None
        # asked for by this very run (or its batch): the answer to use, whatever an older record says
        fresh = store.recorded_this_run(key) or bool(batches and batches.answered(key))
        expected = () if fresh else self.expected.get(key, frozenset())
        # an answer a batch brought is used even under replay = off: it was asked for this very run
        with self._naming_fixture():
            recorded = (
                store.read(key, expected) if mode != "off" or (batches and batches.answered(key)) else None
            )
        brought = batches.brought(key) if recorded is None and batches is not None else None
        if brought is not None:  # from a batch whose job file is unreadable: recorded with its request now
            stored = store.put(key, request, brought, self.fixture, self.round)
            self.replayed += 1
            self.answer_digests[key] = stored.digest
            return brought, stored, True
        if recorded is not None:
            if expected and recorded.digest not in expected:
                shown = store.shown(recorded.path)
                raise ChangedAnswer(
                    f"fixture {self.fixture}: the recorded answer {shown} is not the one {self.fixture} was "
                    "built from (the store changed, not the code: edited, merged or asked again since); "
                    f"restore it with `git checkout -- {shown}`, or ask the model again with "
                    f"`doit fixtures:{self.fixture} force=1 replay=off`"
                )
            self.replayed += 1
            self.answer_digests[key] = recorded.digest
            return recorded.reply, recorded, True
        if mode == "only":
            raise ReplayMiss(self._miss(store, request, refused))
        with self._naming_fixture():
            store.check_writable(key)  # a path in the way is found before the model is paid
        if batches is not None:
            waiting = batches.waits(key, request)
            if waiting is not None:  # never asked twice: its answer is on the way
                raise WaitingForBatch(f"fixture {self.fixture}: {waiting}")
            if batches.wants(key, request):
                await self.before_call()  # a batched request counts against the run's budget too
                batches.want(key, request, self.fixture, self.round)
                raise WaitingForBatch(f"fixture {self.fixture}: its request goes into this run's batch")
        await self.before_call()
        reply = await self.client.complete(request)
        self._paid(reply)
        stored = store.put(key, request, reply, self.fixture, self.round)
        self.answer_digests[key] = stored.digest
        return reply, stored, False

    @contextlib.contextmanager
    def _naming_fixture(self) -> Iterator[None]:
        """The store's errors say which file; this says which fixture ran into it."""
        try:
            yield
        except AnswerError as exc:
            raise type(exc)(f"fixture {self.fixture}: {exc}") from None

    def _miss(
        self, store: AnswerStore, request: ModelRequest, refused: tuple[StoredAnswer, list[str]] | None
    ) -> str:
        advice = "Record it with `doit fixtures` (replay = auto) and commit fixtures/.answers"
        if refused is not None and request.attempt > 1:
            answer, reasons = refused
            return (
                f"fixture {self.fixture}: replay = only, and the recorded answer to attempt {request.attempt - 1} "
                f"({store.shown(answer.path)}) is refused: {'; '.join(reasons[:3])}; the re-ask that "
                f"follows it (attempt {request.attempt}) was never answered. Rebuild with `doit fixtures` "
                "(replay = auto) to ask the model again, and commit fixtures/.answers"
            )
        return (
            f"fixture {self.fixture}: replay = only and this request was never answered; "
            f"{store.closest(self.fixture, request, self.round)}. {advice}"
        )

    def _record_refusal(
        self, stored: StoredAnswer, request: ModelRequest, reply: ModelReply, reasons: list[str]
    ) -> None:
        """Keep the judgement of an answer stored blanked, so its replay is judged the same."""
        store = self.policy.answers
        if store is not None:
            store.put(stored.key, request, reply, self.fixture, self.round, refused=reasons)

    def _options(self, attempt: int, extra_tokens: int, resample: bool) -> dict[str, Any]:
        options = dict(self.options)
        # Another seed gives another answer; the same seed would repeat the refused one.
        shift = 1000 * self.round + (attempt - 1 if resample else 0)
        if shift and "seed" in options and isinstance(options["seed"], int):
            options["seed"] += shift
        elif shift and "temperature" in options and isinstance(options["temperature"], int | float):
            options["temperature"] = min(1.5, float(options["temperature"]) + 0.1 * min(shift, 5))
        accepted = getattr(self.client, "option_names", None)
        if extra_tokens and (accepted is None or "max_tokens" in accepted):
            options["max_tokens"] = int(options.get("max_tokens") or 1024) + extra_tokens
        return options

    def _judge(
        self, reply: ModelReply, adapter: SchemaAdapter[Any], json_schema: Any, prompt: str
    ) -> tuple[Any, list[str]]:
        """The value and no reasons, or None and why the answer is refused."""
        raw = extract_json(reply.text)
        if reply.finish_reason == "length":
            limit = f" ({reply.output_tokens:,} tokens)" if reply.output_tokens else ""
            where = open_pointer(raw)
            return None, [f"the model stopped at its token limit{limit} in {where}; the answer is cut off"]
        errors = adapter.errors_for(raw.encode("utf-8"))
        if errors:
            return None, errors[:20]
        value = adapter.validate_json(raw.encode("utf-8"))
        try:
            data = json.loads(canonical_json(adapter.to_data(value)))
        except ValueError as exc:  # NaN or infinity passed validation but JSON cannot hold it
            return None, [f"the answer holds a number JSON cannot: {exc}"]
        context = QualityContext(
            prompt=prompt,
            json_schema=json_schema,
            secrets=self.policy.secrets,
            feedback_markers=FEEDBACK_MARKERS,
        )
        problems = check_value(data, self.policy.quality, context, self.policy.user_checks)
        return value, [p.message for p in problems]

    async def answer(self, request: ModelRequest) -> ModelReply:
        """One request answered (recorded or asked) and counted, for callers beyond ``ask``."""
        reply, _, _ = await self._answer(request)
        self._count(reply)
        return reply

    def sample_options(self, attempt: int, part: int = 0) -> dict[str, Any]:
        """The options of attempt ``attempt``: a new seed per attempt, run and ``part``."""
        options = self._options(attempt, 0, True)
        if part and isinstance(options.get("seed"), int):
            options["seed"] += 7919 * part
        return options

    def _paid(self, reply: ModelReply) -> None:
        self.after_call(reply)
        _add(self.spent, reply)

    def _count(self, reply: ModelReply) -> None:
        self.usage_per_attempt.append(
            Usage(calls=1, input_tokens=reply.input_tokens, output_tokens=reply.output_tokens)
        )
        _add(self.usage, reply)


def _add(usage: Usage, reply: ModelReply) -> None:
    usage.calls += 1
    if reply.input_tokens is not None:
        usage.input_tokens = (usage.input_tokens or 0) + reply.input_tokens
    if reply.output_tokens is not None:
        usage.output_tokens = (usage.output_tokens or 0) + reply.output_tokens


def _advice(reasons: list[str]) -> str:
    if any("token limit" in r for r in reasons):
        return "Ask for less (fewer or shorter items: maxItems, maxLength in the schema) or a larger model"
    if reasons and not reasons[0].startswith("at "):
        return (
            "The answers were valid but failed quality gates; improve the prompt, or tune "
            "[tool.hotdata.quality] (or quality= on the fixture)"
        )
    return "Tighten the template or the schema, or raise retries.validation_attempts in [tool.hotdata]"
