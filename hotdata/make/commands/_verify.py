"""``doit verify``: are the committed fixtures what the committed code produces?

Every fixture is generated again from recorded answers only (``replay = only``:
zero model calls), in memory — the generate stage writes nothing — and compared
byte for byte with the committed data file. A fixture-level quality gate already
passed by byte-identical committed data (a fresh fixture whose record holds the
current quality hash) is not run again: the answer the value is made from is still
judged, and a value that differs by a byte is gated in full. Drift is reported per fixture with
the classifier's reason and a field-level diff; a missing answer is reported with
what differed from the closest recorded request. A recorded answer that is not the
one the fixture's record was built from (by digest) is reported as a change of the
store, not of the code; staged answers (a build under review) are never used. A fixture
``doit migrate`` changed is rebuilt from its answers replayed through its recorded migrations;
when that cannot make its bytes, its data is checked by its schema and gates, and said so.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import json
import os
from dataclasses import dataclass

from doit.exceptions import TaskFailed

from ..._errors import HotDataError
from ..._freshness import FixtureState, FixtureStatus
from ..._provenance import Verdict
from .._candidate import Tally
from .._errors import ChangedAnswer
from .._fixture_plan import FixturePlan
from .._migration import replay_migrations
from .._spec import FixtureSpec
from ..generate._maker import CandidateMaker
from ..plan._planner import Planner
from ._commands import quality_problems
from ._diff import diff_values, render_changes

__all__ = ["Drift", "verify"]


@dataclass(frozen=True)
class Drift:
    name: str
    lines: list[str]


def _passed_these_gates(status: FixtureStatus, plan: FixturePlan) -> bool:
    """The committed bytes passed the gates the plan would run: the fixture is fresh (its bytes are
    the record's) and its record holds the plan's quality hash. A changed gate setting changes that
    hash, so a value it would now refuse is gated again and still refused."""
    record = status.record
    return (
        status.state is FixtureState.FRESH
        and record is not None
        and record.quality is not None
        and record.quality == plan.inputs.quality_hash
    )


def _migrated(
    planner: Planner, maker: CandidateMaker, spec: FixtureSpec, status: FixtureStatus
) -> tuple[Drift | None, str]:
    """A fixture ``doit migrate`` changed since it was generated, and how it was checked: rebuilt
    from its answers, each replayed through the recorded migrations (``"bytes"``), when that makes
    the committed bytes; else (a generator that does more than return its answer, a migration
    function changed since) by its schema and gates (``"gates"``)."""
    record = status.record
    assert record is not None
    if status.state is not FixtureState.FRESH:
        return Drift(
            spec.name, [f"{spec.name}: migrated, then {status.state.value}: {status.reason}"]
        ), "gates"
    try:
        committed = status.data_path.read_bytes()
        plan = planner.plan(spec, status, replay="only", staged_answers=False)
        through = replay_migrations(record.migrated, spec.name)
        plan = dataclasses.replace(plan, kept_through_schema_change=True, answer_migration=through)
        if maker.make(plan, Tally()).data == committed:
            return None, "bytes"
    except (HotDataError, OSError):
        pass  # not rebuilt through its migrations: checked as data below
    problems = quality_problems(planner, spec, status)
    if problems:
        return Drift(spec.name, [f"{spec.name}: migrated data fails its gates: {problems[0]}"]), "gates"
    return None, "gates"


def _checked(planner: Planner, maker: CandidateMaker, spec: FixtureSpec) -> tuple[Drift | None, str]:
    """How ``spec`` drifted (None: it did not), and how it was checked: ``""`` (rebuilt, as every
    fixture), or a migrated one's ``"bytes"`` or ``"gates"`` (``_migrated``)."""
    status = planner.status(spec)
    if status.record is not None and status.record.migrated:
        return _migrated(planner, maker, spec, status)
    return _check(planner, maker, spec, status), ""


def _check(planner: Planner, maker: CandidateMaker, spec: FixtureSpec, status: FixtureStatus) -> Drift | None:
    if status.state is FixtureState.MISSING:
        return Drift(spec.name, [f"{spec.name}: {status.reason}; build it with `doit fixtures`"])
    try:
        committed = status.data_path.read_bytes()
        # rebuilt as the committed record was built: from its answers, never a staged one
        plan = planner.plan(spec, status, replay="only", staged_answers=False)
        if _passed_these_gates(status, plan):
            plan = dataclasses.replace(plan, passed=committed)
        candidate = maker.make(plan, Tally())
    except ChangedAnswer as exc:
        return Drift(spec.name, [f"{spec.name}: the answer store changed, not the code: {exc}"])
    except HotDataError as exc:
        return Drift(spec.name, [f"{spec.name}: cannot be rebuilt from recorded answers: {exc}"])
    except OSError as exc:
        return Drift(spec.name, [f"{spec.name}: cannot read {status.data_path}: {exc.strerror}"])
    verdicts = _verdicts_differ(status, candidate.record.verdicts)
    if verdicts is not None:
        return Drift(spec.name, [f"{spec.name}: {verdicts}"])
    if candidate.data == committed:
        return None
    try:
        old = json.loads(committed)
    except ValueError:
        old = None
    head = f"{spec.name}: the committed data differs from what the code produces ({status.state.value}: {status.reason})"
    changes = render_changes(
        diff_values(old, json.loads(candidate.data)), max_lines=20, secrets=plan.inputs.secrets
    )
    return Drift(spec.name, [head, *(f"    {line}" for line in changes)])


def _verdicts_differ(status: FixtureStatus, replayed: list[Verdict]) -> str | None:
    """Why the judge's replayed verdicts are not the committed record's (None: they are)."""
    recorded = [] if status.record is None else status.record.verdicts
    if recorded == replayed:
        return None
    was = {v.question: v for v in recorded}
    for verdict in replayed:
        before = was.get(verdict.question)
        if before is None:
            return f"the judge's verdict on {verdict.question!r} is not in the committed record; rebuild it"
        if before != verdict:
            return (
                f"the judge's verdict on {verdict.question!r} differs from the committed record "
                f"(recorded {before.answer}: {before.reason!r}; replayed {verdict.answer}: {verdict.reason!r}); "
                "rebuild it with `doit fixtures`, or restore its record"
            )
    asked = {r.question for r in replayed}
    gone = next((v.question for v in recorded if v.question not in asked), None)
    if gone is None:
        return "the judge's verdicts are in another order than the committed record's; rebuild it"
    return f"the committed record holds a verdict on {gone!r} the judge no longer gives; rebuild it"


def verify(planner: Planner, maker: CandidateMaker, concurrency: int) -> bool | TaskFailed:
    """``doit verify`` with ``maker`` replaying the committed answer store (never a staged answer).

    Replaying asks no model: the work is Python under one interpreter lock, so threads beyond the
    machine's cores only contend for it (at N = 1,000, 16 threads cost ~0.8 s more than 2)."""
    threads = max(1, min(concurrency, os.cpu_count() or 1))
    workers = concurrent.futures.ThreadPoolExecutor(threads, "hotdata-verify")
    try:
        catalog = list(planner.catalog)
        checked = list(workers.map(lambda spec: _checked(planner, maker, spec), catalog))
        drifts = [d for d, _ in checked if d is not None]
        by_bytes = sum(how == "bytes" for _, how in checked)
        by_gates = sum(how == "gates" for _, how in checked)
    finally:
        workers.shutdown()
        maker.close()
    count = len(catalog)
    if drifts:
        for drift in drifts:
            print("\n".join(drift.lines))
        print(f"doit verify: {len(drifts)} of {count} fixture(s) are not what the committed code produces")
        return TaskFailed(f"{len(drifts)} fixture(s) drifted; see above")
    print(f"doit verify: all {count} fixture(s) are what the committed code produces (0 model calls)")
    if by_bytes or by_gates:
        print(
            f"  {by_bytes + by_gates} of them migrated by `doit migrate`: {by_bytes} rebuilt byte for byte "
            f"through their recorded migrations, {by_gates} checked by their schema and gates only"
        )
    return True
