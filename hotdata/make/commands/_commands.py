"""What ``doit status``, ``doit validate`` and ``doit generate`` do and print.

All three ask the planner, so they agree with each other and with what ``doit fixtures``
rebuilds.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from doit.exceptions import TaskFailed

from ..._errors import HotDataError
from ..._freshness import FixtureState, FixtureStatus
from ..._names import validate_fixture_name
from ..._schema import SchemaAdapter, import_schema
from .._errors import CatalogError
from .._failures import FailureLog
from .._files import write_atomic
from .._outcome import OutcomeKind
from .._pipeline import Pipeline
from .._spec import FixtureSpec, json_problem
from ..batch._run import BatchRun
from ..commit._writer import Writer
from ..plan._adhoc import ADHOC_DIR, adhoc_spec, declaration, declaration_path, is_adhoc
from ..plan._planner import Planner
from ..quality._gates import check_value
from ..quality._settings import QualityContext
from ..quality._similar import FamilyProse, near_duplicates
from ._estimate import RunEstimate
from ._prune import Pruner
from ._schema_summary import schema_change_lines
from ._staged import StagedChanges
from ._stats import collect_stats

__all__ = [
    "generate",
    "quality_problems",
    "stats",
    "status",
    "validate",
    "validation_problems",
    "value_problems",
]

# Checks whose objection means the committed files are inconsistent, not merely out of date.
_BROKEN_RECORD_CHECKS = frozenset({"record", "fingerprint", "name"})


def validation_problems(status: FixtureStatus, adapter: SchemaAdapter[Any]) -> list[str]:
    """Why ``doit validate`` fails for this fixture (stale and edited ones only get a note)."""
    if status.state is FixtureState.MISSING:
        return [f"{status.data_path}: missing; build it with `doit fixtures`"]
    if status.state is FixtureState.INVALID:
        try:
            errors = adapter.errors_for(status.data_path.read_bytes())
        except OSError:
            errors = []
        return [f"{status.data_path}: {e}" for e in errors] or [status.reason]
    if status.state is FixtureState.PENDING:
        # a broken or invalid staged change says itself how to get rid of it
        then = "" if "`doit reject" in status.reason else " (accept or reject it before CI can pass)"
        return [f"{status.name}: {status.reason}{then}"]
    if status.check in _BROKEN_RECORD_CHECKS:
        return [f"{status.meta_path}: {status.reason}; rebuild with `doit fixtures`"]
    return []


def quality_problems(
    planner: Planner, spec: FixtureSpec, status: FixtureStatus, prose: FamilyProse | None = None
) -> list[str]:
    """The quality gates over the committed data, whoever wrote it (by hand, an older hotdata).
    ``prose``: the run's shingles, so each variant of a family is shingled once."""
    try:
        data = json.loads(status.data_path.read_bytes())
    except (OSError, ValueError):
        return []  # missing or not JSON: reported as such already
    return [f"{status.data_path}: {p}" for p in value_problems(planner, spec, data, prose)]


def value_problems(
    planner: Planner, spec: FixtureSpec, data: Any, prose: FamilyProse | None = None
) -> list[str]:
    """What the quality gates of ``spec`` say of ``data`` (against its family as the planner last
    read or was told it), as ``message [check]``."""
    fixture = planner.inputs(spec)
    later = {n: v for n, v in planner.family(spec).items() if n > spec.name}  # each pair once
    found = check_value(data, fixture.quality, QualityContext(), fixture.checks) + near_duplicates(
        data, later, fixture.quality, prose
    )
    return [f"{p.message} [{p.check}]" for p in found]


def validate(planner: Planner, staged: StagedChanges) -> bool | TaskFailed:
    failed: list[str] = []
    prose = FamilyProse()
    for spec in planner.catalog:
        status = planner.status(spec)
        problems = validation_problems(status, planner.inputs(spec).adapter)
        if not problems:
            problems = quality_problems(planner, spec, status, prose)
        if problems:
            failed += problems
        elif status.state is FixtureState.EDITED:
            print(f"note: {spec.name}: edited by hand since generation")
        elif status.state is FixtureState.STALE:
            print(f"note: {spec.name}: stale: {status.reason}")
    failed += staged.orphan_lines()
    count = len(planner.catalog)
    if failed:
        print(f"doit validate: {len(failed)} problem(s) in {count} fixture(s):")
        for line in failed:
            print(f"  - {line}")
        return TaskFailed(f"{len(failed)} fixture problem(s); see the list above")
    print(f"doit validate: all {count} fixture(s) valid")
    return True


def _format_age(seconds: int | None) -> str:
    if seconds is None:
        return "-"
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def status(
    planner: Planner,
    failures: FailureLog,
    batches: BatchRun,
    pruner: Pruner,
    staged: StagedChanges,
    *,
    offline: bool,
    json_output: bool,
    estimate: Callable[[Mapping[str, FixtureStatus]], RunEstimate] | None = None,
) -> bool:
    """``doit status``; ``offline``: batch jobs are reported, not polled; ``estimate``: what
    ``doit fixtures`` would take, from the statuses found here."""
    rows = []
    now = planner.clock()
    # batch jobs are polled for their status only: collecting is `doit fixtures`'s job
    batch_lines, in_batch = batches.status_lines(poll=not json_output and not offline)
    statuses = {spec.name: planner.status(spec) for spec in planner.catalog}
    try:
        run = None if estimate is None else estimate(statuses)
        unestimated = ""
    except HotDataError as exc:
        run, unestimated = None, str(exc)
    per_fixture = {} if run is None else {f.name: f for f in run.fixtures}
    for spec in planner.catalog:
        row = statuses[spec.name].to_json()
        failure = failures.get(spec.name)
        row["last_failure"] = None if failure is None else failure.message
        row["batch"] = in_batch.get(spec.name)
        if row["batch"] is not None and row["state"] != "fresh":
            row["reason"] += f"; waiting for batch {row['batch']}"
        elif failure is not None and row["state"] != "fresh":
            row["reason"] += f"; {failure.describe(now)}"
        found = per_fixture.get(spec.name)
        row["estimate"] = None if found is None else found.to_json()
        rows.append(row)
    if json_output:
        print(json.dumps(rows, indent=2))
        return True
    width = max([len(r["name"]) for r in rows] + [4])
    for r in rows:
        tokens = "-" if r["tokens"] is None else str(r["tokens"])
        print(
            f"{r['name']:<{width}}  {r['state']:<7}  {_format_age(r['age_seconds']):>5}  "
            f"{r['model'] or '-':<16} {tokens:>7} tok  {r['reason']}"
        )
    for line in schema_change_lines(rows):
        print(line)
    use = pruner.use()
    unused = pruner.unused(use)
    if unused and not use.problems:  # never an invitation to a prune that would cost money
        print(f"{len(unused)} recorded answer(s) in {pruner.answers.directory} no fixture uses: `doit prune`")
    for line in staged.orphan_lines():
        print(f"orphan: {line}")
    for line in batch_lines:
        print(line)
    if run is not None:
        print(f"estimate of `doit fixtures`: {run.summary()}")
        batch = run.batch_line()
        if batch is not None:
            print(f"  {batch}")
    elif unestimated:
        print(f"estimate of `doit fixtures`: none ({unestimated})")
    return True


def _split_param(text: str) -> tuple[str, Any]:
    # key:value, because doit itself takes every key=value argument as a doit variable
    key, sep, value = text.partition(":")
    if not sep or not key:
        raise CatalogError(f"--param {text!r} is not key:value (for example --param topic:rain)")
    try:
        return key, json.loads(value)
    except json.JSONDecodeError:
        return key, value


def generate(
    pipeline: Pipeline,
    planner: Planner,
    writer: Writer,
    schema: str,
    template: str,
    prompt: str,
    name: str,
    param: list[str],
    *,
    system: str = "",
) -> bool | TaskFailed:
    """``doit generate``: one ad hoc fixture, asked at once, never left waiting for a batch (no run
    end follows it to submit one); a request already in a live batch still waits for it."""
    if not schema or not name or bool(template) == bool(prompt):
        return TaskFailed(
            "doit generate needs --schema module:Name, --name fixture/name and exactly one of "
            "--template file.j2 or --prompt 'text'"
        )
    try:
        params = dict(_split_param(p) for p in param)
        for key, value in params.items():
            if (problem := json_problem(value, key)) is not None:
                raise CatalogError(f"--param {problem}")
        try:
            schema_type = import_schema(schema)
        except HotDataError as exc:
            raise CatalogError(f"--schema {schema}: {exc}") from None
        validate_fixture_name(name)
        catalog = planner.catalog
        if name in catalog and not is_adhoc(catalog.get(name)):
            declared = catalog.get(name).generator_name
            raise CatalogError(f"--name {name}: {declared} declares that fixture; choose another name")
        planner.add(adhoc_spec(schema_type, template, prompt, name, params, system=system))
        outcome = pipeline.build(name, batch=False)
    except HotDataError as exc:
        return TaskFailed(str(exc))
    if outcome.kind not in (OutcomeKind.GENERATED, OutcomeKind.STAGED, OutcomeKind.SKIPPED):
        return TaskFailed(outcome.message or outcome.kind.value)
    # declared beside the data, so status, validate, verify and prune count it from now on
    payload = declaration(schema, template, prompt, name, params, system=system)
    if payload is None:
        print(f"note: {name} is not declared in {ADHOC_DIR}/: its prompt or parameters hold a secret")
    else:
        writer.write_document(declaration_path(planner.fixtures_path, name), payload)
    replayed = f", {outcome.replayed} replayed" if outcome.replayed else ""
    if outcome.kind is OutcomeKind.SKIPPED:
        print(f"{name} is up to date ({outcome.message}); `doit fixtures:{name} force=1` regenerates it")
    else:
        what = "staged for review" if outcome.kind is OutcomeKind.STAGED else "generated"
        print(f"{what} {name} ({outcome.usage.calls} model call(s){replayed})")
    return True


def stats(planner: Planner, json_output: bool, html_path: str, cwd: Path) -> bool | TaskFailed:
    """``doit stats``: the catalog report as text, ``--json``, or an HTML page at ``--html PATH``
    (relative to where doit was started). Unreadable fixtures are listed, never fatal."""
    from ._stats_page import page_title, render_page
    from ._stats_text import print_stats

    report = collect_stats(planner)
    if html_path:
        target = cwd / html_path
        try:
            page = render_page(report, page_title(planner.resolver.config.root))
            if target.is_dir():
                raise CatalogError(f"--html {html_path}: is a directory; give a file name such as stats.html")
            write_atomic(target, page.encode("utf-8"))
        except HotDataError as exc:
            return TaskFailed(str(exc))
        except OSError as exc:
            return TaskFailed(f"--html {html_path}: cannot be written ({exc.strerror}); choose another path")
        print(
            f"doit stats: {target} written ({len(report.fixtures)} fixture(s), {len(report.problems)} unreadable)"
        )
        for line in report.problems:
            print(f"unreadable: {line}")
        return True
    if json_output:
        print(json.dumps(report.to_json(), indent=2, ensure_ascii=False))
        return True
    print_stats(report)
    return True
