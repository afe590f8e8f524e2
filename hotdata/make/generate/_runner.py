"""Stage 2, generate: turn a planned fixture into a ``Candidate``, writing nothing.

doit runs one sub-task per fixture in up to ``concurrency`` worker threads; each
hands its generation to an event loop of the runner's pool (``_loops``), under
the fixture's deadline. Model clients are opened once per loop and reused, the
embedded model is loaded once per process. The run's budget (``max_calls``,
``max_tokens``, ``offline``) is enforced here, before every model call.
"""

from __future__ import annotations

import asyncio
import json
import sys
import threading
import traceback
from collections.abc import Coroutine, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

from ..._errors import HotDataError
from ..._freshness import Clock, utcnow
from ..._provenance import FailedAttempt
from ..._schema import SchemaAdapter
from .._candidate import Candidate, InvalidValue, encode_value, make_candidate
from .._config import HotDataConfig, ReplayMode
from .._errors import GenerationError, ModelError
from .._spec import FixtureSpec
from ..answers._store import AnswerStore
from ..models._llm import ModelLookup, open_model
from ..models._seam import ModelClient, ModelReply
from ..plan._fingerprint import Inputs
from ..quality import QualityContext, QualitySettings, UserCheck, check_value
from ..quality._similar import FamilyProse, near_duplicates
from ._ask import FEEDBACK_MARKERS, Asker, AskPolicy
from ._context import GenerationContext
from ._loops import LoopPool
from ._templates import TemplateSet

__all__ = ["Budget", "BudgetExhausted", "Runner"]

T = TypeVar("T")


class BudgetExhausted(ModelError):
    """The run's max_calls / max_tokens budget is spent; the fixture stays stale."""


class Budget:
    """Model calls and tokens one run may spend; checked before every call."""

    def __init__(self, config: HotDataConfig) -> None:
        self.offline = config.offline
        self.max_calls = config.max_calls
        self.max_tokens = config.max_tokens
        self.calls = 0
        self.tokens = 0
        self._guard = threading.Lock()  # fixtures on several loops spend from one budget

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


def describe_exception(exc: BaseException, what: str) -> str:
    """``<what> raised Kind: message (file, line N)`` with the innermost frame."""
    frames = traceback.extract_tb(exc.__traceback__)
    where = f" ({frames[-1].filename}, line {frames[-1].lineno})" if frames else ""
    message = f": {exc}" if str(exc) else ""
    return f"{what} raised {type(exc).__name__}{message}{where}"


class Runner:
    """The event loop, model clients, templates and budget of one build process."""

    def __init__(
        self,
        config: HotDataConfig,
        inputs: Inputs,
        *,
        clock: Clock = utcnow,
        answers: AnswerStore | None = None,
        replay: ReplayMode = "auto",
    ) -> None:
        self.config = config
        self.inputs = inputs
        self.answers = answers
        self.replay = replay
        self.budget = Budget(config)
        self.clock = clock
        self.pool = LoopPool(self._is_user_code)
        self._clients: dict[tuple[int, str], ModelClient] = {}
        self._lookup: ModelLookup | None = None  # made when a model is first asked for
        self._lookup_guard = threading.Lock()
        self.family = FamilyProse()  # the run's prose shingles, for near-duplicate checks
        self._templates: TemplateSet | None = None
        self._closures: dict[tuple[str, ...], dict[str, str]] = {}

    def _is_user_code(self, filename: str) -> bool:
        hotdata_dir = str(Path(__file__).resolve().parents[1])
        return filename.startswith(str(self.config.root)) and not filename.startswith(hotdata_dir)

    # -- the event loops ----------------------------------------------------------

    def run(self, coro: Coroutine[Any, Any, T], deadline: float | None = None, what: str = "the work") -> T:
        """Run ``coro`` on a loop of the pool and wait for it (from any thread), within ``deadline``."""
        return self.pool.run(coro, deadline, what)

    def close(self) -> None:
        self.pool.close()

    # -- generating -----------------------------------------------------------------

    def client(self, model: str) -> ModelClient:
        """The client for ``model`` on the running loop (an SDK client belongs to one loop)."""
        key = (id(asyncio.get_running_loop()), model)
        client = self._clients.get(key)
        if client is None:
            with self._lookup_guard:
                if self._lookup is None:
                    self._lookup = ModelLookup(self.config.llm_plugins)
            client = self._clients[key] = open_model(model, self.config.retries, lookup=self._lookup)
        return client

    def _template_closure(self, spec: FixtureSpec) -> tuple[TemplateSet, dict[str, str]]:
        if self._templates is None:
            self._templates = TemplateSet(self.config.templates_path)
        closure = self._closures.get(spec.templates)
        if closure is None:  # templates do not change during one build process
            closure = self._closures[spec.templates] = self._templates.closure(spec.templates)
        return self._templates, closure

    async def generate(
        self,
        spec: FixtureSpec,
        data_path: Path,
        meta_path: Path,
        siblings: Mapping[str, Any] | None = None,
        reason: str | None = None,
        replay: ReplayMode | None = None,
        *,
        answers_used: list[str] | None = None,
        expected: Mapping[str, frozenset[str]] | None = None,
    ) -> Candidate:
        """Run the fixture's generator until its value validates and passes the quality gates
        (``siblings``: the data of the family's other variants, which it must not repeat;
        ``reason``: why it is rebuilt, for the record; ``replay``: this fixture's replay mode
        when it differs from the run's); writes nothing.

        ``answers_used`` is filled with the key of every answer the build uses, as it goes (so a
        build that fails still says which paid answers it holds); ``expected``: key -> the
        digests the fixture's records were built from (a recorded answer with another one
        changed since, and is refused)."""
        templates, closure = self._template_closure(spec)
        model, options = self.inputs.model_for(spec)
        quality, checks = self.inputs.quality_for(spec)
        asker = Asker(
            client=self.client(model),
            model=model,
            options=self.inputs.request_options(spec),
            fixture=spec.name,
            policy=AskPolicy(
                self.config.retries.validation_attempts,
                quality,
                checks,
                self.inputs.secrets,
                self.answers,
                replay or self.replay,
            ),
            before_call=self.budget.before_call,
            after_call=self.budget.spent,
            answer_keys=[] if answers_used is None else answers_used,
            expected=expected or {},
        )
        ctx = GenerationContext(spec, asker=asker, templates=templates, adapter=self.inputs.adapter)
        adapter = self.inputs.adapter(spec.schema)
        what = f"generator {spec.generator.__name__}"
        problems: list[str] = []
        for round_ in range(self.config.retries.validation_attempts):
            asker.round, calls_before = round_, asker.attempts
            asker.prompts.clear()
            value = await self._run_generator(spec, ctx, what)
            try:
                data = encode_value(adapter, value)
            except InvalidValue as exc:
                raise GenerationError(
                    f"fixture {spec.name}: {what} returned {exc}; nothing was written"
                ) from None
            problems = self._gate(json.loads(data), adapter, asker, quality, checks, siblings or {})
            if not problems:
                return make_candidate(
                    spec.name,
                    data_path,
                    meta_path,
                    adapter,
                    value,
                    generated_at=self.clock(),
                    ttl=self.inputs.ttl_for(spec),
                    fingerprint=self.inputs.fingerprint(spec, closure, ctx.schemas_used),
                    generator=spec.generator_name,
                    model=model,
                    model_options=options,
                    attempts=asker.attempts,
                    usage=asker.usage,
                    usage_per_attempt=asker.usage_per_attempt,
                    failed_attempts=asker.failed,
                    quality=self.inputs.quality_hash(spec),
                    reason=reason,
                    answers=asker.answer_keys,
                    answer_digests=asker.answer_digests,
                    replayed=asker.replayed,
                    spent=asker.spent,
                )
            asker.failed.append(
                FailedAttempt(attempt=asker.attempts, reasons=[f"fixture: {p}" for p in problems])
            )
            if asker.attempts == calls_before:
                break  # the generator asked the model nothing: another run returns the same value
        raise GenerationError(
            f"fixture {spec.name}: {what} returned data that fails the quality gates: "
            f"{'; '.join(problems[:3])}; nothing was written. Improve the generator or its prompt, or tune "
            "[tool.hotdata.quality] (or quality= on the fixture)"
        )

    @staticmethod
    async def _run_generator(spec: FixtureSpec, ctx: GenerationContext, what: str) -> Any:
        try:
            return await spec.generator(ctx, **spec.params)
        except HotDataError:
            raise
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                raise  # cancelled from outside (its deadline passed): not the generator's doing
            exc = sys.exc_info()[1]
            assert exc is not None
            raise GenerationError(f"fixture {spec.name}: {describe_exception(exc, what)}") from None
        except (Exception, SystemExit, KeyboardInterrupt) as exc:
            # raised by a generator, these would end the loop thread or hang the run
            raise GenerationError(f"fixture {spec.name}: {describe_exception(exc, what)}") from None

    def _gate(
        self,
        data: Any,
        adapter: SchemaAdapter[Any],
        asker: Asker,
        quality: QualitySettings,
        checks: Sequence[UserCheck],
        siblings: Mapping[str, Any],
    ) -> list[str]:
        """The quality problems of the whole fixture, near-duplicates of its siblings included."""
        context = QualityContext(
            prompt="\n\n".join(asker.prompts),
            json_schema=adapter.json_schema(),
            secrets=asker.policy.secrets,
            feedback_markers=FEEDBACK_MARKERS,
        )
        problems = check_value(data, quality, context, checks) + near_duplicates(
            data, siblings, quality, self.family
        )
        return [p.message for p in problems]
