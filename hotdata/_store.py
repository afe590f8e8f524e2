"""Reading a fixture's files as the build left them, interrupted writes included.

The build writes a data file and its record as a small roll-forward transaction
(``hotdata.make``'s commit stage): the new record is parked as
``<name>.meta.json.pending``, the data renamed into place, then the record. A
crash between the two renames leaves new data beside a pending record that
matches it; readers use that record, and the next build finishes the rename.

A change awaiting review is staged as ``<name>.json.new`` + ``<name>.meta.json.new``
(data first, record last). Accepting it parks the staged record as the pending
record, renames the staged data over the data file, the pending record over the
record, and removes the staged record last. Staged files are committed, merged and
hand-edited like any other file, so they are checked before anything trusts them:
``inspect_staged`` says whether a staged pair is reviewable, edited by hand (a
reviewer fixed a typo), broken (and why), or only the trace of an interrupted write.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ._errors import ProvenanceError
from ._provenance import Provenance, parse_provenance, read_provenance, sha256_hex

__all__ = [
    "PENDING_SUFFIX",
    "STAGED_SUFFIX",
    "StagedPair",
    "inspect_staged",
    "read_record",
    "same_generation",
    "staged_paths",
]

PENDING_SUFFIX = ".pending"
# A rebuilt fixture awaiting review: NAME.json.new and NAME.meta.json.new beside the committed pair.
STAGED_SUFFIX = ".new"


def staged_paths(data_path: Path, meta_path: Path) -> tuple[Path, Path]:
    return data_path.with_name(data_path.name + STAGED_SUFFIX), meta_path.with_name(
        meta_path.name + STAGED_SUFFIX
    )


def same_generation(a: Provenance, b: Provenance) -> bool:
    """Whether two records describe one generation (accepting may amend only its ``reason``)."""
    return a.name == b.name and a.generated_at == b.generated_at and a.data_sha256 == b.data_sha256


@dataclass(frozen=True)
class StagedPair:
    """The staged files beside one fixture, as found on disk.

    ``problem`` says why the pair is broken (it cannot be shown or accepted, only fixed by
    hand or rejected); ``raw`` and ``record`` are set whenever they could be read.
    ``identity`` digests both files' bytes: what a reviewer saw, so a decision applies to
    exactly that pair and never to one staged after it.
    """

    data_path: Path  # NAME.json.new
    meta_path: Path  # NAME.meta.json.new
    raw: bytes | None
    record: Provenance | None
    identity: str
    problem: str | None = None
    value: Any = None  # the staged data, parsed (None when broken)

    @property
    def broken(self) -> bool:
        return self.problem is not None

    @property
    def edited(self) -> bool:
        """The staged data was changed by hand after it was staged (its record describes other bytes)."""
        return (
            self.problem is None
            and self.raw is not None
            and self.record is not None
            and self.record.data_sha256 != sha256_hex(self.raw)
        )


def _read_regular(path: Path) -> tuple[bool, bytes | None, str | None]:
    """``(exists, bytes, problem)`` of a file that must be a regular file (never followed if a link)."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return False, None, None
    except OSError as exc:
        return True, None, f"{path.name} cannot be read ({exc.strerror})"
    if stat.S_ISLNK(st.st_mode):
        return True, None, f"{path.name} is a symbolic link, not a staged file"
    if stat.S_ISDIR(st.st_mode):
        return True, None, f"{path.name} is a directory, not a staged file"
    if not stat.S_ISREG(st.st_mode):
        return True, None, f"{path.name} is not a regular file"
    try:
        return True, path.read_bytes(), None
    except OSError as exc:
        return True, None, f"{path.name} cannot be read ({exc.strerror})"


def _json_problem(path: Path, raw: bytes) -> tuple[Any, str | None]:
    try:
        return json.loads(raw), None
    except UnicodeDecodeError as exc:
        return None, f"{path.name} is not valid UTF-8 ({exc.reason} at byte {exc.start})"
    except json.JSONDecodeError as exc:
        return None, f"{path.name} is not JSON ({exc.msg} at line {exc.lineno} column {exc.colno})"
    except RecursionError:
        return None, f"{path.name} is not usable JSON (nested too deeply)"


def _quiet_record(path: Path) -> Provenance | None:
    with contextlib.suppress(ProvenanceError):
        return read_provenance(path)
    return None


def _identity(meta_raw: bytes | None, raw: bytes | None, problems: str) -> str:
    digest = hashlib.sha256()
    for part in (meta_raw, raw):
        digest.update(b"-" if part is None else b"+" + hashlib.sha256(part).digest())
    digest.update(problems.encode())
    return digest.hexdigest()


def _accept_in_flight(meta_path: Path, staged: Provenance) -> bool:
    """Whether an accept of this staged record got past renaming its data (the record is all
    that is left of the staged pair, and the fixture's own pending or committed record is it)."""
    pending = meta_path.with_name(meta_path.name + PENDING_SUFFIX)
    for candidate in (_quiet_record(pending), _quiet_record(meta_path)):
        if candidate is not None and same_generation(candidate, staged):
            return True
    return False


def inspect_staged(data_path: Path, meta_path: Path) -> StagedPair | None:
    """The staged pair beside fixture files ``data_path`` / ``meta_path``, checked.

    None when nothing is staged, or only what an interrupted write leaves and the next
    build or decision finishes: staged data without its record (staging or rejecting was
    stopped; the record is written last and removed first), or a staged record whose
    accept already moved its data into place.
    """
    data_new, meta_new = staged_paths(data_path, meta_path)
    meta_there, meta_raw, meta_problem = _read_regular(meta_new)
    data_there, raw, data_problem = _read_regular(data_new)
    if not meta_there and (not data_there or data_problem is None):
        return None
    record: Provenance | None = None
    record_problem: str | None = None
    if meta_raw is not None:
        try:
            record = parse_provenance(meta_new, meta_raw)
        except ProvenanceError as exc:
            record_problem = f"{meta_new.name} cannot be read: {exc.why}"
    if not data_there and record is not None and _accept_in_flight(meta_path, record):
        return None
    value: Any = None
    json_problem: str | None = None
    if raw is not None:
        value, json_problem = _json_problem(data_new, raw)
    if not meta_there:
        problem: str | None = data_problem
    elif not data_there:
        problem = (
            meta_problem
            or record_problem
            or f"{data_new.name} is missing (its record {meta_new.name} is there)"
        )
    else:
        problem = meta_problem or record_problem or data_problem or json_problem
    identity = _identity(meta_raw, raw, problem or "")
    return StagedPair(data_new, meta_new, raw, record, identity, problem, None if problem else value)


def read_record(
    data_path: Path, meta_path: Path, data_sha: str | None, *, pending: bool | None = None
) -> Provenance | None:
    """The record that describes the current data file.

    Prefers a pending record that matches the data (a write interrupted between
    its two renames), else the committed record. ``pending=False`` says the caller
    already knows there is no pending record (it listed the directory).

    An accept of data edited in review parks a record that does not match its data (that
    is what marks a hand edit); it is the fixture's record once the staged data was moved
    into place, which the staged record left without its data says.
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
                if candidate.data_sha256 == data_sha or _edited_accept_in_flight(
                    data_path, meta_path, candidate
                ):
                    return candidate
    return read_provenance(meta_path)


def _edited_accept_in_flight(data_path: Path, meta_path: Path, pending: Provenance) -> bool:
    data_new, meta_new = staged_paths(data_path, meta_path)
    if os.path.lexists(data_new):
        return False  # the staged data has not moved: the committed record still holds
    staged = _quiet_record(meta_new)
    return staged is not None and same_generation(staged, pending)
