"""``Pipeline``: the conductor of one build run, fixture by fixture through plan → generate → commit.

It hands values from stage to stage and keeps no state of theirs: the planner's
``FixturePlan`` goes to the ``CandidateMaker``, whose ``Candidate`` goes to the ``Writer``.
doit's tasks (``commands._project``) call ``is_up_to_date`` and ``build`` for each fixture and
``end_run`` once; the reporter reads ``outcome`` and ``last_status``. At the end of the run
the conductor submits this run's batch, tidies the batch jobs, remembers the failures and
rewrites the catalog document.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time

from .._errors import HotDataError, InvalidFixtureName
from .._freshness import FixtureState, FixtureStatus
from ._candidate import Candidate, InvalidValue, Tally, kept_candidate
from ._config import ReplayMode
from ._errors import GenerationError
from ._failures import FailureLog
from ._fixture_plan import FixturePlan
from ._outcome import BuildSummary, Outcome, OutcomeKind
from ._secrets import redact
from ._spec import FixtureSpec
from .answers._store import AnswerStore
from .batch._run import BatchRun
from .commit._catalog_doc import CatalogRow, write_catalog
from .commit._writer import Writer
from .generate._answering import AnswerDeferred, BudgetExhausted
from .generate._maker import CandidateMaker, describe_exception
from .plan._planner import SCHEMA_KEPT, Planner

__all__ = ["Pipeline"]


class Pipeline:
    """Plan, generate and commit the fixtures of one project in one run.

    Args:
        planner: the catalog and its classifier (stage 1).
        maker: turns a plan into a candidate (stage 2).
        writer: the only writer under the fixtures directory (stage 3).
        answers: the answer store (staged answers join it when their fixture is committed).
        batches: this run's batch jobs (collected before the first build, submitted at the end).
        failures: the last failure of each fixture, kept between runs.
        force: rebuild selected fixtures even when fresh or hand-edited.
        review: stage rebuilt fixtures for review instead of replacing the committed ones.
        replay: the run's replay mode for recorded answers.
        batch: first requests go into this run's provider batch (batch mode).
    """

    def __init__(
        self,
        *,
        planner: Planner,
        maker: CandidateMaker,
        writer: Writer,
        answers: AnswerStore,
        batches: BatchRun,
        failures: FailureLog,
        force: bool = False,
        review: bool = False,
        replay: ReplayMode = "auto",
        batch: bool = False,
    ) -> None:
        self.planner = planner
        self.maker = maker
        self.writer = writer
        self.answers = answers
        self.batches = batches
        self.failures = failures
        self.force = force
        self.review = review
        self.replay = replay
        self.batch = batch
        self._statuses: dict[str, FixtureStatus] = {}
        self._outcomes: dict[str, Outcome] = {}
        self._guard = threading.Lock()
        self.started = time.monotonic()
        self.notes: list[str] = []  # said at the end of the run, after the totals
        self.refusal: str | None = None  # why no fixture of this run may ask a model (max_cost)

    # -- stage 1: plan --------------------------------------------------------------

    def status(self, name: str) -> FixtureStatus:
        status = self.planner.status(self.planner.catalog.get(name))
        with self._guard:
            self._statuses[name] = status
        return status

    def is_up_to_date(self, name: str) -> bool:
        """doit ``uptodate``: fresh and hand-edited fixtures are kept unless forced.

        Asks the quick way: an unchanged fixture is decided by ``stat`` calls (the local index).
        """
        if self.force:
            return False
        status = self.planner.status(self.planner.catalog.get(name), quick=True)
        with self._guard:
            self._statuses[name] = status
        return not status.needs_build

    def last_status(self, name: str) -> FixtureStatus | None:
        """The status this run last computed for ``name``, if any."""
        return self._statuses.get(name)

    def refuse(self, message: str) -> None:
        """Stop every build of this run before any call (its estimate is over ``max_cost``): each
        fixture ends stopped by budget with ``message``, and stays as it is."""
        self.refusal = message

    # -- stages 2 and 3: generate, commit ---------------------------------------------

    def build(self, name: str, *, batch: bool | None = None) -> Outcome:
        """Generate and commit fixture ``name`` (called from a doit worker thread); ``batch``:
        whether its first requests may wait for this run's batch (default: the run's batch mode)."""
        spec = self.planner.catalog.get(name)
        queued = time.monotonic()
        tally = Tally()  # what the build uses: its answers are kept when it does not finish
        if self.refusal is not None:
            outcome = Outcome(name, OutcomeKind.BUDGET, self.refusal)
            with self._guard:
                self._outcomes[name] = outcome
            return outcome
        try:
            self.writer.acquire()
            self.batches.collect(self.answers)  # once per run: answers batches brought are replayed
            outcome = self._build(spec, queued, tally, self.batch if batch is None else batch)
        except AnswerDeferred as exc:  # not a failure: the fixture stays stale until its batch is in
            outcome = self._unfinished(name, OutcomeKind.WAITING, str(exc), queued, tally)
        except HotDataError as exc:
            # the one place failure messages leave the build: no key value gets past it
            kind = OutcomeKind.BUDGET if isinstance(exc, BudgetExhausted) else OutcomeKind.FAILED
            outcome = self._unfinished(name, kind, str(exc), queued, tally)
        except Exception as exc:  # a bug or an environment fault: this fixture fails, the run goes on
            message = f"fixture {name}: {describe_exception(exc, 'the build')}"
            outcome = self._unfinished(name, OutcomeKind.FAILED, message, queued, tally)
        with self._guard:
            self._outcomes[name] = outcome
        return outcome

    @staticmethod
    def _unfinished(name: str, kind: OutcomeKind, message: str, queued: float, tally: Tally) -> Outcome:
        return Outcome(name, kind, redact(message), time.monotonic() - queued, answers=tuple(tally.answers))

    def _build(self, spec: FixtureSpec, queued: float, tally: Tally, batch: bool) -> Outcome:
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
        self.planner.building(spec.name)
        kept = status.check == SCHEMA_KEPT and not self.force
        try:
            plan = self.planner.plan(spec, status, forced=self.force, replay=self.replay, batch=batch)
            candidate = self._kept(plan, status) if kept else self.maker.make(plan, tally)
            # its family compares with it from now on, before the write: a sibling gated meanwhile sees it
            self.planner.wrote(spec.name, json.loads(candidate.data))
            if self.review:
                self.writer.stage(candidate)
            else:
                self.writer.commit(candidate)
                # a staged answer the build used (one no committed file holds) joins the store with it
                self.answers.promote(candidate.record.answer_digests)
        finally:
            self.planner.settled(spec.name)
        return Outcome(
            spec.name,
            OutcomeKind.STAGED if self.review else OutcomeKind.GENERATED,
            seconds=time.monotonic() - started,
            waited=started - queued,
            usage=candidate.spent,
            replaced_staged="awaiting review" in status.reason,
            replayed=0 if kept else candidate.record.replayed,
            kept_data=kept,
            filled=() if plan.fill is None or not kept else plan.fill.pointers,
            asked_alone=_asked_alone(plan, tally),
        )

    def _kept(self, plan: FixturePlan, status: FixtureStatus) -> Candidate:
        """The committed data under an updated record: its schema changed in a way that does not
        matter, or gained fields with defaults, filled in (the planner revalidated it); no model is asked."""
        record = status.record
        assert record is not None  # a SCHEMA_KEPT status always carries the record it judged
        used = self.planner.schemas_used_now(plan.name, record)
        try:
            return kept_candidate(plan, record, plan.data_path.read_bytes(), used)
        except (OSError, InvalidValue) as exc:
            raise GenerationError(
                f"fixture {plan.name}: its data cannot be kept under the new schema ({exc}); "
                "run `doit fixtures` again to rebuild it"
            ) from None

    def outcome(self, name: str) -> Outcome | None:
        return self._outcomes.get(name)

    # -- the end ----------------------------------------------------------------------

    def end_run(self) -> BuildSummary:
        """After the fixtures of a run: tidy half-done writes, submit this run's batch, tidy the
        batch jobs, remember failures, rewrite the catalog; the run's summary."""
        self.finish_interrupted_writes()
        self.batches.submit()  # every request this run wanted, as one batch per model
        self.batches.tidy({n: o.kind.value for n, o in self._outcomes.items()}, self.answers)
        self.failures.update(self._outcomes.values())
        try:
            self.write_catalog()
        except HotDataError as exc:  # the fixtures are built; only the catalog document is left out
            self.notes.append(str(exc))
        return self.summary()

    def finish_interrupted_writes(self) -> int:
        """Finish (or discard) every half-done write the plan came across; the count finished."""
        finished = 0
        for name in sorted(self.planner.pending_seen):
            spec = self.planner.catalog.get(name)
            finished += self.writer.recover(*self.planner.paths(spec))
        self.planner.pending_seen.clear()
        return finished

    def write_catalog(self) -> bool:
        """Rewrite ``fixtures/README.md`` when its content changed; True when it was written
        (``GenerationError`` when a file hotdata did not write is in its place)."""
        return write_catalog(self.planner.fixtures_path, self.catalog_rows(), self.writer.write_document)

    def catalog_rows(self) -> list[CatalogRow]:
        """Every fixture as the catalog shows it, from the committed records as they are now."""
        rows = []
        self.planner.rescan()  # this run may have written fixtures since it listed them
        for spec in self.planner.catalog:
            # what this run already decided stands, unless it then built or failed the fixture
            status = self.last_status(spec.name)
            outcome = self.outcome(spec.name)
            if status is None or outcome is not None:
                status = self.planner.status(spec)
            rec = status.record
            generated = rec.generated_at.strftime("%Y-%m-%d %H:%M UTC") if rec else "-"
            model = rec.model if rec and rec.model else "-"
            entry = self.planner.index.get(spec.name) if rec is None and self.planner.index else None
            if entry is not None:  # found fresh by the local index, without reading the record
                generated, model = entry.generated_at, entry.model
            state = status.state.value
            if outcome is not None and outcome.kind is OutcomeKind.FAILED:
                state += " (last build failed)"
            schema = getattr(spec.schema, "__qualname__", str(spec.schema))
            ttl = self.planner.inputs(spec).ttl
            rows.append(CatalogRow(spec.name, schema, spec.generator_name, model, generated, ttl, state))
        return rows

    def summary(self) -> BuildSummary:
        outcomes = list(self._outcomes.values())
        of = {kind: [o for o in outcomes if o.kind is kind] for kind in OutcomeKind}
        statuses = {n: s for n, s in self._statuses.items() if n not in self._outcomes}
        budget = self.maker.budget
        kept = sum(o.kept_data for o in outcomes)
        filled = sum(bool(o.filled) for o in outcomes)
        return BuildSummary(
            generated=len(of[OutcomeKind.GENERATED]) + len(of[OutcomeKind.STAGED]) - kept,
            records_updated=kept,
            filled=filled,
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
            calls=budget.calls,
            replayed=sum(o.replayed for o in outcomes),
            tokens=budget.tokens,
            seconds=time.monotonic() - self.started,
            waiting=tuple(sorted(o.name for o in of[OutcomeKind.WAITING])),
            batches=tuple(self.batches.notes),
            notes=tuple(self.notes),
        )

    def close(self) -> None:
        self.maker.close()
        self.writer.release()
        if self.planner.index is not None:
            with contextlib.suppress(
                OSError, HotDataError
            ):  # local state: failing to save it costs only speed
                self.planner.index.save()


def _asked_alone(plan: FixturePlan, tally: Tally) -> str:
    """What became of the new required fields ``plan`` asks alone, in words ("" when none)."""
    if plan.ask is None:
        return ""
    return "; ".join(tally.field_words(plan)) or f"{', '.join(tally.asked_alone)} asked alone, the rest kept"
