"""``write_fixture``: put a value on disk as a build would, for tests and benchmarks."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from .._freshness import utcnow
from .._hotdata import HotData
from .._provenance import Provenance

__all__ = ["write_fixture"]


def write_fixture(
    handle: HotData[Any], value: Any, *, generated_at: datetime | None = None, ttl: timedelta | None = None
) -> Provenance:
    """Write ``value`` as ``handle``'s data file and provenance record, crash-safely.

    The same bytes and record a build writes (without a fingerprint: a build's
    classifier will call it stale, the runtime's fresh). Raises ``ValueError``
    when the value does not validate against the handle's schema.
    """
    from ..make._candidate import make_candidate
    from ..make.commit._writer import write_candidate

    candidate = make_candidate(
        handle.name,
        handle.path,
        handle.meta_path,
        handle.adapter,
        value,
        generated_at=generated_at or utcnow(),
        ttl=ttl,
    )
    write_candidate(candidate)
    return candidate.record
