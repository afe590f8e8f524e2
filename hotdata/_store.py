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

from ._errors import ProvenanceError
from ._provenance import Provenance, parse_provenance, read_provenance, sha256_hex

__all__ = ["PENDING_SUFFIX", "STAGED_SUFFIX", "read_record", "read_staged", "staged_paths"]

PENDING_SUFFIX = ".pending"
# A rebuilt fixture awaiting review: NAME.json.new and NAME.meta.json.new beside the committed pair.
STAGED_SUFFIX = ".new"


def staged_paths(data_path: Path, meta_path: Path) -> tuple[Path, Path]:
    return data_path.with_name(data_path.name + STAGED_SUFFIX), meta_path.with_name(
        meta_path.name + STAGED_SUFFIX
    )


def read_staged(data_path: Path, meta_path: Path) -> tuple[bytes, Provenance] | None:
    """The staged pair's data and record, or None when there is no complete staged pair.

    The record is written last, so a pair is complete when it exists, reads, and
    describes the staged data's sha256.
    """
    staged_data, staged_meta = staged_paths(data_path, meta_path)
    try:
        meta_raw = staged_meta.read_bytes()
        raw = staged_data.read_bytes()
        record = parse_provenance(staged_meta, meta_raw)
    except (OSError, ProvenanceError):
        return None
    return (raw, record) if record.data_sha256 == sha256_hex(raw) else None


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
