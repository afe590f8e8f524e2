"""Batch jobs as saved in the project: ``fixtures/.batches/<local id>.json``.

One file per job: the model and endpoint, the provider's batch id once known, the
status, and every request by its custom_id (the request key): the fixture, the
generator's round, the request itself (schemas stored once per file) and, once the
job is collected, what becomes of it (``carry``). Written before the upload, again
when the provider names the batch, and whenever its status changes.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from ._model import ModelRequest
from ._secrets import SECRET_MARK, mask_secrets, secret_values

__all__ = [
    "COLLECTED",
    "CREATE_GRACE",
    "KEEP_COLLECTED",
    "LIVE",
    "BatchItem",
    "BatchJob",
    "Carry",
    "ago",
    "now_utc",
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


def ago(then: datetime, now: datetime) -> str:
    from .._duration import format_duration

    return f"{format_duration(max(now - then, timedelta(0)))} ago"


def now_utc() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def _stamp(when: datetime) -> str:
    return when.isoformat().replace("+00:00", "Z")


def _parse_stamp(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


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
                    # what the answer store keys on: options whose values are secrets are left out
                    "options": {
                        k: v for k, v in mask_secrets(dict(req.options), secrets).items() if v != SECRET_MARK
                    },
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
        return (json.dumps(doc, indent=1, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8")

    @classmethod
    def from_bytes(cls, data: bytes) -> BatchJob:
        doc = json.loads(data)
        if doc.get("format") != FORMAT:
            raise ValueError(f"format {doc.get('format')!r}, not {FORMAT}")
        schemas = doc.get("schemas") or {}
        items: dict[str, BatchItem] = {}
        for key, raw in doc["items"].items():
            req = raw["request"]
            request = ModelRequest(
                model=req["model"],
                prompt=req["prompt"],
                fixture=raw["fixture"],
                json_schema=schemas[req["schema"]] if req.get("schema") else None,
                system=req.get("system"),
                options=req.get("options") or {},
                attempt=int(req.get("attempt", 1)),
            )
            items[key] = BatchItem(
                raw["fixture"], int(raw["round"]), request, int(raw.get("resubmitted", 0)), raw.get("carry")
            )
        return cls(
            local_id=doc["id"],
            model=doc["model"],
            endpoint=doc["endpoint"],
            submitted_at=_parse_stamp(doc["submitted_at"]),
            creating_at=_parse_stamp(doc["creating_at"]) if doc.get("creating_at") else None,
            status=doc["status"],
            batch_id=doc.get("batch_id"),
            input_file_id=doc.get("input_file_id"),
            items=items,
            ended=doc.get("ended"),
            errors=list(doc.get("errors") or []),
        )
