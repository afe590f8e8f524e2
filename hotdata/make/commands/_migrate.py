"""``doit migrate``: the committed data brought to a changed schema by code, not by a model.

``doit migrate --rename=OLD=NEW [--rename=...] [--fn module:function] NAME... [dry=1] [review=1]``

All or nothing: every selected fixture is migrated in memory first (``_migration``), encoded and
validated against its schema as it is now, and run through its quality gates (not the judge,
which would ask a model). When one of them fails, nothing is written and every failure is
said, with the fixture, the pointer and the way out. Otherwise each fixture is written by the
commit stage as a build writes it (its data and record as one crash-safe pair, under the build
lock), or staged for ``doit review`` under review. The record keeps when and how the data was
first made, gets the schemas as they are now (so ``doit status`` says fresh) and one more
``migrated`` entry. A fixture may be migrated when it is fresh, or stale for a change of its
schemas only; anything else (code, template, model, ttl) is a rebuild, which ``doit fixtures``
does.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from doit.exceptions import TaskFailed

from ..._errors import HotDataError
from ..._freshness import FixtureState, FixtureStatus
from ..._provenance import Migration, sha256_hex
from .._candidate import Candidate, InvalidValue, encode_as_built, migrated_candidate
from .._errors import MigrationError
from .._migration import MigrationFn, Rename, load_function, migrate_value, parse_rename
from .._pipeline import Pipeline
from .._secrets import redact, secret_at
from .._spec import FixtureSpec
from ..commit._writer import Writer
from ..plan._planner import SCHEMA_KEPT, Planner
from ._commands import value_problems
from ._diff import diff_values, render_changes

__all__ = ["MigrationRequest", "migrate"]

# Checks a migration answers for itself: the schema (it migrates to it) and the gates (it runs them).
_MIGRATION_ANSWERS = frozenset({"schema", "quality"})


@dataclass(frozen=True)
class MigrationRequest:
    """What ``doit migrate`` was asked: renames (``old=new``), a function, the fixtures."""

    renames: tuple[str, ...]
    fn: str
    names: tuple[str, ...]
    dry: bool = False
    review: bool = False


@dataclass(frozen=True)
class _Migrated:
    spec: FixtureSpec
    before: Any
    candidate: Candidate
    secrets: tuple[str, ...]

    @property
    def after(self) -> Any:
        return json.loads(self.candidate.data)


def select(planner: Planner, names: Sequence[str]) -> list[FixtureSpec]:
    """The fixtures named, each a name or a glob (``talks/*``), in catalog order."""
    every = [spec.name for spec in planner.catalog]
    chosen: set[str] = set()
    for pattern in names:
        found = [n for n in every if n == pattern or fnmatch.fnmatchcase(n, pattern)]
        if not found:
            found = [n for n in every if n.startswith(pattern.rstrip("/") + "/")]  # a family's folder
        if not found:
            raise MigrationError(
                f"no fixture is named {pattern!r} or matches it; `doit list` shows every fixture"
            )
        chosen.update(found)
    return [spec for spec in planner.catalog if spec.name in chosen]


def _refusal(planner: Planner, spec: FixtureSpec, status: FixtureStatus, now: datetime) -> str | None:
    """Why ``spec`` cannot be migrated as it stands (None: it can)."""
    name = spec.name
    if status.state is FixtureState.MISSING:
        return f"{name}: not built ({status.reason}); build it with `doit fixtures:{name}`"
    if status.state is FixtureState.PENDING:
        return f"{name}: a change awaits review; `doit accept {name}` or `doit reject {name}` first"
    if status.state is FixtureState.EDITED:
        return (
            f"{name}: edited by hand since its record was written; a migration starts from the data its "
            f"record describes: restore it (`git checkout -- {status.data_path}`) or rebuild it"
        )
    if status.record is None or (status.state is FixtureState.INVALID and status.check != "schema"):
        # not JSON (a merge conflict), or no record to read: nothing a migration can start from
        broken = planner.paths(spec)[1] if status.record is None else status.data_path
        return (
            f"{name}: {status.reason}; a migration starts from the committed pair: restore it "
            f"(`git checkout -- {broken}`) or rebuild it with `doit fixtures:{name}`"
        )
    if status.state is FixtureState.STALE and status.check not in ("schema", SCHEMA_KEPT):
        return f"{name}: stale for another reason than its schema ({status.reason}); rebuild it with `doit fixtures`"
    raw = status.data_path.read_bytes()
    for check in planner.classifier(spec).checks:
        if check.name in _MIGRATION_ANSWERS:
            continue
        objection = check(status.record, now, raw)
        if objection is not None:
            return f"{name}: stale for another reason than its schema ({objection}); rebuild it with `doit fixtures`"
    return None


def _refused(spec: FixtureSpec, exc: InvalidValue) -> MigrationError:
    return MigrationError(
        f"{spec.name}: the migrated data is refused: {exc}. Rename the field the schema renamed "
        "(--rename=OLD=NEW), or give the value it needs with --fn module:function"
    )


def _what(renames: Sequence[Rename], fn: str) -> str:
    said = [f"{r.old} → {r.new}" for r in renames] + ([f"--fn {fn}"] if fn else [])
    return "migrated: " + ", ".join(said)


class _Migrator:
    """One ``doit migrate`` run over the fixtures it selected, in memory until all of them pass."""

    def __init__(
        self, planner: Planner, renames: list[Rename], fn: str, function: MigrationFn | None
    ) -> None:
        self.planner = planner
        self.renames = renames
        self.fn = fn
        self.function = function
        self.now = planner.clock()

    def one(self, spec: FixtureSpec) -> _Migrated | None:
        """``spec`` migrated (None: the migration changes nothing of a fresh fixture)."""
        planner = self.planner
        status = planner.status(spec, rescan=True)
        refusal = _refusal(planner, spec, status, self.now)
        if refusal is not None:
            raise MigrationError(refusal)
        record = status.record
        assert record is not None  # _refusal says so when there is none
        raw = status.data_path.read_bytes()
        before = json.loads(raw)
        after, _ = migrate_value(before, self.renames, self.fn, self.function, spec.name)
        try:  # what is written: the data as the schema makes it, as a build writes it
            after = json.loads(encode_as_built(planner.inputs(spec).adapter, after))
        except InvalidValue as exc:
            raise _refused(spec, exc) from None
        if after == before and status.state is FixtureState.FRESH:
            return None
        plan = planner.plan(spec, status)
        plan = dataclasses.replace(plan, reason=_what(self.renames, self.fn))
        changed = sorted({c.pointer for c in diff_values(before, after)})
        migration = Migration(
            at=self.now,
            renames=[(r.old, r.new) for r in self.renames],
            fn=self.fn,
            changed=changed,
            from_sha256=sha256_hex(raw),
            from_schema_hash=record.schema_hash,
        )
        try:
            used = planner.schemas_used_now(spec.name, record)
            candidate = migrated_candidate(plan, record, after, used, migration)
        except InvalidValue as exc:
            raise _refused(spec, exc) from None
        where = secret_at(json.loads(candidate.data), plan.inputs.secrets)
        if where is not None:  # a build refuses an answer holding one; a migration is refused too
            raise MigrationError(
                f"{spec.name}: the migrated data holds a secret value at {where} (not shown: a key or "
                "token of the environment or of llm's configuration); a fixture is committed, so keep "
                "it out of what the migration makes"
            )
        return _Migrated(spec, before, candidate, plan.inputs.secrets)


def _gate(planner: Planner, migrated: list[_Migrated]) -> list[str]:
    """What the quality gates say of the migrated values, each against its migrated family."""
    for one in migrated:
        planner.wrote(one.spec.name, one.after)  # the family compares with the migrated siblings
    problems = []
    for one in migrated:
        for problem in value_problems(planner, one.spec, one.after):
            problems.append(f"{one.spec.name}: the migrated data fails a quality gate: {problem}")
    return problems


def _show(migrated: list[_Migrated], *, verb: str) -> None:
    for one in migrated:
        changes = render_changes(diff_values(one.before, one.after), max_lines=20, secrets=one.secrets)
        print(f"{verb} {one.spec.name} ({one.candidate.record.reason})")
        for line in changes:
            print(f"    {line}")


def migrate(
    planner: Planner, writer: Writer, pipeline: Pipeline, request: MigrationRequest
) -> bool | TaskFailed:
    """``doit migrate``; ``pipeline``: for the catalog document, rewritten after a migration."""
    if not request.names or not (request.renames or request.fn):
        return TaskFailed(
            "doit migrate needs what to do and to which fixtures: "
            "doit migrate --rename=OLD=NEW [--fn module:function] NAME... (names or globs such as talks/*)"
        )
    try:
        return _migrate(planner, writer, pipeline, request)
    finally:
        writer.release()  # a refused migration holds the build lock no longer than one that wrote


def _migrate(
    planner: Planner, writer: Writer, pipeline: Pipeline, request: MigrationRequest
) -> bool | TaskFailed:
    try:
        renames = [parse_rename(text) for text in request.renames]
        function = load_function(request.fn) if request.fn else None
        specs = select(planner, request.names)
        if not request.dry:
            writer.acquire()  # nothing else writes from here on: what is read is what is migrated
            for spec in specs:
                writer.recover(*planner.paths(spec))
        migrator = _Migrator(planner, renames, request.fn, function)
        found: list[_Migrated | None] = []
        failures: list[str] = []
        for spec in specs:
            try:
                found.append(migrator.one(spec))
            except MigrationError as exc:
                failures.append(str(exc).removeprefix("fixture "))
            except KeyboardInterrupt:  # Ctrl-C: no further fixture is migrated
                said = f"Ctrl-C, or --fn {request.fn} raised KeyboardInterrupt" if request.fn else "Ctrl-C"
                return TaskFailed(f"interrupted while migrating {spec.name} ({said}); nothing was written")
        migrated = [m for m in found if m is not None]
        failures += _gate(planner, migrated)
    except HotDataError as exc:
        return TaskFailed(redact(str(exc)))  # the user's function or module may say a secret
    unchanged = len(found) - len(migrated)
    if failures:
        for line in failures:
            print(f"cannot migrate {redact(line)}")
        return TaskFailed(
            f"{len(failures)} problem(s) in {len(specs)} fixture(s); nothing was written (all or nothing)"
        )
    if request.dry:
        _show(migrated, verb="would migrate")
        print(
            f"doit migrate: dry run (dry=1): {len(migrated)} fixture(s) would be migrated, {unchanged} "
            "unchanged; nothing written, 0 model calls"
        )
        return True
    return _write(writer, pipeline, migrated, unchanged, review=request.review)


def _write(
    writer: Writer, pipeline: Pipeline, migrated: list[_Migrated], unchanged: int, *, review: bool
) -> bool | TaskFailed:
    """Each migrated fixture committed (or staged) as a build commits it: data and record as one
    crash-safe pair, under the build lock."""
    write: Callable[[Candidate], None] = writer.stage if review else writer.commit
    verb = "staged" if review else "migrated"
    try:
        for one in migrated:
            write(one.candidate)
            _show([one], verb=verb)
        pipeline.write_catalog()
    except HotDataError as exc:
        return TaskFailed(f"{exc} (the fixtures said {verb} above are written)")
    then = "; `doit review` shows them, `doit accept` takes them" if review else ""
    print(
        f"doit migrate: {len(migrated)} fixture(s) {'staged for review' if review else 'migrated'}, "
        f"{unchanged} unchanged; 0 model calls{then}"
    )
    return True
