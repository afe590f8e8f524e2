"""Stage 1, plan: the catalog plus one classifier decide each fixture's state and reason.

The runtime's ``Classifier`` (data, record, schema, ttl) gets the build's record
checks: one small function per input, run in the order of ``CHECKS`` like doit's
checkers, each returning the reason in words when its input changed. ``doit
fixtures`` (its ``uptodate``), ``doit status``, ``doit validate`` and the pytest
plugin's strict mode all ask ``Planner.status``, so they never disagree.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from pydantic import ValidationError

from ..._errors import InvalidFixtureName, ProvenanceError
from ..._freshness import Classifier, Clock, FixtureState, FixtureStatus, RecordCheck, TtlCheck, utcnow
from ..._names import META_SUFFIX, PathCache, fixture_paths
from ..._provenance import Provenance, parse_provenance
from ..._store import PENDING_SUFFIX, STAGED_SUFFIX
from .._spec import FixtureSpec
from ..quality import QualityContext, check_value
from ._catalog import Catalog
from ._closure import describe_change
from ._fingerprint import FINGERPRINT_FORMAT, Fingerprint, Inputs
from ._index import FreshIndex, IndexEntry, inputs_digest

__all__ = ["BUILD_CHECKS", "CHECKS", "BuildCheck", "Planner"]

Check = Callable[[FixtureSpec, Provenance, Fingerprint, Inputs, bytes], "str | None"]


def _format(
    spec: FixtureSpec, record: Provenance, fp: Fingerprint, inputs: Inputs, data: bytes
) -> str | None:
    if fp.format != FINGERPRINT_FORMAT:
        return f"fingerprint format changed ({fp.format} -> {FINGERPRINT_FORMAT})"
    return None


def _name(spec: FixtureSpec, record: Provenance, fp: Fingerprint, inputs: Inputs, data: bytes) -> str | None:
    if record.name != spec.name:
        return f"the record names fixture {record.name!r}, not {spec.name!r}"
    return None


def _generator(
    spec: FixtureSpec, record: Provenance, fp: Fingerprint, inputs: Inputs, data: bytes
) -> str | None:
    if fp.generator == inputs.generator_hash(spec):
        return None
    if spec.version is not None or fp.generator.startswith("version:"):
        return f"generator {spec.generator.__name__} version changed"
    return describe_change(fp.code, inputs.code_closure(spec), spec.generator.__name__)


def _templates(
    spec: FixtureSpec, record: Provenance, fp: Fingerprint, inputs: Inputs, data: bytes
) -> str | None:
    for declared in spec.templates:
        if declared not in fp.templates:
            return f"template {declared} added"
    for relpath, digest in sorted(fp.templates.items()):
        current = inputs.template_hash(relpath)
        if current is None:
            return f"template {relpath} is missing"
        if current != digest:
            return f"template {relpath} changed"
    return None


def _schema(
    spec: FixtureSpec, record: Provenance, fp: Fingerprint, inputs: Inputs, data: bytes
) -> str | None:
    if fp.schema_ != inputs.adapter(spec.schema).schema_hash():
        return f"schema {spec.schema_label} changed"
    for name, digest in sorted(fp.schemas_used.items()):
        current = inputs.named_schema_hash(name)
        label = name.rsplit(":", 1)[-1]
        if current is None:
            return f"schema {label} is gone"
        if current != digest:
            return f"schema {label} changed"
    return None


def _params(
    spec: FixtureSpec, record: Provenance, fp: Fingerprint, inputs: Inputs, data: bytes
) -> str | None:
    if fp.params != inputs.params_for(spec):
        return "variant parameters changed"
    return None


def _model(spec: FixtureSpec, record: Provenance, fp: Fingerprint, inputs: Inputs, data: bytes) -> str | None:
    model, options = inputs.model_for(spec)
    if fp.model != model:
        return f"model changed ({fp.model} -> {model})"
    if fp.model_options != options:
        return "model options changed"
    return None


def _quality(
    spec: FixtureSpec, record: Provenance, fp: Fingerprint, inputs: Inputs, data: bytes
) -> str | None:
    if record.quality is not None and record.quality == inputs.quality_hash(spec):
        return None  # these very bytes passed these very gates when they were generated
    settings, checks = inputs.quality_for(spec)
    try:
        value = json.loads(data)
    except ValueError:
        return None  # the classifier has already refused data that is not JSON
    problems = check_value(value, settings, QualityContext(), checks)
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        return f"quality: {problems[0].message}{more}"
    return None


# The build's checks by name, in the order they run (the first objection wins).
CHECKS: dict[str, Check] = {
    "format": _format,
    "name": _name,
    "schema": _schema,
    "generator": _generator,
    "templates": _templates,
    "params": _params,
    "model": _model,
    "quality": _quality,
}
BUILD_CHECKS = ("fingerprint", *CHECKS)


class _FingerprintOf:
    """The record's fingerprint parsed once for all checks of one classification."""

    def __init__(self) -> None:
        self._record: Provenance | None = None
        self._parsed: Fingerprint | str = ""

    def __call__(self, record: Provenance) -> Fingerprint | str:
        """The fingerprint, or why it cannot be read."""
        if record is not self._record:
            self._record = record
            try:
                self._parsed = Fingerprint.model_validate(record.fingerprint or {})
            except ValidationError as exc:
                err = exc.errors(include_url=False)[0]
                where = ".".join(str(p) for p in err["loc"])
                self._parsed = f"fingerprint.{where}: {err['msg']}" if where else f"fingerprint: {err['msg']}"
        return self._parsed


@dataclass(frozen=True)
class BuildCheck:
    """One of the build's checks of one fixture, as a ``RecordCheck`` of the runtime classifier."""

    name: str
    spec: FixtureSpec
    inputs: Inputs
    fingerprint_of: _FingerprintOf

    def __call__(self, record: Provenance, now: datetime, data: bytes) -> str | None:
        fp = self.fingerprint_of(record)
        if isinstance(fp, str):
            if self.name != "fingerprint":
                return None
            return f"provenance record {self.spec.name.rsplit('/', 1)[-1]}{META_SUFFIX} unreadable: {fp}"
        check = CHECKS.get(self.name)
        return None if check is None else check(self.spec, record, fp, self.inputs, data)


class Planner:
    """The state of every fixture in a catalog, by one classifier per fixture."""

    def __init__(
        self, catalog: Catalog, inputs: Inputs, *, clock: Clock = utcnow, index: FreshIndex | None = None
    ) -> None:
        self.catalog = catalog
        self.inputs = inputs
        self.clock = clock
        self.index = index
        self._paths = PathCache()
        self._resolved: dict[str, tuple[Path, Path]] = {}
        self.pending_seen: set[str] = set()  # fixtures with a half-finished write, for the commit stage

    def paths(self, spec: FixtureSpec) -> tuple[Path, Path]:
        """``(data_path, meta_path)``; ``InvalidFixtureName`` when the name escapes the root."""
        found = self._resolved.get(spec.name)
        if found is None:  # resolved once per run: symlinks are checked, then remembered
            # names were checked when @fixture declared them (expand); the symlink check runs here
            found = self._resolved[spec.name] = fixture_paths(
                self.inputs.config.fixtures_path, spec.name, self._paths, validated=True
            )
        return found

    def classifier(self, spec: FixtureSpec) -> Classifier:
        fingerprint_of = _FingerprintOf()
        checks: list[RecordCheck] = [BuildCheck(n, spec, self.inputs, fingerprint_of) for n in BUILD_CHECKS]
        checks.append(TtlCheck(self.inputs.ttl_for(spec), use_record_ttl=False))
        return Classifier(self.inputs.adapter(spec.schema), checks, clock=self.clock)

    def rescan(self) -> None:
        """Forget cached directory listings (after files were written)."""
        self._paths.clear()

    def status(self, spec: FixtureSpec, *, rescan: bool = False, quick: bool = False) -> FixtureStatus:
        """Where ``spec`` stands now; ``rescan`` looks at the fixture's files afresh instead of
        this run's cached directory listing (a build, after other fixtures were written).

        ``quick`` (for ``doit fixtures``' uptodate) answers "fresh" from the local index
        when the fixture's files and inputs are exactly as last verified; the status then
        carries no record (``index_entry`` has what the catalog document needs).
        """
        try:
            data_path, meta_path = self.paths(spec)
        except InvalidFixtureName as exc:  # e.g. a symlink out of the fixtures root
            where = self.inputs.config.fixtures_path / spec.name
            return FixtureStatus(spec.name, FixtureState.INVALID, str(exc), where, where, check="data")
        pending_name = meta_path.name + PENDING_SUFFIX
        staged_name, staged_data_name = meta_path.name + STAGED_SUFFIX, data_path.name + STAGED_SUFFIX
        if rescan:
            # this fixture's own files, looked at now: re-listing its directory for every build
            # made a family of N variants in one directory cost N² entries (minutes at 10,000)
            directory = meta_path.parent
            there = {
                n for n in (pending_name, staged_name, staged_data_name) if os.path.lexists(directory / n)
            }
        else:
            there = set(
                self._paths.listing(str(meta_path.parent)) & {pending_name, staged_name, staged_data_name}
            )
        pending, staged = pending_name in there, staged_name in there
        if pending or staged != (staged_data_name in there):
            self.pending_seen.add(spec.name)  # a half-finished write for the commit stage to tidy
        quiet = not there
        if quick and quiet and self.index is not None:
            entry = self.index.get(spec.name)
            if (
                entry is not None
                and self.index.fresh(
                    spec.name, data_path, meta_path, self._digest(spec, entry.templates, entry.schemas_used)
                )
                and self._ttl_holds(spec, meta_path)
            ):
                return FixtureStatus(spec.name, FixtureState.FRESH, "up to date", data_path, meta_path)
        status = self.classifier(spec).classify(
            spec.name, data_path, meta_path, pending=pending, staged=staged
        )
        if quiet and self.index is not None:
            self._remember(spec, status)
        return status

    def _ttl_holds(self, spec: FixtureSpec, meta_path: Path) -> bool:
        """No ttl, or the record (read now: local state never decides an expiry) is within it."""
        ttl = self.inputs.ttl_for(spec)
        if ttl is None:
            return True
        try:
            record = parse_provenance(meta_path, meta_path.read_bytes())
        except (OSError, ProvenanceError):
            return False  # verified in full, which says what is wrong
        return TtlCheck(ttl, use_record_ttl=False)(record, self.clock()) is None

    def _digest(self, spec: FixtureSpec, templates: Sequence[str], schemas_used: Sequence[str]) -> str:
        """Everything the build's checks compare, as it is now, for one fixture."""
        inputs = self.inputs
        config = inputs.config
        ttl = inputs.ttl_for(spec)
        # raw parameters and options: the digest is only ever compared with itself, never shown
        return inputs_digest(
            [
                FINGERPRINT_FORMAT,
                spec.name,
                inputs.generator_hash(spec),
                sorted(spec.templates),
                {t: inputs.template_hash(t) for t in templates},
                inputs.adapter(spec.schema).schema_hash(),
                {n: inputs.named_schema_hash(n) for n in schemas_used},
                dict(spec.params),
                spec.model or config.model,
                {**config.model_options, **spec.model_options},
                inputs.quality_hash(spec),
                None if ttl is None else ttl.total_seconds(),
            ]
        )

    def _remember(self, spec: FixtureSpec, status: FixtureStatus) -> None:
        assert self.index is not None
        record = status.record
        if status.state is not FixtureState.FRESH or record is None:
            self.index.forget(spec.name)
            return
        fp = record.fingerprint or {}
        templates = tuple(sorted(fp.get("templates") or {}))
        schemas_used = tuple(sorted(fp.get("schemas_used") or {}))
        entry = IndexEntry(
            (0, 0, 0, 0, 0),
            (0, 0, 0, 0, 0),
            self._digest(spec, templates, schemas_used),
            record.generated_at.strftime("%Y-%m-%d %H:%M UTC"),
            record.model or "-",
            templates,
            schemas_used,
        )
        self.index.remember(spec.name, status.data_path, status.meta_path, entry)
