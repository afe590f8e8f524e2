"""What ``doit status``, ``doit validate`` and ``doit generate`` do and print.

All three ask the pipeline's planner, so they agree with each other and with
what ``doit fixtures`` rebuilds.
"""

from __future__ import annotations

import json
from typing import Any

from doit.exceptions import TaskFailed

from ..._errors import HotDataError
from ..._freshness import FixtureState, FixtureStatus
from ..._names import validate_fixture_name
from ..._schema import SchemaAdapter, import_schema
from .._errors import CatalogError
from .._outcome import OutcomeKind
from .._pipeline import Pipeline
from .._spec import FixtureSpec, json_problem
from ..plan._adhoc import ADHOC_DIR, adhoc_spec, declaration, declaration_path, is_adhoc
from ..quality import QualityContext, check_value
from ..quality._similar import near_duplicates
from ._prune import answer_use, unused_answers
from ._staged import orphan_lines

__all__ = ["generate", "quality_problems", "status", "validate", "validation_problems"]

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


def quality_problems(pipeline: Pipeline, spec: FixtureSpec, status: FixtureStatus) -> list[str]:
    """The quality gates over the committed data, whoever wrote it (by hand, an older hotdata)."""
    try:
        data = json.loads(status.data_path.read_bytes())
    except (OSError, ValueError):
        return []  # missing or not JSON: reported as such already
    settings, checks = pipeline.inputs.quality_for(spec)
    later = {n: v for n, v in pipeline.siblings(spec).items() if n > spec.name}  # each pair once
    found = check_value(data, settings, QualityContext(), checks) + near_duplicates(
        data, later, settings, pipeline.runner.family
    )
    return [f"{status.data_path}: {p.message} [{p.check}]" for p in found]


def validate(pipeline: Pipeline) -> bool | TaskFailed:
    failed: list[str] = []
    for spec in pipeline.catalog:
        status = pipeline.status(spec.name)
        problems = validation_problems(status, pipeline.inputs.adapter(spec.schema))
        if not problems:
            problems = quality_problems(pipeline, spec, status)
        if problems:
            failed += problems
        elif status.state is FixtureState.EDITED:
            print(f"note: {spec.name}: edited by hand since generation")
        elif status.state is FixtureState.STALE:
            print(f"note: {spec.name}: stale: {status.reason}")
    failed += orphan_lines(pipeline)
    count = len(pipeline.catalog)
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


def status(pipeline: Pipeline, json_output: bool) -> bool:
    rows = []
    now = pipeline.runner.clock()
    # batch jobs are polled for their status only: collecting is `doit fixtures`'s job
    batch_lines, in_batch = pipeline.batches.status_lines(
        poll=not json_output and not pipeline.config.offline
    )
    for spec in pipeline.catalog:
        row = pipeline.status(spec.name).to_json()
        failure = pipeline.failures.get(spec.name)
        row["last_failure"] = None if failure is None else failure.message
        row["batch"] = in_batch.get(spec.name)
        if row["batch"] is not None and row["state"] != "fresh":
            row["reason"] += f"; waiting for batch {row['batch']}"
        elif failure is not None and row["state"] != "fresh":
            row["reason"] += f"; {failure.describe(now)}"
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
    use = answer_use(pipeline)
    unused = unused_answers(pipeline, use)
    if unused and not use.problems:  # never an invitation to a prune that would cost money
        print(
            f"{len(unused)} recorded answer(s) in {pipeline.answers.directory} no fixture uses: `doit prune`"
        )
    for line in orphan_lines(pipeline):
        print(f"orphan: {line}")
    for line in batch_lines:
        print(line)
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
    pipeline: Pipeline, schema: str, template: str, prompt: str, name: str, param: list[str]
) -> bool | TaskFailed:
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
        if name in pipeline.catalog and not is_adhoc(pipeline.catalog.get(name)):
            declared = pipeline.catalog.get(name).generator_name
            raise CatalogError(f"--name {name}: {declared} declares that fixture; choose another name")
        pipeline.add(adhoc_spec(schema_type, template, prompt, name, params))
        outcome = pipeline.build(name)
    except HotDataError as exc:
        return TaskFailed(str(exc))
    if outcome.kind not in (OutcomeKind.GENERATED, OutcomeKind.STAGED, OutcomeKind.SKIPPED):
        return TaskFailed(outcome.message or outcome.kind.value)
    # declared beside the data, so status, validate, verify and prune count it from now on
    payload = declaration(schema, template, prompt, name, params)
    if payload is None:
        print(f"note: {name} is not declared in {ADHOC_DIR}/: its prompt or parameters hold a secret")
    else:
        pipeline.writer.write_document(declaration_path(pipeline.config.fixtures_path, name), payload)
    replayed = f", {outcome.replayed} replayed" if outcome.replayed else ""
    if outcome.kind is OutcomeKind.SKIPPED:
        print(f"{name} is up to date ({outcome.message}); `doit fixtures:{name} force=1` regenerates it")
    else:
        what = "staged for review" if outcome.kind is OutcomeKind.STAGED else "generated"
        print(f"{what} {name} ({outcome.usage.calls} model call(s){replayed})")
    return True
