"""Batch jobs as saved in the project: ``fixtures/.batches/<local id>.json``.

One file per job: the model and endpoint, the provider's batch id once known, the
status, and every request by its custom_id (the request key): the fixture, the
generator's round, the request itself (schemas stored once per file) and, once the
job is collected, what becomes of it (``carry``). Written before the upload, again
when the provider names the batch, and whenever its status changes.

A job file is committed, merged and edited like any file under ``fixtures/``, so it
is read strictly (``read_job_file``): every field's type, the ids that become paths
or URLs (the local id, the request keys, the provider's ids), the fixture names. A
file that fails any check is a ``BrokenJobFile``: what can be salvaged from its text
(its local id from the file name, its model, the request keys it names) and why it
cannot be read. It is written redacted exactly as an answer is (``_secrets``).
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from ..._duration import format_duration
from ..._errors import InvalidFixtureName
from ..._names import validate_fixture_name
from .._secrets import public_options, redact, secret_values
from ..models._seam import ModelRequest

__all__ = [
    "COLLECTED",
    "CREATE_GRACE",
    "KEEP_COLLECTED",
    "LIVE",
    "BatchItem",
    "BatchJob",
    "BrokenJobFile",
    "Carry",
    "JobFileError",
    "ago",
    "is_provider_id",
    "is_request_key",
    "now_utc",
    "read_job_file",
]

FORMAT = 1
# "submitting": saved before the upload; "creating": uploaded, the batch asked for (id not yet known)
LIVE = frozenset({"submitting", "creating", "validating", "in_progress", "finalizing", "cancelling"})
COLLECTED = "collected"
KEEP_COLLECTED = timedelta(days=7)  # a collected job nobody needs any more is forgotten after this
# A batch asked for by a run that stopped before hearing back may still be in the making at the provider:
# its requests wait this long for it to show before they are asked again.
CREATE_GRACE = timedelta(minutes=2)
Carry = Literal["answered", "synchronous", "resubmit"]

# What may become part of a path or a URL. A local id names the job's file (``b_`` and 12 hex digits
# when hotdata makes one); a request key is a sha256 (an answer's file name); a provider's id
# (batch, file) is put into the provider's URLs.
_LOCAL_ID = r"b_[A-Za-z0-9_-]{1,64}"
_REQUEST_KEY = r"[0-9a-f]{64}"
_PROVIDER_ID = r"[A-Za-z0-9][A-Za-z0-9_-]{0,199}"
LocalId = Annotated[str, StringConstraints(pattern=f"^{_LOCAL_ID}$")]
RequestKey = Annotated[str, StringConstraints(pattern=f"^{_REQUEST_KEY}$")]
ProviderId = Annotated[str, StringConstraints(pattern=f"^{_PROVIDER_ID}$")]


def is_request_key(text: object) -> bool:
    """Whether ``text`` can be a request key (and so an answer's file name)."""
    return isinstance(text, str) and re.fullmatch(_REQUEST_KEY, text) is not None


def is_provider_id(text: object) -> bool:
    """Whether ``text`` can be a provider's batch or file id (it goes into the provider's URLs)."""
    return isinstance(text, str) and re.fullmatch(_PROVIDER_ID, text) is not None


def ago(then: datetime, now: datetime) -> str:
    return f"{format_duration(max(now - then, timedelta(0)))} ago"


def now_utc() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def _stamp(when: datetime) -> str:
    return when.isoformat().replace("+00:00", "Z")


class JobFileError(ValueError):
    """A job file that is not a batch job hotdata can read; the message says why."""


# -- the file's shape, checked strictly --------------------------------------------------------


class _RequestDoc(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    model: str = Field(min_length=1)
    prompt: str
    system: str | None = None
    schema_ref: str | None = Field(None, alias="schema")
    options: dict[str, Any] = Field(default_factory=dict)
    attempt: int = Field(1, ge=1)


class _ItemDoc(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    fixture: str
    round: int = Field(ge=0)
    request: _RequestDoc
    resubmitted: int = Field(0, ge=0)
    carry: Carry | None = None


class _JobDoc(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    format: int
    id: LocalId
    model: str = Field(min_length=1)
    endpoint: str = Field(min_length=1)
    status: str
    batch_id: ProviderId | None = None
    input_file_id: ProviderId | None = None
    submitted_at: AwareDatetime
    creating_at: AwareDatetime | None = None
    ended: str | None = None
    errors: list[str] = Field(default_factory=list)
    items: dict[RequestKey, _ItemDoc]
    schemas: dict[str, dict[str, Any]] = Field(default_factory=dict)


def _field_error(exc: ValidationError) -> str:
    first = exc.errors(include_url=False)[0]
    parts = [str(p) for p in first["loc"]]
    shown = repr(first.get("input"))
    shown = shown if len(shown) <= 60 else shown[:57] + "..."
    if first["type"] == "missing":
        return f"field {'.'.join(parts)}: {first['msg']}"
    if parts[-1:] == ["[key]"]:  # a key of an object (a request key under items)
        return f"field {'.'.join(parts[:-2])}: key {shown}: {first['msg']}"
    return f"field {'.'.join(parts) or '(the whole file)'}: {first['msg']} (it is {shown})"


def _parse(data: bytes, name: str) -> _JobDoc:
    """The checked document of a job file called ``name`` (its stem); ``JobFileError`` if it is not one."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise JobFileError(f"it is not UTF-8 ({exc.reason} at byte {exc.start})") from None
    conflict = re.search(r"^(<<<<<<<|>>>>>>>|=======$)", text, re.MULTILINE)
    if conflict:
        line = text.count("\n", 0, conflict.start()) + 1
        raise JobFileError(f"it holds merge-conflict markers (line {line})")
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise JobFileError(f"it is not valid JSON ({exc.msg} at line {exc.lineno}; truncated?)") from None
    if not isinstance(raw, dict):
        shown = {list: "an array", str: "a string", bool: "a boolean"}.get(type(raw), "a number")
        raise JobFileError(f"it holds {'null' if raw is None else shown}, not a job object")
    if raw.get("format") != FORMAT:
        raise JobFileError(f"its format is {raw.get('format')!r}, not {FORMAT} (a newer or older hotdata?)")
    try:
        doc = _JobDoc.model_validate_json(data)
    except ValidationError as exc:
        raise JobFileError(_field_error(exc)) from None
    if doc.id != name:
        raise JobFileError(f"field id: {doc.id!r} is not its file name's id {name!r}")
    if doc.status not in LIVE | {COLLECTED}:
        raise JobFileError(f"field status: {doc.status!r} is not a status hotdata writes")
    for key, item in doc.items.items():
        try:
            validate_fixture_name(item.fixture)
        except InvalidFixtureName as exc:
            raise JobFileError(f"field items.{key}.fixture: {exc.why}") from None
        ref = item.request.schema_ref
        if ref is not None and ref not in doc.schemas:
            raise JobFileError(f"field items.{key}.request.schema: {ref!r} is not one of its schemas")
    return doc


# -- the job ---------------------------------------------------------------------------------


@dataclass
class BatchItem:
    """One request of a job: custom_id is its request key."""

    fixture: str
    round: int
    request: ModelRequest
    resubmitted: int = 0  # times this request was resubmitted after its batch ended unfinished
    carry: Carry | None = None  # after collection: what becomes of it


@dataclass
class BatchJob:
    """A batch job as saved in ``fixtures/.batches/<local_id>.json``."""

    local_id: str
    model: str  # the llm model id
    endpoint: str
    submitted_at: datetime
    status: str = "submitting"
    batch_id: str | None = None
    input_file_id: str | None = None
    creating_at: datetime | None = None  # when the batch was asked for
    items: dict[str, BatchItem] = field(default_factory=dict)
    ended: str | None = None  # the provider's final status, once collected
    errors: list[str] = field(default_factory=list)

    @property
    def live(self) -> bool:
        return self.status in LIVE

    def describe(self, now: datetime | None = None) -> str:
        """``b_… (in_progress, submitted 3m ago)``."""
        return f"{self.local_id} ({self.status}, submitted {ago(self.submitted_at, now or now_utc())})"

    def to_bytes(self) -> bytes:
        """The file, redacted as an answer is: options whose values are secrets are left out (the
        answer store's key leaves them out too) and every known secret value is blanked."""
        schemas: dict[str, Any] = {}
        items: dict[str, Any] = {}
        secrets = secret_values()  # once per file, not per request: it reads llm's configuration
        for key, item in sorted(self.items.items()):
            req = item.request
            schema_ref = None
            if req.json_schema is not None:
                text = json.dumps(req.json_schema, sort_keys=True)
                schema_ref = hashlib.sha256(text.encode()).hexdigest()[:16]
                schemas[schema_ref] = req.json_schema
            items[key] = {
                "fixture": item.fixture,
                "round": item.round,
                "request": {
                    "model": req.model,
                    "prompt": req.prompt,
                    "system": req.system,
                    "schema": schema_ref,
                    "options": public_options(req.options, secrets),
                    "attempt": req.attempt,
                },
                "resubmitted": item.resubmitted,
                "carry": item.carry,
            }
        doc = {
            "format": FORMAT,
            "id": self.local_id,
            "model": self.model,
            "endpoint": self.endpoint,
            "status": self.status,
            "batch_id": self.batch_id,
            "input_file_id": self.input_file_id,
            "submitted_at": _stamp(self.submitted_at),
            "creating_at": None if self.creating_at is None else _stamp(self.creating_at),
            "ended": self.ended,
            "errors": self.errors,
            "items": items,
            "schemas": schemas,
        }
        text = json.dumps(doc, indent=1, sort_keys=True, ensure_ascii=False) + "\n"
        return redact(text, secrets).encode("utf-8")

    @classmethod
    def from_bytes(cls, data: bytes, name: str) -> BatchJob:
        """The job in file ``<name>.json``; ``JobFileError`` saying why when it is not one."""
        doc = _parse(data, name)
        items: dict[str, BatchItem] = {}
        for key, raw in doc.items.items():
            req = raw.request
            request = ModelRequest(
                model=req.model,
                prompt=req.prompt,
                fixture=raw.fixture,
                json_schema=doc.schemas[req.schema_ref] if req.schema_ref is not None else None,
                system=req.system,
                options=req.options,
                attempt=req.attempt,
            )
            items[key] = BatchItem(raw.fixture, raw.round, request, raw.resubmitted, raw.carry)
        return cls(
            local_id=doc.id,
            model=doc.model,
            endpoint=doc.endpoint,
            submitted_at=doc.submitted_at.astimezone(UTC),
            creating_at=None if doc.creating_at is None else doc.creating_at.astimezone(UTC),
            status=doc.status,
            batch_id=doc.batch_id,
            input_file_id=doc.input_file_id,
            items=items,
            ended=doc.ended,
            errors=list(doc.errors),
        )


# -- a file that is not a job hotdata can read --------------------------------------------------


@dataclass(frozen=True)
class BrokenJobFile:
    """A file in ``fixtures/.batches/`` that is not a job hotdata can read, and what its text tells.

    ``local_id`` comes from the file name (the provider knows the batch by it, as metadata);
    ``model`` and ``keys`` are read from whatever text is left, and may be incomplete.
    """

    path: Path
    reason: str
    local_id: str | None
    model: str | None
    keys: frozenset[str]

    @classmethod
    def salvage(cls, path: Path, data: bytes, reason: str) -> BrokenJobFile:
        text = data.decode("utf-8", errors="replace")
        local_id = path.stem if re.fullmatch(_LOCAL_ID, path.stem) else None
        model = re.search(r'"model"\s*:\s*"([^"\\\x00-\x1f]{1,200})"', text)
        keys = frozenset(re.findall(rf'"({_REQUEST_KEY})"', text))
        return cls(path, reason, local_id, model[1] if model else None, keys)


def read_job_file(path: Path) -> BatchJob | BrokenJobFile:
    """The job saved at ``path``, or what can be told about the file when it is not one."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        return BrokenJobFile.salvage(path, b"", f"it cannot be read ({exc.strerror or exc})")
    try:
        return BatchJob.from_bytes(data, path.stem)
    except JobFileError as exc:
        return BrokenJobFile.salvage(path, data, str(exc))
