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
import json
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
from ..quality import DEFAULT_FEEDBACK_MARKERS, QualityContext, QualitySettings, UserCheck, check_value
from ._json_answers import ARRAY_CAP, extract_json, field_guide, open_pointer, schema_for_model

__all__ = ["FEEDBACK_MARKERS", "AskPolicy", "Asker", "ReplayMiss"]

# Phrases of hotdata's own re-ask prompts: an answer that contains one copied the feedback.
_NOT_VALID = "Your previous answer did not validate"
_NOT_ACCEPTED = "Your previous answer was not accepted"
_AGAIN = "Answer again with one JSON value matching this JSON Schema"
FEEDBACK_MARKERS = (*DEFAULT_FEEDBACK_MARKERS, _NOT_VALID.lower(), _NOT_ACCEPTED.lower())
# An answer holding a secret is always refused: stored blanked, it could never be replayed as it was.
SECRET_REFUSED = "the answer contains a secret value (not shown)"


class ReplayMiss(GenerationError):
    """``replay = only`` and a request has no recorded answer."""


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
