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
from ..quality._settings import QualityContext
from ..quality._similar import FamilyProse, near_duplicates
from ._answering import AnswerSource, Budget, Detour
from ._ask import FEEDBACK_MARKERS, Asker
from ._context import GenerationContext
from ._loops import LoopPool
from ._templates import TemplateSet

__all__ = ["CandidateMaker", "describe_exception"]


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
        templates, closure = self._template_closure(spec)
        source = AnswerSource(
            plan, self.client(fixture.model), self.budget, tally, store=self.answers, detour=self.detour
        )
        asker = Asker(plan, source, tally)
        ctx = GenerationContext(asker, templates=templates, adapter=self.adapter)
        what = f"generator {spec.generator.__name__}"
        problems: list[str] = []
        for round_ in range(fixture.attempts):
            asker.begin_round(round_)
            calls_before = tally.attempts
            value = await self._run_generator(spec, ctx, what)
            try:
                data = encode_value(fixture.adapter, value)
            except InvalidValue as exc:
                raise GenerationError(
                    f"fixture {spec.name}: {what} returned {exc}; nothing was written"
                ) from None
            # the gates are pure functions of the bytes and of settings the plan's quality hash names
            problems = [] if data == plan.passed else self._gate(json.loads(data), plan, asker)
            if not problems:
                return make_candidate(
                    plan,
                    value,
                    tally,
                    generated_at=self.clock(),
                    templates=closure,
                    schemas_used=ctx.schemas_used,
                    schema_copies=ctx.schema_copies,
                    encoded=data,
                )
            asker.refuse([f"fixture: {p}" for p in problems])
            if tally.attempts == calls_before:
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

    def _gate(self, data: Any, plan: FixturePlan, asker: Asker) -> list[str]:
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
        return [p.message for p in problems]
