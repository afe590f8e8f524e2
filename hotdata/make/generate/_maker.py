"""Stage 2, generate: ``CandidateMaker`` turns a ``FixturePlan`` into a ``Candidate``, writing nothing.

doit runs one sub-task per fixture in up to ``concurrency`` worker threads; each hands its
generation to an event loop of the maker's pool (``_loops``), under the fixture's deadline.
Model clients are opened once per loop and reused, the embedded model is loaded once per
process. The generator runs until its value validates and passes the quality gates, the
near-duplicate gate of its family included; each run after the first is a new attempt round.
"""

from __future__ import annotations

import asyncio
import json
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..._errors import HotDataError
from ..._freshness import Clock, utcnow
from ..._schema import SchemaAdapter
from .._candidate import Candidate, InvalidValue, Tally, encode_value, make_candidate
from .._config import HotDataConfig
from .._errors import GenerationError
from .._fixture_plan import FixturePlan
from .._spec import FixtureSpec
from .._where import located
from ..answers._store import AnswerStore
from ..models._limits import RateLimits
from ..models._llm import ModelLookup, open_model
from ..models._seam import ModelClient
from ..quality._gates import check_value
from ..quality._settings import QualityContext, QualityProblem
from ..quality._similar import FamilyProse, near_duplicates
from ._answering import AnswerSource, Budget, Detour
from ._ask import FEEDBACK_MARKERS, Asker
from ._context import GenerationContext
from ._judge import Judge, refusal
from ._loops import LoopPool
from ._templates import TemplateSet

__all__ = ["CandidateMaker", "Sample", "describe_exception"]


@dataclass(frozen=True)
class Sample:
    """One run of a generator, gated but not kept (``CandidateMaker.sample``)."""

    value: Any  # the value as JSON data, validated against the fixture's schema
    problems: tuple[QualityProblem, ...]  # what the quality gates refuse in it (empty: it passes)


def describe_exception(exc: BaseException, what: str) -> str:
    """``<what> raised Kind: message (file, line N)`` at the user's innermost line."""
    where = located(exc.__traceback__)
    message = f": {exc}" if str(exc) else ""
    return f"{what} raised {type(exc).__name__}{message}{where}"


class CandidateMaker:
    """The event loops, model clients, templates and budget of one build process.

    Args:
        config: the project's ``[tool.hotdata]`` (templates, model plugins, retries).
        budget: the run's budget, checked before every model call.
        answers: the answer store (None: nothing is replayed or recorded).
        detour: batch mode's queue, where answers may come from besides the store and the model.
        limits: the build's rate limiters, shared by every client of one endpoint and model.
        clock: when a fixture was generated.
    """

    def __init__(
        self,
        config: HotDataConfig,
        *,
        budget: Budget,
        answers: AnswerStore | None = None,
        detour: Detour | None = None,
        limits: RateLimits | None = None,
        clock: Clock = utcnow,
    ) -> None:
        self.config = config
        self.budget = budget
        self.answers = answers
        self.detour = detour
        self.limits = limits or RateLimits()
        self.clock = clock
        self.pool = LoopPool(self._is_user_code)
        self.family = FamilyProse()  # the run's prose shingles, for near-duplicate checks
        self._clients: dict[tuple[int, str], ModelClient] = {}
        self._lookup: ModelLookup | None = None  # made when a model is first asked for
        self._lookup_guard = threading.Lock()
        self._templates: TemplateSet | None = None
        self._closures: dict[tuple[str, ...], dict[str, str]] = {}
        self._adapters: dict[int, SchemaAdapter[Any]] = {}

    def _is_user_code(self, filename: str) -> bool:
        hotdata_dir = str(Path(__file__).resolve().parents[2])
        return filename.startswith(str(self.config.root)) and not filename.startswith(hotdata_dir)

    def close(self) -> None:
        self.pool.close()

    def make(self, plan: FixturePlan, tally: Tally) -> Candidate:
        """Generate ``plan``'s fixture on a loop of the pool, within its timeout (from any thread).

        ``tally`` counts what the build asks, uses and pays as it goes, so a build that fails
        still says which paid answers it holds."""
        return self.pool.run(self.generate(plan, tally), plan.inputs.timeout, f"fixture {plan.name}")

    def client(self, model: str) -> ModelClient:
        """The client for ``model`` on the running loop (an SDK client belongs to one loop)."""
        key = (id(asyncio.get_running_loop()), model)
        client = self._clients.get(key)
        if client is None:
            with self._lookup_guard:
                if self._lookup is None:
                    self._lookup = ModelLookup(self.config.llm_plugins)
            client = self._clients[key] = open_model(
                model, self.config.retries, limits=self.limits, lookup=self._lookup
            )
        return client

    def adapter(self, schema: Any) -> SchemaAdapter[Any]:
        """The adapter of a schema a generator asks for (made once per schema)."""
        adapter = self._adapters.get(id(schema))
        if adapter is None:
            adapter = self._adapters[id(schema)] = SchemaAdapter(schema)
        return adapter

    def _template_closure(self, spec: FixtureSpec) -> tuple[TemplateSet, dict[str, str]]:
        if self._templates is None:
            self._templates = TemplateSet(self.config.templates_path)
        closure = self._closures.get(spec.templates)
        if closure is None:  # templates do not change during one build process
            closure = self._closures[spec.templates] = self._templates.closure(spec.templates)
        return self._templates, closure

    async def generate(self, plan: FixturePlan, tally: Tally) -> Candidate:
        """Run the fixture's generator until its value validates and passes the quality gates; write
        nothing."""
        fixture = plan.inputs
        spec = fixture.spec
        _, closure = self._template_closure(spec)
        asker, ctx = self._context(plan, tally)
        judge = self._judge(plan, asker.source, tally)
        what = f"generator {spec.generator.__name__}"
        problems: list[str] = []
        judged = False  # the last refusal was the judge's
        for round_ in range(fixture.attempts):
            asker.begin_round(round_)
            calls_before = tally.attempts
            value, data = await self._run_round(plan, ctx, what)
            # the gates are pure functions of the bytes and of settings the plan's quality hash names
            problems = (
                [] if data == plan.passed else [p.message for p in self._gate(json.loads(data), plan, asker)]
            )
            # the judge answers even for bytes that passed (``doit verify`` replays its verdicts)
            verdicts = [] if problems or judge is None else await judge.verdicts(json.loads(data), round_)
            judged = any(v.answer == "no" for v in verdicts)
            problems = problems or [refusal(v) for v in verdicts if v.answer == "no"]
            if not problems:
                return make_candidate(
                    plan,
                    value,
                    tally,
                    generated_at=self.clock(),
                    templates=closure,
                    schemas_used=ctx.schemas_used,
                    samplers=ctx.sample.used_libraries,
                    schema_copies=ctx.schema_copies,
                    encoded=data,
                    verdicts=verdicts,
                )
            asker.refuse([f"fixture: {p}" for p in problems])
            if tally.attempts == calls_before:
                break  # the generator asked the model nothing: another run returns the same value
        if judged:
            raise GenerationError(
                f"fixture {spec.name}: the judge refused every value of {what}; last: "
                f"{'; '.join(problems[:3])}; nothing was written. Improve the generator or its prompt, "
                "or change the question (judge= on the fixture, or [tool.hotdata.judge] questions)"
            )
        raise GenerationError(
            f"fixture {spec.name}: {what} returned data that fails the quality gates: "
            f"{'; '.join(problems[:3])}; nothing was written. Improve the generator or its prompt, or tune "
            "[tool.hotdata.quality] (or quality= on the fixture)"
        )

    def _judge(self, plan: FixturePlan, source: AnswerSource, tally: Tally) -> Judge | None:
        """The fixture's judge (None: it asks no questions), asking through an answer source of
        the fixture: its own when the judge model is the fixture's model."""
        fixture = plan.inputs
        if not fixture.judge:
            return None
        model = fixture.judge_model or fixture.model
        if model != fixture.model:
            source = AnswerSource(
                plan, self.client(model), self.budget, tally, store=self.answers, detour=self.detour
            )
        return Judge(plan, source, tally)

    def sample(self, plan: FixturePlan, round_: int, tally: Tally) -> Sample:
        """Run ``plan``'s generator once, in attempt round ``round_``, through validation and the
        quality gates, and return its value with the gates' problems (``doit preview``): no
        further round, no candidate, nothing written. A generation that fails raises
        ``HotDataError`` as a build's would."""
        return self.pool.run(self._sample(plan, round_, tally), plan.inputs.timeout, f"fixture {plan.name}")

    async def _sample(self, plan: FixturePlan, round_: int, tally: Tally) -> Sample:
        asker, ctx = self._context(plan, tally)
        asker.begin_round(round_)
        _, data = await self._run_round(plan, ctx, f"generator {plan.inputs.spec.generator.__name__}")
        value = json.loads(data)
        return Sample(value, tuple(self._gate(value, plan, asker)))

    def _context(self, plan: FixturePlan, tally: Tally) -> tuple[Asker, GenerationContext]:
        fixture = plan.inputs
        templates, _ = self._template_closure(fixture.spec)
        source = AnswerSource(
            plan, self.client(fixture.model), self.budget, tally, store=self.answers, detour=self.detour
        )
        asker = Asker(plan, source, tally)
        return asker, GenerationContext(asker, templates=templates, adapter=self.adapter)

    async def _run_round(self, plan: FixturePlan, ctx: GenerationContext, what: str) -> tuple[Any, bytes]:
        """One run of the generator: its value, and the value's validated canonical bytes."""
        value = await self._run_generator(plan.inputs.spec, ctx, what)
        try:
            return value, encode_value(plan.inputs.adapter, value)
        except InvalidValue as exc:
            raise GenerationError(
                f"fixture {plan.name}: {what} returned {exc}; nothing was written"
            ) from None

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

    def _gate(self, data: Any, plan: FixturePlan, asker: Asker) -> list[QualityProblem]:
        """The quality problems of the whole fixture, near-duplicates of its family included."""
        fixture = plan.inputs
        context = QualityContext(
            prompt=fixture.echo_text(),
            prompts=asker.prompts,
            json_schema=fixture.adapter.json_schema(),
            secrets=fixture.secrets,
            feedback_markers=FEEDBACK_MARKERS,
            context=asker.material,
        )
        problems = check_value(data, fixture.quality, context, fixture.checks) + near_duplicates(
            data, plan.family, fixture.quality, self.family
        )
        return problems
