"""``Candidate``: what the generation stage hands the commit stage.

Validated canonical bytes plus the provenance record that describes them,
written nowhere yet: the commit stage decides whether and where they land.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from .._errors import SchemaError
from .._provenance import FailedAttempt, Provenance, Usage, sha256_hex
from .._schema import SchemaAdapter, canonical_json
from .._version import __version__

__all__ = ["Candidate", "InvalidValue", "encode_value", "make_candidate"]


class InvalidValue(ValueError):
    """A generated value that cannot become a fixture; the message says why."""


@dataclass(frozen=True)
class Candidate:
    """A generated fixture that passed validation, not yet written."""

    name: str
    data_path: Path
    meta_path: Path
    data: bytes
    record: Provenance
    spent: Usage = field(default_factory=Usage)  # paid in this run (the record counts replays too)


def encode_value(adapter: SchemaAdapter[Any], value: Any) -> bytes:
    """The canonical JSON bytes of ``value``, validated as written.

    Raises ``InvalidValue`` when the value is not of the schema, holds what JSON
    cannot (NaN, infinity, a lone surrogate), or does not validate once written out.
    """
    try:
        data = canonical_json(adapter.to_data(value))
    except SchemaError as exc:
        raise InvalidValue(str(exc)) from None
    except UnicodeEncodeError as exc:  # a lone surrogate in a string (before ValueError: a subclass)
        raise InvalidValue(
            f"text that is not valid Unicode ({exc.reason}: {exc.object[exc.start : exc.end]!r})"
        ) from None
    except ValueError as exc:
        raise InvalidValue(f"a value JSON cannot hold ({exc})") from None
    errors = adapter.errors_for(data)
    if errors:
        raise InvalidValue(f"a value that does not validate against {adapter.label}: {'; '.join(errors[:3])}")
    return data


def make_candidate(
    name: str,
    data_path: Path,
    meta_path: Path,
    adapter: SchemaAdapter[Any],
    value: Any,
    *,
    generated_at: datetime,
    ttl: timedelta | None = None,
    fingerprint: dict[str, Any] | None = None,
    generator: str | None = None,
    model: str | None = None,
    model_options: dict[str, Any] | None = None,
    attempts: int = 0,
    usage: Usage | None = None,
    usage_per_attempt: list[Usage] | None = None,
    failed_attempts: list[FailedAttempt] | None = None,
    quality: str | None = None,
    reason: str | None = None,
    answers: list[str] | None = None,
    answer_digests: dict[str, str] | None = None,
    replayed: int = 0,
    spent: Usage | None = None,
) -> Candidate:
    """Serialize ``value`` canonically (``encode_value``) and describe the bytes in a record."""
    data = encode_value(adapter, value)
    record = Provenance(
        name=name,
        schema_name=adapter.name,
        schema_hash=adapter.schema_hash(),
        data_sha256=sha256_hex(data),
        generated_at=generated_at,
        ttl_seconds=None if ttl is None else ttl.total_seconds(),
        fingerprint=fingerprint,
        generator=generator,
        model=model,
        model_options=model_options or {},
        attempts=attempts,
        usage=usage or Usage(),
        usage_per_attempt=usage_per_attempt or [],
        failed_attempts=failed_attempts or [],
        quality=quality,
        reason=reason,
        answers=answers or [],
        answer_digests=dict(answer_digests or {}),
        replayed=replayed,
        hotdata_version=__version__,
    )
    return Candidate(name, data_path, meta_path, data, record, spent or Usage())
