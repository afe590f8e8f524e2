"""Where a fixture's answers come from, in order: recorded, on their way, or asked.

1. the answer store: a recorded answer to the same request is replayed (``replay`` of the
   plan: ``auto``, ``only`` fails on a miss, ``off`` asks again);
2. a ``Detour``, where one plugs in: batch mode's queue says whether the request waits for a
   provider batch, or goes into this run's batch instead of being asked now;
3. the model, under the run's ``Budget`` (``max_calls``, ``max_tokens``, ``offline``), checked
   before every call; its answer is recorded for next time.

The structured path (``_ask``) and the prose path (``_write``) ask through ``AnswerSource``
alone: neither knows about the store's files, batches or the budget.
"""

from __future__ import annotations

import contextlib
import dataclasses
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

from .._candidate import Tally
from .._config import HotDataConfig
from .._errors import AnswerError, ChangedAnswer, GenerationError, ModelError
from .._fixture_plan import FixturePlan
from ..answers._store import AnswerStore, StoredAnswer
from ..models._seam import ModelCapabilities, ModelClient, ModelReply, ModelRequest

__all__ = ["Answer", "AnswerDeferred", "AnswerSource", "Budget", "BudgetExhausted", "Detour", "ReplayMiss"]


class ReplayMiss(GenerationError):
    """``replay = only`` and a request has no recorded answer."""


class AnswerDeferred(GenerationError):
    """The fixture's answer comes later (a provider batch holds, or will hold, its request); it
    stays stale until then."""


class BudgetExhausted(ModelError):
    """The run's max_calls / max_tokens budget is spent; the fixture stays stale."""


class Budget:
    """Model calls and tokens one run may spend; checked before every call, from any thread."""

    def __init__(self, *, offline: bool = False, max_calls: int | None = None, max_tokens: int | None = None):
        self.offline = offline
        self.max_calls = max_calls
        self.max_tokens = max_tokens
        self.calls = 0
        self.tokens = 0
        self._guard = threading.Lock()  # fixtures on several loops spend from one budget

    @classmethod
    def of(cls, config: HotDataConfig) -> Budget:
        """The budget ``[tool.hotdata]`` sets (``offline``, ``max_calls``, ``max_tokens``)."""
        return cls(offline=config.offline, max_calls=config.max_calls, max_tokens=config.max_tokens)

    async def before_call(self) -> None:
        if self.offline:
            raise ModelError(
                "model calls are disabled (HOTDATA_OFFLINE=1 or offline = true); unset it to generate"
            )
        with self._guard:
            if self.max_calls is not None and self.calls >= self.max_calls:
                raise BudgetExhausted(
                    f"run budget reached: max_calls = {self.max_calls}; the fixture stays stale"
                )
            if self.max_tokens is not None and self.tokens >= self.max_tokens:
                raise BudgetExhausted(
                    f"run budget reached: max_tokens = {self.max_tokens}; the fixture stays stale"
                )
            self.calls += 1

    def spent(self, reply: ModelReply) -> None:
        with self._guard:
            self.tokens += (reply.input_tokens or 0) + (reply.output_tokens or 0)


class Detour(Protocol):
    """Another way an answer may come than the store or the model now (batch mode's queue)."""

    def answered(self, key: str) -> bool:
        """An answer this run recorded for ``key``: used even under ``replay = off``, whatever a
        record says it was built from."""
        ...

    def brought(self, key: str) -> ModelReply | None:
        """An answer that came without its request (a batch whose job file cannot be read); it is
        recorded now, with the request that asks for it."""
        ...

    def waits(self, key: str, request: ModelRequest) -> str | None:
        """Why this request, missing from the store, must not be asked now (None: it may be)."""
        ...

    def wants(self, key: str, request: ModelRequest) -> bool:
        """Whether this request should wait for this run's batch instead of being asked now."""
        ...

    def want(self, key: str, request: ModelRequest, fixture: str, round_: int) -> None:
        """Put the request into this run's batch."""
        ...


@dataclass(frozen=True)
class Answer:
    """One answer, and where it came from."""

    reply: ModelReply
    stored: StoredAnswer | None  # as the store holds it (None: no store)
    replayed: bool  # from the store (or a batch), not asked now
    other_schema: bool = False  # replayed though it was asked under the schema before (new fields)
    key: str | None = None  # its key in the answer store (None: no store)


class AnswerSource:
    """The answers of one fixture's build: recorded, on their way, or asked (module docstring).

    Args:
        plan: the fixture's plan (its name, replay mode, batch, the answers its records used).
        client: the model's client.
        budget: the run's budget.
        store: the answer store (None: every request is asked, nothing is recorded).
        detour: batch mode's queue, when the build has one.
        tally: where what is used, replayed and paid is counted.
    """

    def __init__(
        self,
        plan: FixturePlan,
        client: ModelClient,
        budget: Budget,
        tally: Tally,
        *,
        store: AnswerStore | None = None,
        detour: Detour | None = None,
    ) -> None:
        self.plan = plan
        self.client = client
        self.budget = budget
        self.tally = tally
        self.store = store
        self.detour = detour

    @property
    def capabilities(self) -> ModelCapabilities:
        return self.client.capabilities

    async def answer(
        self, request: ModelRequest, round_: int, refused: tuple[StoredAnswer, list[str]] | None = None
    ) -> Answer:
        """The answer to ``request`` in attempt round ``round_``. ``refused``: the recorded answer
        the previous attempt replayed and refused, which a miss under ``replay = only`` is down to."""
        store, detour, name = self.store, self.detour, self.plan.name
        if store is None:
            return Answer(await self._ask(request), None, False)
        key = store.key(request, round_)
        self.tally.keyed(key)
        on_its_way = detour is not None and detour.answered(key)
        # asked for by this very run (or its batch): the answer to use, whatever an older record says
        fresh = store.recorded_this_run(key) or on_its_way
        expected = () if fresh else self.plan.built_from.get(key, frozenset())
        with self._naming_fixture():
            # an answer a batch brought is used even under replay = off: it was asked for this very run
            recorded = store.read(key, expected) if self.plan.replay != "off" or on_its_way else None
        brought = detour.brought(key) if recorded is None and detour is not None else None
        if brought is not None:  # from a batch whose job file is unreadable: recorded with its request now
            stored = store.put(key, request, brought, name, round_)
            self.tally.answered(key, stored.digest, replayed=True)
            return Answer(brought, stored, True, key=key)
        if recorded is not None:
            if expected and recorded.digest not in expected:
                shown = store.shown(recorded.path)
                raise ChangedAnswer(
                    f"fixture {name}: the recorded answer {shown} is not the one {name} was "
                    "built from (the store changed, not the code: edited, merged or asked again since); "
                    f"restore it with `git checkout -- {shown}`, or ask the model again with "
                    f"`doit fixtures:{name} force=1 replay=off`"
                )
            self.tally.answered(key, recorded.digest, replayed=True)
            return Answer(self._migrated(recorded.reply), recorded, True, key=key)
        kept_through = self.plan.replay == "only" and self.plan.kept_through_schema_change
        if (kept_through or (self.plan.ask is not None and self.plan.replay != "off")) and not fresh:
            # a record kept through a schema change that did not matter (or migrated through one)
            # was built from answers asked under the schema before: it is rebuilt from them
            # (``doit verify``), and so is a fixture whose schema gained required fields (only
            # those are asked, ``_ask``)
            kept = store.under_another_schema(request, round_, self.plan.built_from)
            if kept is not None:
                self.tally.answered(kept[0], kept[1].digest, replayed=True)
                self.tally.under_old_schema = True
                return Answer(self._migrated(kept[1].reply), kept[1], True, other_schema=True, key=key)
        if self.plan.replay == "only":
            raise ReplayMiss(self._miss(store, request, round_, refused))
        with self._naming_fixture():
            store.check_writable(key)  # a path in the way is found before the model is paid
        if detour is not None:
            waiting = detour.waits(key, request)
            if waiting is not None:  # never asked twice: its answer is on the way
                raise AnswerDeferred(f"fixture {name}: {waiting}")
            if self.plan.batch and detour.wants(key, request):
                await self.budget.before_call()  # a batched request counts against the run's budget too
                detour.want(key, request, name, round_)
                raise AnswerDeferred(f"fixture {name}: its request goes into this run's batch")
        reply = await self._ask(request)
        stored = store.put(key, request, reply, name, round_)
        self.tally.answered(key, stored.digest, replayed=False)
        return Answer(reply, stored, False, key=key)

    def _migrated(self, reply: ModelReply) -> ModelReply:
        """A replayed answer as the fixture's recorded migrations make it (none: as recorded)."""
        migration = self.plan.answer_migration
        return reply if migration is None else dataclasses.replace(reply, text=migration(reply.text))

    async def _ask(self, request: ModelRequest) -> ModelReply:
        await self.budget.before_call()
        reply = await self.client.complete(request)
        self.budget.spent(reply)
        self.tally.paid(reply)
        return reply

    def record_refusal(self, answer: Answer, request: ModelRequest, round_: int, reasons: list[str]) -> None:
        """Keep the judgement of an answer stored blanked (it held a secret), so that its replay is
        judged the same way."""
        if self.store is not None and answer.stored is not None:
            self.store.put(answer.stored.key, request, answer.reply, self.plan.name, round_, refused=reasons)

    @contextlib.contextmanager
    def _naming_fixture(self) -> Iterator[None]:
        """The store's errors say which file; this says which fixture ran into it."""
        try:
            yield
        except AnswerError as exc:
            raise type(exc)(f"fixture {self.plan.name}: {exc}") from None

    def _miss(
        self,
        store: AnswerStore,
        request: ModelRequest,
        round_: int,
        refused: tuple[StoredAnswer, list[str]] | None,
    ) -> str:
        name = self.plan.name
        advice = "Record it with `doit fixtures` (replay = auto) and commit fixtures/.answers"
        if refused is not None and request.attempt > 1:
            answer, reasons = refused
            return (
                f"fixture {name}: replay = only, and the recorded answer to attempt {request.attempt - 1} "
                f"({store.shown(answer.path)}) is refused: {'; '.join(reasons[:3])}; the re-ask that "
                f"follows it (attempt {request.attempt}) was never answered. Rebuild with `doit fixtures` "
                "(replay = auto) to ask the model again, and commit fixtures/.answers"
            )
        return (
            f"fixture {name}: replay = only and this request was never answered; "
            f"{store.closest(name, request, round_)}. {advice}"
        )
