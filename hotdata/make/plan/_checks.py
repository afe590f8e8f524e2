"""The build's checks of a fixture's record: one small function per input, like doit's checkers.

Each compares what the record's fingerprint says a fixture was built from with its inputs
as they are now (``FixtureInputs``), and returns the reason in words when one changed. They
run in the order of ``CHECKS``, and the first objection wins. The runtime's classifier
(data, record, schema, ttl) runs them as ``RecordCheck``s (``BuildCheck``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from pydantic import ValidationError

from ..._names import META_SUFFIX
from ..._provenance import Provenance
from .._fixture_plan import FINGERPRINT_FORMAT, READABLE_FORMATS, Fingerprint, FixtureInputs
from ..quality._settings import QualityContext
from ._closure import describe_change
from ._inputs import InputResolver

__all__ = ["BUILD_CHECKS", "CHECKS", "BuildCheck", "FingerprintOf"]

Check = Callable[[FixtureInputs, Provenance, Fingerprint, InputResolver, bytes], "str | None"]


def _format(
    fixture: FixtureInputs, record: Provenance, fp: Fingerprint, now: InputResolver, data: bytes
) -> str | None:
    if fp.format not in READABLE_FORMATS:
        return f"fingerprint format changed ({fp.format} -> {FINGERPRINT_FORMAT})"
    return None


def _name(
    fixture: FixtureInputs, record: Provenance, fp: Fingerprint, now: InputResolver, data: bytes
) -> str | None:
    if record.name != fixture.name:
        return f"the record names fixture {record.name!r}, not {fixture.name!r}"
    return None


def _generator(
    fixture: FixtureInputs, record: Provenance, fp: Fingerprint, now: InputResolver, data: bytes
) -> str | None:
    # The libraries ctx.sample drew values from are part of the generator's code: one check
    # keeps the build's check names (which the runtime reports as skipped) as they were.
    return _code(fixture, fp, now) or _samplers(fp, now)


def _samplers(fp: Fingerprint, now: InputResolver) -> str | None:
    for library, recorded in sorted(fp.samplers.items()):
        current = now.library_version(library)
        if current is None:
            return f"{library} {recorded} is not installed: sampled values need it; pip install {library}"
        if current != recorded:
            return f"{library} {recorded} -> {current}: sampled values may differ"
    return None


def _code(fixture: FixtureInputs, fp: Fingerprint, now: InputResolver) -> str | None:
    if fp.generator == fixture.generator:
        return None
    spec = fixture.spec
    if spec.version is not None or fp.generator.startswith("version:"):
        return f"generator {spec.generator.__name__} version changed"
    code = dict(fixture.code)
    if fp.format == 3:  # written while schema classes were in the closure: compared as it was made
        generator, code = now.closure_with_schema_classes(spec)
        if fp.generator == generator:
            return None
    return describe_change(fp.code, code, spec.generator.__name__)


def _templates(
    fixture: FixtureInputs, record: Provenance, fp: Fingerprint, now: InputResolver, data: bytes
) -> str | None:
    for declared in fixture.spec.templates:
        if declared not in fp.templates:
            return f"template {declared} added"
    for relpath, digest in sorted(fp.templates.items()):
        current = now.template_hash(relpath)
        if current is None:
            return f"template {relpath} is missing"
        if current != digest:
            return f"template {relpath} changed"
    return None


def _schema(
    fixture: FixtureInputs, record: Provenance, fp: Fingerprint, now: InputResolver, data: bytes
) -> str | None:
    if fp.schema_ != fixture.adapter.schema_hash():
        return f"schema {fixture.spec.schema_label} changed"
    for name, digest in sorted(fp.schemas_used.items()):
        current = now.named_schema_hash(name)
        label = name.rsplit(":", 1)[-1]
        if current is None:
            return f"schema {label} is gone"
        if current != digest:
            return f"schema {label} changed"
    return None


def _params(
    fixture: FixtureInputs, record: Provenance, fp: Fingerprint, now: InputResolver, data: bytes
) -> str | None:
    if fp.params != fixture.params:
        return "variant parameters changed"
    return None


def _model(
    fixture: FixtureInputs, record: Provenance, fp: Fingerprint, now: InputResolver, data: bytes
) -> str | None:
    if fp.model != fixture.model:
        return f"model changed ({fp.model} -> {fixture.model})"
    if fp.model_options != fixture.recorded_options:
        return "model options changed"
    # How the model is asked includes the fixture's system prompt; one check (not a check of its
    # own) keeps the build's check names, which the runtime reports as skipped, as they were.
    if fp.system != fixture.system_hash:
        return "system prompt changed"
    judge = fixture.judge_fingerprint
    if fp.judge != judge:
        was, wants = fp.judge or {}, judge or {}
        if was.get("questions") != wants.get("questions"):
            return "judge questions changed"
        return f"judge model changed ({was.get('model')} -> {wants.get('model')})"
    return None


def _quality(
    fixture: FixtureInputs, record: Provenance, fp: Fingerprint, now: InputResolver, data: bytes
) -> str | None:
    if record.quality is not None and record.quality == fixture.quality_hash:
        return None  # these very bytes passed these very gates when they were generated
    try:
        value = json.loads(data)
    except ValueError:
        return None  # the classifier has already refused data that is not JSON
    from ..quality._gates import check_value  # here: a fixture the index calls fresh runs no gate

    problems = check_value(value, fixture.quality, QualityContext(), fixture.checks)
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


class FingerprintOf:
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
    fixture: FixtureInputs
    now: InputResolver  # template and named schema hashes as they are now
    fingerprint_of: FingerprintOf

    def __call__(self, record: Provenance, now: datetime, data: bytes) -> str | None:
        fp = self.fingerprint_of(record)
        if isinstance(fp, str):
            if self.name != "fingerprint":
                return None
            return f"provenance record {self.fixture.name.rsplit('/', 1)[-1]}{META_SUFFIX} unreadable: {fp}"
        check = CHECKS.get(self.name)
        return None if check is None else check(self.fixture, record, fp, self.now, data)
