"""The provenance record committed beside every fixture (``<name>.meta.json``).

It is what lets any checkout decide freshness without a local database: when and
from what inputs the data file was generated, and the sha256 of that file as
written, so a hand edit is recognisable. It never holds secrets or environment
values: only names, hashes, model ids and options, counts and times.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ._errors import ProvenanceError
from ._schema import canonical_json

__all__ = [
    "PROVENANCE_FORMAT",
    "FailedAttempt",
    "Migration",
    "Provenance",
    "Repair",
    "Usage",
    "Verdict",
    "read_provenance",
    "sha256_hex",
]

# Bump when the meaning of a record changes: every older record becomes stale on purpose.
PROVENANCE_FORMAT = 1


def _in_utc(value: datetime, field: str) -> datetime:
    if value.tzinfo is None:
        raise ValueError(f"{field} must carry a timezone (UTC, ISO 8601 with 'Z' or '+00:00')")
    return value.astimezone(UTC)


class Usage(BaseModel):
    """Model calls and tokens spent producing one fixture."""

    model_config = ConfigDict(extra="forbid")

    calls: int = 0
    input_tokens: int | None = None
    output_tokens: int | None = None


class FailedAttempt(BaseModel):
    """A model answer that was not accepted, and why (schema errors or quality gates)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    attempt: int
    reasons: list[str]


class Verdict(BaseModel):
    """A judge model's answer to one yes/no question about the whole fixture (``judge=``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    question: str
    answer: Literal["yes", "no"]
    field: str = ""  # the JSON pointer the judge blames ("" : the whole fixture)
    reason: str = ""
    model: str  # who judged


class Repair(BaseModel):
    """One field asked again alone, instead of the whole value (field-scoped repair)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    attempt: int
    pointer: str  # RFC 6901 pointer of the field asked again
    output_tokens: int | None = None  # what the field's answer took
    whole_output_tokens: int | None = None  # what the whole answer it stands in for took
    # the key of the answer that wrote the pointer (fixtures/.answers/KEY.json): field-level
    # provenance; absent when the field came from several requests (``ctx.write``) or no store
    answer: str | None = None


class Migration(BaseModel):
    """One ``doit migrate`` of the committed data: what code decided, not a model."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    at: datetime
    renames: list[tuple[str, str]] = Field(
        default_factory=list
    )  # (old, new) JSON pointers, ``*``: every item
    fn: str = ""  # ``module:function`` the data went through after the renames ("" : none)
    changed: list[str] = Field(default_factory=list)  # JSON pointers of the values it changed
    from_sha256: str  # the data before
    from_schema_hash: str  # the fixture's schema the data was valid under before

    _aware_utc = field_validator("at")(lambda value: _in_utc(value, "at"))


class Provenance(BaseModel):
    """One fixture's provenance record."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    format: int = PROVENANCE_FORMAT
    name: str
    schema_name: str
    schema_hash: str
    data_sha256: str
    generated_at: datetime
    ttl_seconds: float | None = None
    fingerprint: dict[str, Any] | None = None
    generator: str | None = None
    model: str | None = None
    model_options: dict[str, Any] = Field(default_factory=dict)
    attempts: int = 0
    usage: Usage = Field(default_factory=Usage)
    usage_per_attempt: list[Usage] = Field(default_factory=list)
    failed_attempts: list[FailedAttempt] = Field(default_factory=list)
    # Fields asked again alone after a refusal; left out of the file when there were none.
    repairs: list[Repair] = Field(default_factory=list)
    # The quality settings (hash) the data passed when it was generated; None: not gated.
    quality: str | None = None
    # Why it was (re)generated, in the classifier's words ("template partials/voice.j2 changed").
    reason: str | None = None
    # The recorded answers it was built from (keys in fixtures/.answers), and how many were replayed.
    answers: list[str] = Field(default_factory=list)
    # key -> the digest of the answer used (text and finish reason), so an answer changed since is
    # told apart from a change of code; records from before it have none and are not checked.
    answer_digests: dict[str, str] = Field(default_factory=dict)
    replayed: int = 0
    hotdata_version: str = ""
    # What the judge model said about the committed data, one verdict per question (none: no judge).
    verdicts: list[Verdict] = Field(default_factory=list)
    # The JSON Schemas the data was built under: the fixture's own under ``schema_name``, each of
    # the fingerprint's ``schemas_used`` under its name. A later schema change is classified from
    # them (``doit status``); left out of the file when empty (records from before keep none).
    schemas: dict[str, Any] = Field(default_factory=dict)
    # The schema changes the data was kept through since it was generated, in words: its answers
    # were asked under the schemas before them (``doit verify`` replays them so); left out when none.
    kept_through: list[str] = Field(default_factory=list)
    # What ``doit migrate`` did to the data since it was generated, oldest first; left out when none
    # (records from before migrations read as they did).
    migrated: list[Migration] = Field(default_factory=list)

    _aware_utc = field_validator("generated_at")(lambda value: _in_utc(value, "generated_at"))

    def to_bytes(self) -> bytes:
        data = self.model_dump(mode="json")
        if not self.verdicts:  # a record without a judge reads as it did before judges existed
            del data["verdicts"]
        data["generated_at"] = self.generated_at.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        for optional in ("repairs", "schemas", "kept_through", "migrated"):
            if not data[optional]:
                del data[optional]
        for repair in data.get("repairs", ()):  # a repair without its answer reads as it did before
            if repair["answer"] is None:
                del repair["answer"]
        return canonical_json(data)


def sha256_hex(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


def parse_provenance(path: Path, raw: bytes) -> Provenance:
    try:  # the fast path: one Rust-side parse and validation
        record = Provenance.model_validate_json(raw)
    except ValidationError:
        pass  # the slow path below says what exactly is wrong
    else:
        if record.format == PROVENANCE_FORMAT:
            return record
    try:
        data = json.loads(raw)
    except UnicodeDecodeError as exc:
        raise ProvenanceError(path, f"not valid UTF-8 ({exc.reason} at byte {exc.start})") from None
    except json.JSONDecodeError as exc:
        raise ProvenanceError(path, f"not valid JSON ({exc.msg} at line {exc.lineno})") from None
    if isinstance(data, dict) and data.get("format") not in (None, PROVENANCE_FORMAT):
        raise ProvenanceError(
            path, f"format {data.get('format')!r} is not the supported format {PROVENANCE_FORMAT}"
        )
    try:
        return Provenance.model_validate(data)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        loc = "/".join(str(p) for p in first["loc"]) or "(root)"
        raise ProvenanceError(path, f"field {loc}: {first['msg']}") from None


def read_provenance(path: Path) -> Provenance | None:
    """The record at ``path``; None when there is none; ``ProvenanceError`` when corrupt."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ProvenanceError(path, str(exc)) from None
    return parse_provenance(path, raw)
