"""``write_fixture``: put a value on disk as a build would, for tests and benchmarks."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from .._freshness import utcnow
from .._hotdata import HotData
from .._provenance import Provenance, sha256_hex
from .._version import __version__

__all__ = ["write_fixture"]


def write_fixture(
    handle: HotData[Any], value: Any, *, generated_at: datetime | None = None, ttl: timedelta | None = None
) -> Provenance:
    """Write ``value`` as ``handle``'s data file and provenance record, crash-safely.

    The same bytes and record a build writes (without a fingerprint: a build's
    classifier will call it stale, the runtime's fresh). Raises ``ValueError``
    when the value does not validate against the handle's schema.
    """
    from ..make.commit import write_pair
    from ..make.generate import encode_value

    data = encode_value(handle.adapter, value)
    record = Provenance(
        name=handle.name,
        schema_name=handle.adapter.name,
        schema_hash=handle.adapter.schema_hash(),
        data_sha256=sha256_hex(data),
        generated_at=generated_at or utcnow(),
        ttl_seconds=None if ttl is None else ttl.total_seconds(),
        hotdata_version=__version__,
    )
    write_pair(handle.path, handle.meta_path, data, record.to_bytes(), record.data_sha256)
    return record
