"""Crash-safe writing of a data file together with its provenance record.

Two files cannot be replaced in one atomic step, so a write is a small
roll-forward transaction:

1. write ``<name>.json`` and ``<name>.meta.json`` to temporary files in the same
   directory and fsync them; the new record is kept as ``<name>.meta.json.pending``;
2. rename the data temp file over ``<name>.json``;
3. rename the pending record over ``<name>.meta.json``; fsync the directory.

A crash before 2 leaves the old pair and a pending record that does not match the
data (ignored and removed on the next write). A crash between 2 and 3 leaves the
new data and a pending record that matches it: readers use it, and the next
writer finishes the rename. At every moment the data file is a complete old or
new version.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from ._provenance import Provenance, parse_provenance, read_provenance, sha256_hex

__all__ = ["PENDING_SUFFIX", "read_record", "recover_pending", "write_atomic", "write_fixture_files"]

PENDING_SUFFIX = ".pending"


def _default_mode() -> int:
    umask = os.umask(0o022)  # read the umask (the only way) and put it back at once
    os.umask(umask)
    return 0o666 & ~umask


_FILE_MODE = _default_mode()


def _fsync_dir(directory: Path) -> None:
    with contextlib.suppress(OSError):  # not every filesystem allows it
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _write_temp(directory: Path, stem: str, payload: bytes) -> Path:
    fd, tmp = tempfile.mkstemp(prefix=f".{stem}.", suffix=".tmp", dir=directory)
    try:
        # mkstemp makes 0600 files; fixtures are ordinary readable files
        with contextlib.suppress(OSError):
            os.fchmod(fd, _FILE_MODE)
        with os.fdopen(fd, "wb") as fh:
            fh.write(payload)
            fh.flush()
            os.fsync(fh.fileno())
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return Path(tmp)


def write_atomic(path: Path, payload: bytes) -> None:
    """Replace ``path`` with ``payload`` so readers see the old or new file, never a mix."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _write_temp(path.parent, path.name, payload)
    try:
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_dir(path.parent)


def write_fixture_files(data_path: Path, meta_path: Path, data: bytes, record: Provenance) -> None:
    """Write the data file and its record as one roll-forward transaction."""
    data_path.parent.mkdir(parents=True, exist_ok=True)
    pending = meta_path.with_name(meta_path.name + PENDING_SUFFIX)
    data_tmp = _write_temp(data_path.parent, data_path.name, data)
    try:
        meta_tmp = _write_temp(meta_path.parent, meta_path.name, record.to_bytes())
        try:
            os.replace(meta_tmp, pending)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(meta_tmp)
            raise
        os.replace(data_tmp, data_path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(data_tmp)
        with contextlib.suppress(OSError):
            if not data_path.exists() or sha256_hex(data_path.read_bytes()) != record.data_sha256:
                os.unlink(pending)
        raise
    os.replace(pending, meta_path)
    _fsync_dir(data_path.parent)


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


def recover_pending(data_path: Path, meta_path: Path) -> bool:
    """Finish or discard an interrupted write; True when a pending record was committed."""
    pending = meta_path.with_name(meta_path.name + PENDING_SUFFIX)
    if not pending.exists():
        return False
    try:
        record = parse_provenance(pending, pending.read_bytes())
        current = sha256_hex(data_path.read_bytes())
    except Exception:
        record, current = None, None
    if record is not None and record.data_sha256 == current:
        os.replace(pending, meta_path)
        _fsync_dir(meta_path.parent)
        return True
    with contextlib.suppress(OSError):
        os.unlink(pending)
    return False
