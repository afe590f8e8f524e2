"""One classifier decides where a fixture stands: fresh, stale, missing, invalid or edited.

Every command that says "fresh" or "stale" asks a ``Classifier``: ``HotData.status()``,
the pytest plugin's strict mode, ``doit status``, ``doit validate`` and the
``uptodate`` of ``doit fixtures``. The runtime knows the data file, its provenance
record, the schema and a ttl; the build side adds its own ``RecordCheck``s
(generator, templates, parameters, model ...) to the same classifier, the way doit
adds checkers, so no two commands can disagree.

The order of the rules:

1. no data file: ``missing``; an unreadable one: ``invalid``;
2. the record matches the data but was written for another schema: ``stale``;
3. the data does not validate against the schema: ``invalid`` (even when hand-edited);
4. the record is unreadable or missing: ``stale``;
5. the data's sha256 differs from the record's: ``edited`` (kept by normal builds);
6. the record checks, in order: the first one that objects makes the fixture ``stale``.

A staged pair (``NAME.json.new`` and ``NAME.meta.json.new``, a rebuilt fixture
awaiting review) is judged by the same rules first: when it is up to date the
fixture is ``pending``; when its inputs changed again it is ``stale`` and its
rebuild replaces the staged pair. A staged pair whose data was edited by hand in
review is ``pending`` whatever changed since (accepting it makes a hand edit, which
builds keep); a broken one (unreadable, not JSON, half missing) is ``pending`` too,
named as broken, until it is fixed or rejected.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from ._duration import format_duration, parse_ttl
from ._errors import ProvenanceError
from ._provenance import Provenance, sha256_hex
from ._schema import SchemaAdapter
from ._store import StagedPair, inspect_staged, read_record

__all__ = [
    "BUILD_CHECK_NAMES",
    "Classifier",
    "Clock",
    "FixtureState",
    "FixtureStatus",
    "RecordCheck",
    "TtlCheck",
    "utcnow",
]

Clock = Callable[[], datetime]

# The build's checks (hotdata.make's BUILD_CHECKS): they need the project's generators, so the
# runtime cannot run them and names them as skipped; `doit status` and strict pytest run them.
BUILD_CHECK_NAMES = (
    "fingerprint",
    "format",
    "name",
    "schema",
    "generator",
    "templates",
    "params",
    "model",
    "quality",
)

# A record up to this far in the future is clock skew between machines, not a forgery.
_CLOCK_SKEW = timedelta(minutes=5)


def utcnow() -> datetime:
    return datetime.now(UTC)


class FixtureState(enum.StrEnum):
    """Where a fixture stands, from the committed files alone."""

    FRESH = "fresh"
    STALE = "stale"
    MISSING = "missing"
    INVALID = "invalid"
    EDITED = "edited"
    PENDING = "pending"  # a regenerated version is staged beside the committed one, awaiting review

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class FixtureStatus:
    """The classifier's answer for one fixture: state, reason in words, and the record.

    ``check`` names the rule that decided (``"data"``, ``"record"``, ``"edited"`` (a hand
    edit, valid or not),
    ``"schema"``, ``"ttl"`` or a build check such as ``"templates"``; empty when
    fresh). ``skipped`` names checks that could not run (for example the build's
    checks when the project's generators cannot be imported), so a report can say so.
    """

    name: str
    state: FixtureState
    reason: str
    data_path: Path
    meta_path: Path
    record: Provenance | None = None
    age: timedelta | None = None
    skipped: tuple[str, ...] = field(default=())
    check: str = ""

    @property
    def generated_at(self) -> datetime | None:
        return None if self.record is None else self.record.generated_at

    @property
    def needs_build(self) -> bool:
        """Stale, missing and invalid fixtures are rebuilt; fresh and hand-edited ones (even
        invalid hand edits, which may be half-way through a fix) are kept."""
        if self.check == "edited":
            return False
        return self.state in (FixtureState.STALE, FixtureState.MISSING, FixtureState.INVALID)

    def __str__(self) -> str:
        if self.skipped and self.state is FixtureState.FRESH:
            return f"{self.state.value}: {self.reason} (not checked here: {', '.join(self.skipped)})"
        return f"{self.state.value}: {self.reason}"

    def to_json(self) -> dict[str, Any]:
        rec = self.record
        tokens = None
        if rec is not None and (rec.usage.input_tokens is not None or rec.usage.output_tokens is not None):
            tokens = (rec.usage.input_tokens or 0) + (rec.usage.output_tokens or 0)
        return {
            "name": self.name,
            "state": self.state.value,
            "reason": self.reason,
            "file": str(self.data_path),
            "generated_at": rec.generated_at.isoformat().replace("+00:00", "Z") if rec else None,
            "age_seconds": None if self.age is None else round(self.age.total_seconds()),
            "model": rec.model if rec else None,
            "tokens": tokens,
            "attempts": rec.attempts if rec else None,
            "skipped_checks": list(self.skipped),
        }


class RecordCheck(Protocol):
    """One rule about a readable record whose data (``data``, its bytes) is intact: a reason
    when the fixture is stale, else None."""

    @property
    def name(self) -> str: ...

    def __call__(self, record: Provenance, now: datetime, data: bytes) -> str | None: ...


@dataclass(frozen=True)
class TtlCheck:
    """Stale once ``ttl`` (or, without one, the ttl the record was written with) has passed.

    A record dated in the future is stale too: its age cannot be trusted.
    """

    ttl: timedelta | None
    use_record_ttl: bool = True
    name: str = "ttl"

    def __call__(self, record: Provenance, now: datetime, data: bytes = b"") -> str | None:
        if record.generated_at > now + _CLOCK_SKEW:
            stamp = record.generated_at.strftime("%Y-%m-%d %H:%M UTC")
            return f"generated_at {stamp} is in the future; the record cannot be trusted"
        ttl = self.ttl
        if ttl is None and self.use_record_ttl and record.ttl_seconds is not None:
            try:
                ttl = parse_ttl(record.ttl_seconds)
            except ValueError as exc:  # a hand-edited or foreign record: 1e300, NaN, negative
                return f"the record's ttl_seconds cannot be used: {exc}"
        if ttl is None:
            return None
        try:
            overdue = now - (record.generated_at + ttl)
        except OverflowError:
            return f"ttl {format_duration(ttl)} cannot be counted from generated_at {record.generated_at}"
        if overdue > timedelta(0):
            return f"ttl {format_duration(ttl)} expired {format_duration(overdue)} ago"
        return None


class Classifier:
    """Decides the state of fixtures of one schema; see the module docstring for the rules.

    Args:
        adapter: the schema the data must validate against.
        checks: record checks run in order once the data is intact (the build adds its own).
        clock: the current time (injectable for tests).
        skipped: names of checks this classifier cannot run, reported with every status.
    """

    def __init__(
        self,
        adapter: SchemaAdapter[Any],
        checks: Sequence[RecordCheck] = (),
        *,
        clock: Clock = utcnow,
        skipped: Sequence[str] = (),
    ) -> None:
        self.adapter = adapter
        self.checks = tuple(checks)
        self.clock = clock
        self.skipped = tuple(skipped)

    def classify(
        self,
        name: str,
        data_path: Path,
        meta_path: Path,
        *,
        pending: bool | None = None,
        staged: bool | None = None,
    ) -> FixtureStatus:
        """The status of fixture ``name``.

        ``pending=False`` / ``staged=False`` say the caller listed the directory and
        there is no pending record / no staged pair, so neither is looked for.
        """
        pair = None if staged is False else inspect_staged(data_path, meta_path)
        if pair is not None:
            return self._staged(name, data_path, meta_path, pair, pending)
        try:
            raw = data_path.read_bytes()
        except FileNotFoundError:
            return self._status(
                name, data_path, meta_path, FixtureState.MISSING, "data", f"{data_path.name} does not exist"
            )
        except IsADirectoryError:
            reason = f"{data_path} is a directory, not a data file"
            return self._status(name, data_path, meta_path, FixtureState.INVALID, "data", reason)
        except OSError as exc:
            reason = f"cannot read {data_path}: {exc.strerror}"
            return self._status(name, data_path, meta_path, FixtureState.INVALID, "data", reason)
        record_error: str | None = None
        try:
            found = read_record(data_path, meta_path, sha256_hex(raw), pending=pending)
        except ProvenanceError as exc:
            found, record_error = None, exc.why
        return self._judge(name, data_path, meta_path, raw, found, record_error)

    def _staged(
        self, name: str, data_path: Path, meta_path: Path, pair: StagedPair, pending: bool | None
    ) -> FixtureStatus:
        """A fixture with a staged pair: pending, broken, or stale again (see the module docstring)."""
        record, raw = pair.record, pair.raw
        if pair.problem is not None or record is None or raw is None:
            committed = self.classify(name, data_path, meta_path, pending=pending, staged=False)
            reason = f"staged change is broken: {pair.problem}; fix it or `doit reject {name}`"
            return dataclasses.replace(committed, state=FixtureState.PENDING, check="review", reason=reason)
        why = record.reason or "regenerated"
        if pair.edited:
            # A reviewer's edit is kept like any hand edit, whatever changed since: accepting it
            # makes an edited fixture, which builds keep.
            errors = self.adapter.errors_for(raw)
            edited = f"{pair.data_path.name} was edited by hand"
            if errors:
                reason = f"awaiting review: {why}; {edited} and is not valid: {errors[0]}; fix it or `doit reject {name}`"
            else:
                reason = f"awaiting review: {why}; {edited} (accepting keeps it as a hand edit); `doit review` shows the change"
            return self._status(name, data_path, meta_path, FixtureState.PENDING, "review", reason, record)
        judged = self._judge(name, data_path, meta_path, raw, record, None, pair.data_path.name)
        if judged.state is FixtureState.FRESH:
            return dataclasses.replace(
                judged,
                state=FixtureState.PENDING,
                check="review",
                reason=f"awaiting review: {why}; `doit review` shows the change",
            )
        # The inputs changed again since: rebuilt, and the new change replaces this one.
        return dataclasses.replace(judged, reason=f"{judged.reason} (replaces the change awaiting review)")

    def _status(
        self,
        name: str,
        data_path: Path,
        meta_path: Path,
        state: FixtureState,
        check: str,
        reason: str,
        record: Provenance | None = None,
    ) -> FixtureStatus:
        age = None
        if record is not None:
            try:
                age = self.clock() - record.generated_at
            except OverflowError:
                age = None
        return FixtureStatus(name, state, reason, data_path, meta_path, record, age, self.skipped, check)

    def _judge(
        self,
        name: str,
        data_path: Path,
        meta_path: Path,
        raw: bytes,
        record: Provenance | None,
        record_error: str | None,
        label: str | None = None,
    ) -> FixtureStatus:
        """``label``: the data file's name in reasons (a staged pair's is not ``data_path``'s)."""
        label = label or data_path.name

        def status(
            state: FixtureState, check: str, reason: str, record: Provenance | None = None
        ) -> FixtureStatus:
            return self._status(name, data_path, meta_path, state, check, reason, record)

        intact = record is not None and record.data_sha256 == sha256_hex(raw)
        if intact and record is not None and record.schema_hash != self.adapter.schema_hash():
            return status(FixtureState.STALE, "schema", f"schema {self.adapter.label} changed", record)
        errors = self.adapter.errors_for(raw)
        if errors:
            if record is not None and not intact:  # a hand edit gone wrong: reported, never overwritten
                reason = f"{label}: {errors[0]} (edited by hand; kept)"
                return status(FixtureState.INVALID, "edited", reason, record)
            return status(FixtureState.INVALID, "data", f"{label}: {errors[0]}", record)
        if record_error is not None:
            return status(
                FixtureState.STALE, "record", f"provenance record {meta_path.name} unreadable: {record_error}"
            )
        if record is None:
            return status(FixtureState.STALE, "record", f"provenance record {meta_path.name} is missing")
        if not intact:
            return status(
                FixtureState.EDITED, "edited", "data edited by hand since generation (kept)", record
            )
        now = self.clock()
        for check in self.checks:
            objection = check(record, now, raw)
            if objection is not None:
                return status(FixtureState.STALE, check.name, objection, record)
        return status(FixtureState.FRESH, "", "up to date", record)
