"""A local index of verified fixtures, so an unchanged tree is decided by ``stat`` calls.

In the spirit of git's index: for each fixture last found fresh, the ``stat`` of its
data file and record (mtime, ctime, size, inode, device) and a digest of every input
the build's checks compare. A later ``doit fixtures`` trusts a fixture as fresh
without reading, hashing or validating anything when all of these still match — and
re-verifies it in full when any differs. The ctime is part of the key, so even an
edit that keeps the size and restores the mtime (``touch -r``) is seen; entries are
only written for files whose ctime is a few seconds older than the verification, so
an edit in the same instant as a verification is never mistaken for the verified
file ("racy" files, as git calls them).

Local state in ``.hotdata/index.json``: never committed, never shared between
machines (inode numbers mean nothing elsewhere); a fresh clone has none and verifies
everything once. Like any file it may be damaged or hand-edited: an entry of the wrong
shape is dropped (that fixture is verified in full), and the index never decides what
only the committed record may: when a ttl expires is read from the record itself.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .._files import ensure_state_dir, write_atomic

__all__ = ["FreshIndex", "IndexEntry", "file_key", "inputs_digest"]

INDEX_FORMAT = 2  # 2: no expiry kept (the ttl is counted from the record)
# Files changed this close to a verification are not trusted on their stat alone.
_RACY_NS = 3_000_000_000

FileKey = tuple[int, int, int, int, int]


def file_key(path: str | os.PathLike[str]) -> FileKey | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_ctime_ns, st.st_size, st.st_ino, st.st_dev)


@dataclass(frozen=True)
class IndexEntry:
    data: FileKey
    meta: FileKey
    digest: str  # of the inputs, as the checks saw them
    generated_at: str  # for the catalog document
    model: str
    templates: tuple[str, ...]  # the record's template closure and other schemas: what the digest covers
    schemas_used: tuple[str, ...]
    samplers: tuple[str, ...] = ()  # the libraries ctx.sample drew from (their versions are in the digest)


def _file_key(raw: Any) -> FileKey | None:
    if isinstance(raw, list) and len(raw) == 5 and all(type(n) is int for n in raw):
        return (raw[0], raw[1], raw[2], raw[3], raw[4])
    return None


def _strings(raw: Any) -> tuple[str, ...] | None:
    if isinstance(raw, list) and all(isinstance(s, str) for s in raw):
        return tuple(raw)
    return None


def _entry(raw: Any) -> IndexEntry | None:
    """One entry as written by ``save``; None for anything else (it is verified in full)."""
    if not isinstance(raw, dict):
        return None
    data, meta = _file_key(raw.get("data")), _file_key(raw.get("meta"))
    templates, schemas_used = _strings(raw.get("templates")), _strings(raw.get("schemas_used"))
    samplers = _strings(raw.get("samplers", []))  # entries from before ctx.sample have none
    texts = [raw.get(k) for k in ("digest", "generated_at", "model")]
    if data is None or meta is None or templates is None or schemas_used is None or samplers is None:
        return None
    if not all(isinstance(t, str) and len(t) <= 200 for t in texts):
        return None
    return IndexEntry(
        data, meta, str(texts[0]), str(texts[1]), str(texts[2]), templates, schemas_used, samplers
    )


def inputs_digest(parts: Any) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


class FreshIndex:
    def __init__(self, state_dir: Path, *, clock_ns: Callable[[], int] = time.time_ns) -> None:
        self.path = state_dir / "index.json"
        self.state_dir = state_dir
        self.clock_ns = clock_ns
        self._entries: dict[str, IndexEntry] | None = None
        self._changed = False

    def entries(self) -> dict[str, IndexEntry]:
        if self._entries is None:
            self._entries = {}
            try:
                doc = json.loads(self.path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                doc = None  # none yet, or damaged local state: everything is verified again
            if (
                isinstance(doc, dict)
                and doc.get("format") == INDEX_FORMAT
                and isinstance(doc.get("entries"), dict)
            ):
                for name, raw in doc["entries"].items():
                    entry = _entry(raw)
                    if isinstance(name, str) and entry is not None:
                        self._entries[name] = entry
        return self._entries

    def get(self, name: str) -> IndexEntry | None:
        return self.entries().get(name)

    def fresh(
        self, name: str, data: str | os.PathLike[str], meta: str | os.PathLike[str], current: str
    ) -> IndexEntry | None:
        """The entry when ``name`` is still exactly as verified, else None."""
        entry = self.entries().get(name)
        if entry is None or entry.digest != current:
            return None
        if file_key(data) != entry.data or file_key(meta) != entry.meta:
            return None
        return entry

    def remember(self, name: str, data: Path, meta: Path, entry_without_keys: IndexEntry) -> None:
        keys = file_key(data), file_key(meta)
        if keys[0] is None or keys[1] is None:
            return
        if self.clock_ns() - max(keys[0][1], keys[1][1]) < _RACY_NS:
            self.forget(name)  # too fresh to be trusted on its stat alone: verified again next time
            return
        entry = dataclasses.replace(entry_without_keys, data=keys[0], meta=keys[1])
        if self.entries().get(name) != entry:
            self.entries()[name] = entry
            self._changed = True

    def forget(self, name: str) -> None:
        if self.entries().pop(name, None) is not None:
            self._changed = True

    def save(self) -> None:
        if not self._changed or self._entries is None:
            return
        ensure_state_dir(self.state_dir)
        doc = {
            "format": INDEX_FORMAT,
            "entries": {
                name: {
                    "data": list(e.data),
                    "meta": list(e.meta),
                    "digest": e.digest,
                    "generated_at": e.generated_at,
                    "model": e.model,
                    "templates": list(e.templates),
                    "schemas_used": list(e.schemas_used),
                    **({"samplers": list(e.samplers)} if e.samplers else {}),
                }
                for name, e in sorted(self._entries.items())
            },
        }
        write_atomic(self.path, json.dumps(doc, separators=(",", ":")).encode("utf-8"))
        self._changed = False
