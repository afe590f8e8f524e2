"""Stage 2, generate: turn a planned fixture into a ``Candidate``, writing nothing.

doit runs one sub-task per fixture in worker threads; each hands its generation
to the runner's single event loop, so model clients are opened (and an embedded
model loaded) once per process and up to ``concurrency`` generations overlap.
The run's budget (``max_calls``, ``max_tokens``, ``offline``) is enforced here,
before every model call.
"""

from __future__ import annotations

import contextlib
import threading
import traceback
from collections.abc import AsyncIterator, Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from .._errors import HotDataError
from .._freshness import Clock, utcnow
from ._candidate import Candidate, InvalidValue, make_candidate
from ._config import HotDataConfig
from ._errors import GenerationError, ModelError
from ._fingerprint import Inputs
from ._model import ModelClient, ModelReply
from ._spec import FixtureSpec

if TYPE_CHECKING:
    import asyncio

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

    async def before_call(self) -> None:
        if self.offline:
            raise ModelError(
                "model calls are disabled (HOTDATA_OFFLINE=1 or offline = true); unset it to generate"
            )
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
        self.tokens += (reply.input_tokens or 0) + (reply.output_tokens or 0)


def describe_exception(exc: BaseException, what: str) -> str:
    """``<what> raised Kind: message (file, line N)`` with the innermost frame."""
    frames = traceback.extract_tb(exc.__traceback__)
    where = f" ({frames[-1].filename}, line {frames[-1].lineno})" if frames else ""
    return f"{what} raised {type(exc).__name__}: {exc}{where}"


class Runner:
    """The event loop, model clients, templates and budget of one build process."""

    def __init__(self, config: HotDataConfig, inputs: Inputs, *, clock: Clock = utcnow) -> None:
        self.config = config
        self.inputs = inputs
        self.budget = Budget(config)
        self.clock = clock
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_guard = threading.Lock()
        self._slots: asyncio.Semaphore | None = None
        self._clients: dict[str, ModelClient] = {}
        self._templates: Any = None
        self._closures: dict[tuple[str, ...], dict[str, str]] = {}

    # -- the event loop -----------------------------------------------------------

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run ``coro`` on the build's event loop and wait for it (from any thread)."""
        import asyncio  # only when something is generated: a no-op check never needs it

        with self._loop_guard:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                threading.Thread(target=loop.run_forever, name="hotdata-loop", daemon=True).start()
                self._loop = loop
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result()

    def close(self) -> None:
        with self._loop_guard:
            if self._loop is not None:
                self._loop.call_soon_threadsafe(self._loop.stop)
                self._loop = None

    @contextlib.asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """One of the ``concurrency`` generation slots."""
        import asyncio

        if self._slots is None:
            self._slots = asyncio.Semaphore(self.config.concurrency)
        async with self._slots:
            yield

    # -- generating -----------------------------------------------------------------

    def client(self, model: str) -> ModelClient:
        client = self._clients.get(model)
        if client is None:
            from ._llm import open_model

            client = self._clients[model] = open_model(model, self.config.retries, self.config.llm_plugins)
        return client

    def _template_closure(self, spec: FixtureSpec) -> tuple[Any, dict[str, str]]:
        from ._templates import TemplateSet

        if self._templates is None:
            self._templates = TemplateSet(self.config.templates_path)
        closure = self._closures.get(spec.templates)
        if closure is None:  # templates do not change during one build process
            closure = self._closures[spec.templates] = self._templates.closure(spec.templates)
        return self._templates, closure

    async def generate(self, spec: FixtureSpec, data_path: Path, meta_path: Path) -> Candidate:
        """Run the fixture's generator and validate what it returns; writes nothing."""
        from ._context import GenerationContext

        templates, closure = self._template_closure(spec)
        model, options = self.inputs.model_for(spec)
        ctx = GenerationContext(
            spec,
            client=self.client(model),
            model=model,
            model_options=options,
            templates=templates,
            adapter=self.inputs.adapter,
            max_attempts=self.config.retries.validation_attempts,
            before_call=self.budget.before_call,
            after_call=self.budget.spent,
        )
        what = f"generator {spec.generator.__name__}"
        try:
            value = await spec.generator(ctx, **spec.params)
        except HotDataError:
            raise
        except (Exception, SystemExit, KeyboardInterrupt) as exc:
            # SystemExit and KeyboardInterrupt raised by a generator would end the loop thread
            raise GenerationError(f"fixture {spec.name}: {describe_exception(exc, what)}") from None
        try:
            return make_candidate(
                spec.name,
                data_path,
                meta_path,
                self.inputs.adapter(spec.schema),
                value,
                generated_at=self.clock(),
                ttl=self.inputs.ttl_for(spec),
                fingerprint=self.inputs.fingerprint(spec, closure, ctx.schemas_used),
                generator=spec.generator_name,
                model=model,
                model_options=options,
                attempts=ctx.attempts,
                usage=ctx.usage,
                usage_per_attempt=ctx.usage_per_attempt,
            )
        except InvalidValue as exc:
            raise GenerationError(
                f"fixture {spec.name}: {what} returned {exc}; nothing was written"
            ) from None
