"""Stage 3, commit: the only code that writes under the fixtures directory.

A data file and its provenance record are replaced as one roll-forward
transaction, so a crash (kill -9 included) at any moment leaves either the old
pair or the new one, never a mix:

1. write ``<name>.json`` and ``<name>.meta.json`` to temporary files in the same
   directory and fsync them; the new record is parked as ``<name>.meta.json.pending``;
2. rename the data temp file over ``<name>.json``;
3. rename the pending record over ``<name>.meta.json``; fsync the directory.

A crash before 2 leaves the old pair and a pending record that does not match
the data (removed by ``recover``). A crash between 2 and 3 leaves the new data
and a pending record that matches it: readers already use it, and ``recover``
finishes the rename. Writes happen under the build lock (``.hotdata/lock`` in
the project, a directory that ignores itself in git), so two builds never write
at once; holding it, leftover temp files can only be a killed run's and are
removed.
"""

from __future__ import annotations

import contextlib
import errno
import os
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..._provenance import parse_provenance, read_provenance, sha256_hex
from ..._store import PENDING_SUFFIX, inspect_staged, same_generation, staged_paths
from .._candidate import Candidate
from .._errors import GenerationError
from .._files import ensure_state_dir, fsync_dir, write_atomic, write_temp

__all__ = ["Writer", "recover", "write_candidate", "write_pair"]


def write_pair(data_path: Path, meta_path: Path, data: bytes, record_bytes: bytes, data_sha: str) -> None:
    """Write a data file and its record as one roll-forward transaction (see the module docstring)."""
    data_path.parent.mkdir(parents=True, exist_ok=True)
    pending = meta_path.with_name(meta_path.name + PENDING_SUFFIX)
    data_tmp = write_temp(data_path.parent, data_path.name, data)
    try:
        meta_tmp = write_temp(meta_path.parent, meta_path.name, record_bytes)
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
            if not data_path.exists() or sha256_hex(data_path.read_bytes()) != data_sha:
                os.unlink(pending)
        raise
    os.replace(pending, meta_path)
    fsync_dir(data_path.parent)


def write_candidate(candidate: Candidate) -> None:
    """The candidate's data and record as a pair (the caller holds the build lock)."""
    record = candidate.record
    write_pair(
        candidate.data_path, candidate.meta_path, candidate.data, record.to_bytes(), record.data_sha256
    )


def _finish_staged(data_path: Path, meta_path: Path) -> bool:
    """Finish what a stopped stage, reject or accept left of a staged pair; True when an accept
    was finished. A broken pair is left as it is: it is reported, and ``doit reject`` removes it.

    Staging writes the data then the record, rejecting removes the record then the data, so
    staged data alone is an unfinished stage or reject: removed. Accepting moves the data
    into place and removes the staged record last, so a staged record alone, of the
    generation the fixture's pending or committed record holds, is an unfinished accept.
    """
    data_new, meta_new = staged_paths(data_path, meta_path)
    data_there, meta_there = os.path.lexists(data_new), os.path.lexists(meta_new)
    if not (data_there or meta_there) or inspect_staged(data_path, meta_path) is not None:
        return False
    if data_there:
        with contextlib.suppress(OSError):
            os.unlink(data_new)
        return False
    staged = read_provenance(meta_new)
    pending = meta_path.with_name(meta_path.name + PENDING_SUFFIX)
    finished = False
    with contextlib.suppress(Exception):
        parked = parse_provenance(pending, pending.read_bytes())
        if staged is not None and same_generation(parked, staged):
            os.replace(pending, meta_path)
            finished = True
    with contextlib.suppress(FileNotFoundError):
        os.unlink(meta_new)
    fsync_dir(meta_path.parent)
    return finished


def recover(data_path: Path, meta_path: Path) -> bool:
    """Finish or discard an interrupted write; True when a pending record was committed."""
    finished = _finish_staged(data_path, meta_path)
    pending = meta_path.with_name(meta_path.name + PENDING_SUFFIX)
    if not pending.exists():
        return finished
    try:
        record = parse_provenance(pending, pending.read_bytes())
        current = sha256_hex(data_path.read_bytes())
    except Exception:
        record, current = None, None
    if record is not None and record.data_sha256 == current:
        os.replace(pending, meta_path)
        fsync_dir(meta_path.parent)
        return True
    with contextlib.suppress(OSError):
        os.unlink(pending)
    return finished


def _remove_stray_temp_files(fixtures_dir: Path) -> list[Path]:
    removed = []
    if fixtures_dir.is_dir():
        for path in fixtures_dir.rglob(".*.tmp"):
            with contextlib.suppress(OSError):
                path.unlink()
                removed.append(path)
    return removed


@contextlib.contextmanager
def _write_errors(candidate: Candidate) -> Iterator[None]:
    """A failed write (full disk, a file-size limit, permissions) as one clear line."""
    try:
        yield
    except OSError as exc:
        where = exc.filename or candidate.data_path
        raise GenerationError(
            f"fixture {candidate.name}: cannot write {where} ({exc.strerror or exc}); the previous "
            "files are kept and nothing half-written remains"
        ) from None


class Writer:
    """Writes fixtures under ``fixtures_path``, holding the build lock in ``state_dir`` while it does."""

    def __init__(self, fixtures_path: Path, state_dir: Path, lock_timeout: float = 600.0) -> None:
        self.fixtures_path = fixtures_path
        self.state_dir = state_dir
        self.lock_timeout = lock_timeout
        self._lock: Any = None
        self._guard = threading.Lock()

    @property
    def lock_path(self) -> Path:
        return self.state_dir / "lock"

    def acquire(self) -> None:
        """Take the build lock (waiting for another build up to ``lock_timeout``), once."""
        with self._guard:
            if self._lock is not None:
                return
            import filelock

            try:
                self.fixtures_path.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise GenerationError(
                    f"cannot create the fixtures directory {self.fixtures_path} ({exc.strerror or exc}); "
                    "remove or rename what is in the way, or set fixtures_dir in [tool.hotdata]"
                ) from None
            ensure_state_dir(self.state_dir)
            lock = filelock.FileLock(str(self.lock_path))
            try:
                lock.acquire(timeout=0)
            except filelock.Timeout:
                print(
                    f"hotdata: another build holds {self.lock_path}; waiting up to {self.lock_timeout:.0f}s",
                    file=sys.stderr,
                    flush=True,
                )
                try:
                    lock.acquire(timeout=self.lock_timeout)
                except filelock.Timeout:
                    raise GenerationError(
                        f"another hotdata build still holds {self.lock_path} after {self.lock_timeout:.0f}s; "
                        "wait for it to finish (or raise lock_timeout in [tool.hotdata])"
                    ) from None
            except OSError as exc:  # after Timeout, which is an OSError too
                raise GenerationError(
                    f"cannot take the build lock {self.lock_path} ({exc.strerror or exc}); it is hotdata's "
                    "local state: remove or rename what is in its place"
                ) from None
            self._lock = lock
            # Holding the lock, no one else writes here: temp files are leftovers of a killed run.
            _remove_stray_temp_files(self.fixtures_path)

    def release(self) -> None:
        with self._guard:
            if self._lock is not None:
                with contextlib.suppress(Exception):
                    self._lock.release()
                self._lock = None

    def clean_if_idle(self) -> list[Path]:
        """Remove a killed build's temp files, only when no build holds the lock."""
        import filelock

        if not self.fixtures_path.is_dir():
            return []
        ensure_state_dir(self.state_dir)
        lock = filelock.FileLock(str(self.lock_path))
        try:
            lock.acquire(timeout=0)
        except filelock.Timeout:
            return []  # a build is running: its temp files are in use
        try:
            return _remove_stray_temp_files(self.fixtures_path)
        finally:
            lock.release()

    def check_writable(self, name: str, data_path: Path, meta_path: Path) -> None:
        """Fail now, before any model call is paid, when the fixture's files cannot be written."""
        for path in (data_path, meta_path, meta_path.with_name(meta_path.name + PENDING_SUFFIX)):
            if path.is_dir():
                raise GenerationError(
                    f"fixture {name}: {path} is a directory, so the fixture cannot be written there; "
                    "remove or rename it"
                )
        try:
            data_path.parent.mkdir(parents=True, exist_ok=True)
            fd, probe = tempfile.mkstemp(prefix=".write-probe.", suffix=".tmp", dir=data_path.parent)
            os.close(fd)
            os.unlink(probe)
        except OSError as exc:
            raise GenerationError(
                f"fixture {name}: cannot write in {data_path.parent} ({exc.strerror}); nothing was "
                "generated and no model call was made. Make the directory writable"
            ) from None

    def recover(self, data_path: Path, meta_path: Path) -> bool:
        self.acquire()
        return recover(data_path, meta_path)

    def commit(self, candidate: Candidate) -> None:
        """Replace the fixture's data and record with the candidate's, crash-safely."""
        self.acquire()
        with _write_errors(candidate):
            write_candidate(candidate)

    def stage(self, candidate: Candidate) -> None:
        """Write the candidate as a staged pair beside the committed one, which stays untouched.

        The data goes first and the record last: the record's presence marks a complete
        pair, so a crash leaves either the previous staged pair or the new one usable.
        """
        self.acquire()
        data_new, meta_new = staged_paths(candidate.data_path, candidate.meta_path)
        with _write_errors(candidate):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(meta_new)  # an older staged pair stops counting before its data is replaced
            write_atomic(data_new, candidate.data)
            write_atomic(meta_new, candidate.record.to_bytes())

    def accept(self, data_path: Path, meta_path: Path, identity: str, record: bytes) -> bool:
        """Replace the committed pair with the staged one, crash-safely, with ``record`` as its
        record (the staged one, or it amended); False when the staged pair is no longer the
        one identified by ``identity`` (gone, broken, or staged again since it was looked at).

        The record is parked as ``.pending`` (the staged record stays), the staged data
        renamed into place, then the pending record; the staged record goes last. Until the
        data rename a crash leaves the committed pair and the staged pair both intact; after
        it, recovery recognises the staged record left alone and finishes the accept.
        """
        self.acquire()
        pair = inspect_staged(data_path, meta_path)
        if pair is None or pair.broken or pair.identity != identity:
            return False
        data_new, meta_new = pair.data_path, pair.meta_path
        pending = meta_path.with_name(meta_path.name + PENDING_SUFFIX)
        try:
            write_atomic(pending, record)
            os.replace(data_new, data_path)
        except BaseException:
            if os.path.lexists(data_new):  # the data never moved: the committed pair stands
                with contextlib.suppress(OSError):
                    os.unlink(pending)
            raise
        os.replace(pending, meta_path)
        fsync_dir(data_path.parent)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(meta_new)
        fsync_dir(data_path.parent)
        return True

    def reject(self, data_path: Path, meta_path: Path, identity: str) -> bool:
        """Delete the staged pair (record first: it is what makes a pair count); False when it is
        no longer the one identified by ``identity``."""
        self.acquire()
        pair = inspect_staged(data_path, meta_path)
        if pair is None or pair.identity != identity:
            return False
        for path in (pair.meta_path, pair.data_path):
            if os.path.isdir(path) and not os.path.islink(path):
                raise OSError(
                    errno.EISDIR, "a directory, not a file hotdata staged; remove it yourself", path
                )
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)
        fsync_dir(data_path.parent)
        return True

    def write_answer(self, path: Path, payload: bytes) -> None:
        """Record a model answer in the store (content-addressed: the same key, the same request)."""
        try:
            write_atomic(path, payload)
        except OSError as exc:
            raise GenerationError(
                f"cannot record the model's answer in {path} ({exc.strerror or exc}); nothing was written"
            ) from None

    def write_document(self, path: Path, payload: bytes) -> bool:
        """Write a document such as ``fixtures/README.md`` when its content changed."""
        try:
            if path.read_bytes() == payload:
                return False
        except OSError:
            pass
        write_atomic(path, payload)
        return True
