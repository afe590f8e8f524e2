"""``Pipeline``: one build process, fixture by fixture through plan → generate → commit.

It owns the stages and hands values between them; it keeps no state of theirs.
doit's tasks (``_project``) call ``status``, ``is_up_to_date`` and ``build``; the
reporter reads ``outcome``, ``last_status`` and ``summary``.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from pathlib import Path
from typing import Any

from .._errors import HotDataError, InvalidFixtureName
from .._freshness import Clock, FixtureState, FixtureStatus, utcnow
from ._config import HotDataConfig, ReplayMode
from ._errors import GenerationError
from ._failures import FailureLog
from ._outcome import BuildSummary, Outcome, OutcomeKind
from ._secrets import redact
from ._spec import FixtureSpec
from .answers._store import built_from
from .batch._run import BatchedAnswerStore, BatchRun, WaitingForBatch
from .commit._catalog_doc import CatalogRow, write_catalog
from .commit._writer import Writer
from .generate._runner import BudgetExhausted, Runner, describe_exception
from .plan._catalog import Catalog, load_catalog
from .plan._fingerprint import Inputs
from .plan._index import FreshIndex
from .plan._planner import Planner

__all__ = ["Pipeline"]


class Pipeline:
    """Plan, generate and commit the fixtures of one project in one process.

    Args:
        config: the project's validated ``[tool.hotdata]``.
        force: rebuild selected fixtures even when fresh or hand-edited.
        review: stage rebuilt fixtures for review (``doit review``) instead of replacing
            the committed ones (default: ``review`` in ``[tool.hotdata]``).
        replay: ``auto``, ``only`` or ``off`` for recorded answers (default: ``replay`` in the table).
        batch: send first requests as provider batch jobs, collected by a later run
            (default: ``batch`` in the table).
        catalog: the specs to use (default: imported from the configured generator modules).
    """

    def __init__(
        self,
        config: HotDataConfig,
        *,
        force: bool = False,
        review: bool | None = None,
        replay: ReplayMode | None = None,
        batch: bool | None = None,
        catalog: Catalog | None = None,
        clock: Clock = utcnow,
    ) -> None:
        self.config = config
        self.force = force
        self.review = config.review if review is None else review
        self.inputs = Inputs(config)
        self.writer = Writer(config.fixtures_path, config.state_path, config.lock_timeout)
        # batch jobs of earlier runs are polled before the first fixture is built, in every mode
        self.batches = BatchRun(
            config.batches_path,
            self.writer.write_document,
            batching=config.batch if batch is None else batch,
            offline=config.offline,
            plugins=config.llm_plugins,
            model=config.model,
        )
        # under review, a build's answers are staged with it: rejecting it must not touch the store
        self.answers = BatchedAnswerStore(
            config.answers_path,
            self.writer.write_answer,
            self.batches.queue,
            root=config.root,
            staging=self.review,
            state_dir=config.state_path,
        )
        self.failures = FailureLog(config.state_path)
        self.index = FreshIndex(config.state_path)
        self.runner = Runner(
            config, self.inputs, clock=clock, answers=self.answers, replay=replay or config.replay
        )
        self._clock = clock
        self._catalog = catalog
        self._planner: Planner | None = None
        self._statuses: dict[str, FixtureStatus] = {}
        self._outcomes: dict[str, Outcome] = {}
        # each fixture's data as this run last read or wrote it (None: missing or unreadable), so a
        # family of N variants is read N times per run, not N² (each variant is compared with all)
        self._data: dict[str, Any] = {}
        self._guard = threading.Lock()
        self.started = time.monotonic()
        self.notes: list[str] = []  # said at the end of the run, after the totals

    # -- stage 1: plan --------------------------------------------------------------

    @property
    def catalog(self) -> Catalog:
        """Every fixture spec (imports the generator modules on first use)."""
        if self._catalog is None:
            self._catalog = load_catalog(self.config)
        return self._catalog

    @property
    def planner(self) -> Planner:
        if self._planner is None:
            self._planner = Planner(self.catalog, self.inputs, clock=self._clock, index=self.index)
        return self._planner

    def add(self, spec: FixtureSpec) -> None:
        """Add a one-off spec (``doit generate``) to this run's catalog, in place of one of that name."""
        self._catalog = Catalog([*(s for s in self.catalog if s.name != spec.name), spec])
        self._planner = None

    def status(self, name: str) -> FixtureStatus:
        status = self.planner.status(self.catalog.get(name))
        with self._guard:
            self._statuses[name] = status
        return status

    def is_up_to_date(self, name: str) -> bool:
        """doit ``uptodate``: fresh and hand-edited fixtures are kept unless forced.

        Asks the quick way: an unchanged fixture is decided by ``stat`` calls (the local index).
        """
        if self.force:
            return False
        status = self.planner.status(self.catalog.get(name), quick=True)
        with self._guard:
            self._statuses[name] = status
        return not status.needs_build

    def last_status(self, name: str) -> FixtureStatus | None:
        """The status this run last computed for ``name``, if any."""
        return self._statuses.get(name)

    # -- stages 2 and 3: generate, commit ---------------------------------------------

    def build(self, name: str) -> Outcome:
        """Generate and commit fixture ``name`` (called from a doit worker thread)."""
        spec = self.catalog.get(name)
        queued = time.monotonic()
        used: list[str] = []  # the answers this build uses, kept when it does not finish
        try:
            self.writer.acquire()
            self.batches.collect(self.answers)  # once per run: answers batches brought are replayed
            outcome = self._build(spec, queued, used)
        except WaitingForBatch as exc:  # not a failure: the fixture stays stale until its batch is in
            outcome = Outcome(
                name, OutcomeKind.WAITING, redact(str(exc)), time.monotonic() - queued, answers=tuple(used)
            )
        except HotDataError as exc:
            # the one place failure messages leave the build: no key value gets past it
            kind = OutcomeKind.BUDGET if isinstance(exc, BudgetExhausted) else OutcomeKind.FAILED
            outcome = Outcome(name, kind, redact(str(exc)), time.monotonic() - queued, answers=tuple(used))
        except Exception as exc:  # a bug or an environment fault: this fixture fails, the run goes on
            message = redact(f"fixture {name}: {describe_exception(exc, 'the build')}")
            outcome = Outcome(
                name, OutcomeKind.FAILED, message, time.monotonic() - queued, answers=tuple(used)
            )
        with self._guard:
            self._outcomes[name] = outcome
        return outcome

    def _build(self, spec: FixtureSpec, queued: float, used: list[str]) -> Outcome:
        self.writer.acquire()  # may wait for another build: counted as waiting, not generating
        try:
            data_path, meta_path = self.planner.paths(spec)
        except InvalidFixtureName as exc:
            raise GenerationError(f"fixture {spec.name}: {exc}") from None
        self.writer.recover(data_path, meta_path)
        # Another run may have built it while this one waited for the lock.
        status = self.planner.status(spec, rescan=True)
        if not self.force and not status.needs_build:
            return Outcome(spec.name, OutcomeKind.SKIPPED, f"{status.state.value}: {status.reason}")
        self.writer.check_writable(spec.name, data_path, meta_path)  # before any model call is paid
        started = time.monotonic()
        reason = "new fixture" if status.state is FixtureState.MISSING else status.reason
        if self.force and not status.needs_build:
            reason = "forced (force=1)"
        # an expired ttl asks for new data: the recorded answers are what expired
        replay: ReplayMode | None = "off" if status.check == "ttl" and self.runner.replay == "auto" else None
        candidate = self.runner.run(
            self.runner.generate(
                spec,
                data_path,
                meta_path,
                self.siblings(spec),
                reason,
                replay,
                answers_used=used,
                expected=built_from(data_path, meta_path),
            ),
            self.inputs.timeout_for(spec),
            f"fixture {spec.name}",
        )
        if self.review:
            self.writer.stage(candidate)
        else:
            self.writer.commit(candidate)
            # a staged answer the build used (one no committed file holds) joins the store with it
            self.answers.promote(candidate.record.answer_digests)
        self._data[spec.name] = json.loads(candidate.data)
        return Outcome(
            spec.name,
            OutcomeKind.STAGED if self.review else OutcomeKind.GENERATED,
            seconds=time.monotonic() - started,
            waited=started - queued,
            usage=candidate.spent,
            replaced_staged="awaiting review" in status.reason,
            replayed=candidate.record.replayed,
        )

    def finish_run(self) -> None:
        """After the fixtures of a run: tidy half-done writes, remember failures, rewrite the catalog."""
        self.finish_interrupted_writes()
        self.batches.submit()  # every request this run wanted, as one batch per model
        self.batches.tidy({n: o.kind.value for n, o in self._outcomes.items()}, self.answers)
        self.failures.update(self._outcomes.values())
        try:
            self.write_catalog()
        except HotDataError as exc:  # the fixtures are built; only the catalog document is left out
            self.notes.append(str(exc))

    def write_catalog(self) -> bool:
        """Rewrite ``fixtures/README.md`` when its content changed; True when it was written
        (``GenerationError`` when a file hotdata did not write is in its place)."""
        return write_catalog(self.config.fixtures_path, self.catalog_rows(), self.writer.write_document)

    def catalog_rows(self) -> list[CatalogRow]:
        """Every fixture as the catalog shows it, from the committed records as they are now."""
        rows = []
        self.planner.rescan()  # this run may have written fixtures since it listed them
        for spec in self.catalog:
            # what this run already decided stands, unless it then built or failed the fixture
            status = self.last_status(spec.name)
            outcome = self.outcome(spec.name)
            if status is None or outcome is not None:
                status = self.planner.status(spec)
            rec = status.record
            generated = rec.generated_at.strftime("%Y-%m-%d %H:%M UTC") if rec else "-"
            model = rec.model if rec and rec.model else "-"
            entry = self.index.get(spec.name) if rec is None else None
            if entry is not None:  # found fresh by the local index, without reading the record
                generated, model = entry.generated_at, entry.model
            state = status.state.value
            if outcome is not None and outcome.kind is OutcomeKind.FAILED:
                state += " (last build failed)"
            schema = getattr(spec.schema, "__qualname__", str(spec.schema))
            ttl = self.inputs.ttl_for(spec)
            rows.append(CatalogRow(spec.name, schema, spec.generator_name, model, generated, ttl, state))
        return rows

    def finish_interrupted_writes(self) -> int:
        """Finish (or discard) every half-done write the plan came across; the count finished."""
        finished = 0
        for name in sorted(self.planner.pending_seen):
            spec = self.catalog.get(name)
            finished += self.writer.recover(*self.planner.paths(spec))
        self.planner.pending_seen.clear()
        return finished

    def siblings(self, spec: FixtureSpec) -> dict[str, Any]:
        """The data of the other variants of ``spec``'s generator (a family must not repeat itself)."""
        family: dict[str, Any] = {}
        for other in self.catalog:
            if other.generator is not spec.generator or other.name == spec.name:
                continue
            if other.name not in self._data:
                try:
                    self._data[other.name] = json.loads(self.planner.paths(other)[0].read_bytes())
                except (OSError, ValueError, HotDataError):
                    self._data[other.name] = None  # missing, unreadable or invalid: nothing to compare with
            if self._data[other.name] is not None:
                family[other.name] = self._data[other.name]
        return family

    def outcome(self, name: str) -> Outcome | None:
        return self._outcomes.get(name)

    def data_path(self, spec: FixtureSpec) -> Path:
        return self.planner.paths(spec)[0]

    # -- the end ----------------------------------------------------------------------

    def summary(self) -> BuildSummary:
        outcomes = list(self._outcomes.values())
        of = {kind: [o for o in outcomes if o.kind is kind] for kind in OutcomeKind}
        statuses = {n: s for n, s in self._statuses.items() if n not in self._outcomes}
        return BuildSummary(
            generated=len(of[OutcomeKind.GENERATED]) + len(of[OutcomeKind.STAGED]),
            pending_review=tuple(
                sorted(
                    [o.name for o in of[OutcomeKind.STAGED]]
                    + [n for n, s in statuses.items() if s.state is FixtureState.PENDING]
                )
            ),
            replaced_staged=sum(o.replaced_staged for o in outcomes),
            up_to_date=sum(s.state is FixtureState.FRESH for s in statuses.values())
            + len(of[OutcomeKind.SKIPPED]),
            failed=tuple(sorted(of[OutcomeKind.FAILED], key=lambda o: o.name)),
            budget=tuple(sorted(o.name for o in of[OutcomeKind.BUDGET])),
            edited_kept=tuple(sorted(n for n, s in statuses.items() if s.check == "edited")),
            calls=self.runner.budget.calls,
            replayed=sum(o.replayed for o in outcomes),
            tokens=self.runner.budget.tokens,
            seconds=time.monotonic() - self.started,
            waiting=tuple(sorted(o.name for o in of[OutcomeKind.WAITING])),
            batches=tuple(self.batches.notes),
            notes=tuple(self.notes),
        )

    def close(self) -> None:
        self.runner.close()
        self.writer.release()
        with contextlib.suppress(OSError, HotDataError):  # local state: a failure to save it costs only speed
            self.index.save()
