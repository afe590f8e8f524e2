"""Reading a fixture's provenance record, interrupted writes included.

The build writes a data file and its record as a small roll-forward transaction
(``hotdata.make``'s commit stage): the new record is parked as
``<name>.meta.json.pending``, the data renamed into place, then the record. A
crash between the two renames leaves new data beside a pending record that
matches it; readers use that record, and the next build finishes the rename.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

from ._provenance import Provenance, parse_provenance, read_provenance

__all__ = ["PENDING_SUFFIX", "read_record"]

PENDING_SUFFIX = ".pending"


def read_record(
    data_path: Path, meta_path: Path, data_sha: str | None, *, pending: bool | None = None
) -> Provenance | None:
    """The record that describes the current data file.

    Prefers a pending record that matches the data (a write interrupted between
    its two renames), else the committed record. ``pending=False`` says the caller
    already knows there is no pending record (it listed the directory).
    """
    if data_sha is not None and pending is not False:
        pending_path = meta_path.with_name(meta_path.name + PENDING_SUFFIX)
        try:
            raw = pending_path.read_bytes()
        except OSError:
            pass
        else:
            with contextlib.suppress(Exception):
                candidate = parse_provenance(pending_path, raw)
                if candidate.data_sha256 == data_sha:
                    return candidate
    return read_provenance(meta_path)
