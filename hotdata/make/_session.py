"""``BuildSession``: one process's build — catalog, freshness, model calls, lock and totals.

doit runs one sub-task per fixture in worker threads; every sub-task hands its
generation to the session's single event loop, so model clients are created (and
an embedded model loaded) once per process and K generations overlap.
"""

from __future__ import annotations

import contextlib
import importlib
import sys
import threading
import time
import traceback
from collections.abc import Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from .._errors import HotDataError
from .._hotdata import FixtureState, HotData
from .._provenance import Usage
from .._schema import SchemaAdapter
from .._store import recover_pending
from ._catalog import Catalog, load_catalog
from ._config import HotDataConfig
from ._errors import CatalogError, GenerationError, ModelError
from ._fingerprint import FixtureReport, FreshnessChecker
from ._model import ModelClient, ModelReply, resolve_client
from ._secrets import redact
from ._spec import FixtureSpec

if TYPE_CHECKING:
    import asyncio

__all__ = ["BuildOutcome", "BuildSession", "BudgetExhausted"]

T = TypeVar("T")


class BudgetExhausted(ModelError):
    """The run's max_calls / max_tokens budget is spent; the fixture stays stale."""


@dataclass
class BuildOutcome:
    name: str
    status: str  # generated | skipped | failed | budget
    message: str = ""
    seconds: float = 0.0
    usage: Usage = field(default_factory=Usage)


class BuildSession:
    """State of one ``doit`` process; created by ``doit_project()`` in dodo.py."""

    def __init__(self, config: HotDataConfig, *, force: bool = False) -> None:
        self.config = config
        self.force = force
        self.checker = FreshnessChecker(config)
        self.reports: dict[str, FixtureReport] = {}
        self.outcomes: dict[str, BuildOutcome] = {}
        self.calls = 0
        self.tokens = 0
        self.started = time.monotonic()
        self._catalog: Catalog | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_guard = threading.Lock()
        self._semaphore: asyncio.Semaphore | None = None
        self._clients: dict[str, ModelClient] = {}
        self._templates: Any = None
        self._closures: dict[tuple[str, ...], dict[str, str]] = {}
        self._file_lock: Any = None
        self._lock_ready: asyncio.Lock | None = None

    # -- catalog and freshness --------------------------------------------------

    @property
    def catalog(self) -> Catalog:
        if self._catalog is None:
            self._catalog = load_catalog(self.config)
        return self._catalog

    def adhoc(self, spec: FixtureSpec) -> None:
        """Add a one-off spec (``doit generate``) to this session's catalog."""
        self._catalog = Catalog([*self.catalog, spec])

    def check(self, name: str) -> FixtureReport:
        report = self.checker.check(self.catalog.get(name))
        self.reports[name] = report
        return report

    def is_up_to_date(self, name: str) -> bool:
        """doit ``uptodate`` callable: fresh and hand-edited fixtures are not rebuilt."""
        if self.force:
            return False
        return not self.check(name).needs_build

    # -- event loop ---------------------------------------------------------------

    def _run(self, coro: Coroutine[Any, Any, T]) -> T:
        import asyncio  # only when something is generated: a no-op check never needs it

        with self._loop_guard:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                threading.Thread(target=loop.run_forever, name="hotdata-loop", daemon=True).start()
                self._loop = loop
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result()

    def close(self) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
        if self._file_lock is not None:
            with contextlib.suppress(Exception):
                self._file_lock.release()

    # -- building -----------------------------------------------------------------

    def build(self, name: str) -> BuildOutcome:
        """Generate fixture ``name`` (called from a doit worker thread)."""
        started = time.monotonic()
        try:
            outcome = self._run(self._build(self.catalog.get(name)))
        except HotDataError as exc:
            # the one place failure messages leave the build: no key value gets past it
            message = redact(str(exc))
            outcome = BuildOutcome(name, "budget" if isinstance(exc, BudgetExhausted) else "failed", message)
        outcome.seconds = time.monotonic() - started
        self.outcomes[name] = outcome
        return outcome

    async def _acquire_lock(self) -> None:
        import asyncio

        if self._lock_ready is None:
            self._lock_ready = asyncio.Lock()
        async with self._lock_ready:
            if self._file_lock is not None:
                return
            import filelock

            self.config.fixtures_path.mkdir(parents=True, exist_ok=True)
            path = self.config.fixtures_path / ".hotdata.lock"
            lock = filelock.FileLock(str(path))
            try:
                lock.acquire(timeout=0)
            except filelock.Timeout:
                print(
                    f"hotdata: another build holds {path}; waiting up to {self.config.lock_timeout:.0f}s",
                    file=sys.stderr,
                    flush=True,
                )
                try:
                    await asyncio.to_thread(lock.acquire, timeout=self.config.lock_timeout)
                except filelock.Timeout:
                    raise GenerationError(
                        f"another hotdata build still holds {path} after {self.config.lock_timeout:.0f}s; "
                        "wait for it to finish (or raise lock_timeout in [tool.hotdata])"
                    ) from None
            self._file_lock = lock
            # Holding the lock, no one else writes here: temp files are leftovers of a killed run.
            remove_stray_temp_files(self.config.fixtures_path)

    async def _build(self, spec: FixtureSpec) -> BuildOutcome:
        import asyncio

        if self._semaphore is None:
            self._semaphore = asyncio.Semaphore(self.config.concurrency)
        async with self._semaphore:
            await self._acquire_lock()
            data_path, meta_path = self.checker.paths(spec)
            recover_pending(data_path, meta_path)
            # Another run may have built it while we waited for the lock.
            report = self.checker.check(spec)
            if not self.force and not report.needs_build:
                return BuildOutcome(spec.name, "skipped", f"{report.state.value}: {report.reason}")
            return await self._generate(spec, data_path)

    def _client(self, model: str) -> ModelClient:
        client = self._clients.get(model)
        if client is None:
            client = self._clients[model] = resolve_client(model, self.config.retries)
        return client

    async def _gate(self) -> None:
        cfg = self.config
        if cfg.offline:
            raise ModelError(
                "model calls are disabled (HOTDATA_OFFLINE=1 or offline = true); unset it to generate"
            )
        if cfg.max_calls is not None and self.calls >= cfg.max_calls:
            raise BudgetExhausted(f"run budget reached: max_calls = {cfg.max_calls}; the fixture stays stale")
        if cfg.max_tokens is not None and self.tokens >= cfg.max_tokens:
            raise BudgetExhausted(
                f"run budget reached: max_tokens = {cfg.max_tokens}; the fixture stays stale"
            )
        self.calls += 1

    def _spent(self, reply: ModelReply) -> None:
        self.tokens += (reply.input_tokens or 0) + (reply.output_tokens or 0)

    async def _generate(self, spec: FixtureSpec, data_path: Any) -> BuildOutcome:
        import asyncio

        from ._context import GenerationContext
        from ._templates import TemplateSet

        if self._templates is None:
            self._templates = TemplateSet(self.config.templates_path)
        templates = self._closures.get(spec.templates)
        if templates is None:  # templates do not change during one build process
            templates = self._closures[spec.templates] = self._templates.closure(spec.templates)
        model, options = self.checker.model_for(spec)
        ctx = GenerationContext(
            spec,
            client=self._client(model),
            model=model,
            model_options=options,
            templates=self._templates,
            adapter=self.checker.adapter,
            max_attempts=self.config.retries.validation_attempts,
            before_call=self._gate,
            after_call=self._spent,
        )
        try:
            value = await spec.generator(ctx, **spec.params)
        except HotDataError:
            raise
        except Exception as exc:
            raise GenerationError(f"fixture {spec.name}: {_describe(exc, spec)}") from None
        handle: HotData[Any] = HotData(data_path, spec.schema, self.checker.ttl_for(spec), name=spec.name)
        handle._adapter = self.checker.adapter(spec.schema)
        try:
            # fsync-heavy: in a worker thread, so writes overlap and the loop keeps serving requests
            await asyncio.to_thread(
                handle.save,
                value,
                generator=spec.generator_name,
                fingerprint=self.checker.fingerprint(spec, templates, ctx.schemas_used),
                model=model,
                model_options=options,
                attempts=ctx.attempts,
                usage=ctx.usage,
                usage_per_attempt=ctx.usage_per_attempt,
            )
        except HotDataError as exc:
            raise GenerationError(
                f"fixture {spec.name}: generator {spec.generator.__name__} returned {exc}"
            ) from None
        return BuildOutcome(spec.name, "generated", usage=ctx.usage)

    # -- reporting ------------------------------------------------------------------

    def summary(self) -> dict[str, Any]:
        by_status: dict[str, list[str]] = {}
        for outcome in self.outcomes.values():
            by_status.setdefault(outcome.status, []).append(outcome.name)
        return {
            "generated": len(by_status.get("generated", [])),
            "up_to_date": sum(
                1 for n, r in self.reports.items() if r.state is FixtureState.FRESH and n not in self.outcomes
            )
            + len(by_status.get("skipped", [])),
            "failed": sorted(by_status.get("failed", [])),
            "budget": sorted(by_status.get("budget", [])),
            "edited_skipped": sorted(
                n
                for n, r in self.reports.items()
                if r.state is FixtureState.EDITED and n not in self.outcomes
            ),
            "model_calls": self.calls,
            "tokens": self.tokens,
            "seconds": time.monotonic() - self.started,
        }

    def adapter(self, schema: Any) -> SchemaAdapter[Any]:
        return self.checker.adapter(schema)


def _describe(exc: BaseException, spec: FixtureSpec) -> str:
    frames = traceback.extract_tb(exc.__traceback__)
    where = f" ({frames[-1].filename}, line {frames[-1].lineno})" if frames else ""
    return f"generator {spec.generator.__name__} raised {type(exc).__name__}: {exc}{where}"


def remove_stray_temp_files(fixtures_dir: Path) -> list[Path]:
    """Delete temp files (``.<name>.json.*.tmp``) a killed build left behind.

    Only safe while no build is writing: call it holding the fixtures lock, or
    after the build process has ended.
    """
    removed = []
    if fixtures_dir.is_dir():
        for path in fixtures_dir.rglob(".*.tmp"):
            with contextlib.suppress(OSError):
                path.unlink()
                removed.append(path)
    return removed


def import_object(path: str) -> Any:
    """``module:Name`` -> the object (for ``doit generate --schema``)."""
    module_name, _, attr = path.partition(":")
    if not module_name or not attr:
        raise CatalogError(f"{path!r} is not 'module:Name' (for example generators.schemas:AgentSnapshot)")
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:
        raise CatalogError(
            f"cannot import {module_name!r} for {path!r}: {type(exc).__name__}: {exc}"
        ) from None
    try:
        return getattr(module, attr)
    except AttributeError:
        raise CatalogError(f"module {module_name!r} has no {attr!r}") from None
