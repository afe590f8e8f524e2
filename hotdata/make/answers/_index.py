"""Which fixture each recorded answer belongs to, without reading the whole store per question.

A ``replay = only`` miss names what differs from the closest recorded request of its
fixture; ``doit prune`` keeps the answers of a fixture whose record cannot be read.
Both need the answers of one fixture, and the fixture is written inside each file:
read naively, that is every file of the store on every miss (20,000 answers: over a
second each). The index maps each file to its fixture; it is built once per run from
one listing of the store, and kept between runs in local state
(``.hotdata/answers-index.json``), where an entry counts only while its file's size
and modification time are unchanged. It only ever decides which files to read: the
files themselves are read and checked as always.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
from collections.abc import Callable
from pathlib import Path

from .._files import ensure_state_dir, write_atomic

__all__ = ["AnswerIndex"]

_FORMAT = 1


class AnswerIndex:
    """Answer file (relative to the store) -> the fixture it was recorded for.

    Args:
        directory: the store, ``fixtures/.answers``.
        cache: where the index is kept between runs (None: rebuilt in every process).
        fixture_in: reads the fixture out of one answer file (None when unreadable).
    """

    def __init__(self, directory: Path, cache: Path | None, fixture_in: Callable[[Path], str | None]) -> None:
        self.directory = directory
        self.cache = cache
        self._fixture_in = fixture_in
        self._lock = threading.Lock()
        self._entries: dict[str, str | None] | None = None  # relative path -> fixture
        self._by_fixture: dict[str | None, set[str]] = {}

    def _load_cache(self) -> dict[str, tuple[int, int, str | None]]:
        if self.cache is None:
            return {}
        try:
            doc = json.loads(self.cache.read_bytes())
            if doc.get("format") != _FORMAT:
                return {}
            return {
                str(rel): (int(entry[0]), int(entry[1]), None if entry[2] is None else str(entry[2]))
                for rel, entry in doc["entries"].items()
            }
        except (OSError, ValueError, KeyError, TypeError, IndexError, AttributeError):
            return {}  # none yet, or unreadable local state: rebuilt from the files

    def _save_cache(self, stats: dict[str, tuple[int, int, str | None]]) -> None:
        if self.cache is None:
            return
        doc = {"format": _FORMAT, "entries": {rel: list(entry) for rel, entry in sorted(stats.items())}}
        with contextlib.suppress(OSError):  # local state: failing to keep it costs only time
            ensure_state_dir(self.cache.parent)
            write_atomic(self.cache, json.dumps(doc, separators=(",", ":")).encode("utf-8"))

    def _build(self) -> dict[str, str | None]:
        cached = self._load_cache()
        stats: dict[str, tuple[int, int, str | None]] = {}
        changed = False
        if self.directory.is_dir():
            with os.scandir(self.directory) as shards:
                for shard in shards:
                    if len(shard.name) != 2 or not shard.is_dir():
                        continue
                    with os.scandir(shard.path) as entries:
                        for entry in entries:
                            if entry.name.startswith(".") or ".json" not in entry.name:
                                continue
                            rel = f"{shard.name}/{entry.name}"
                            try:
                                st = entry.stat()
                            except OSError:
                                continue
                            known = cached.get(rel)
                            if known is not None and known[:2] == (st.st_size, st.st_mtime_ns):
                                stats[rel] = known
                                continue
                            stats[rel] = (st.st_size, st.st_mtime_ns, self._fixture_in(Path(entry.path)))
                            changed = True
        if changed or len(stats) != len(cached):
            self._save_cache(stats)
        return {rel: entry[2] for rel, entry in stats.items()}

    def _ensure(self) -> dict[str, str | None]:
        # called holding the lock
        if self._entries is None:
            self._entries = self._build()
            self._by_fixture = {}
            for rel, fixture in self._entries.items():
                self._by_fixture.setdefault(fixture, set()).add(rel)
        return self._entries

    def fixtures(self) -> dict[Path, str | None]:
        """Every answer file and its fixture (None: unreadable), from the index of this run."""
        with self._lock:
            return {self.directory / rel: fixture for rel, fixture in self._ensure().items()}

    def files_of(self, fixture: str) -> list[Path]:
        """The answer files recorded for ``fixture``."""
        with self._lock:
            self._ensure()
            return [self.directory / rel for rel in sorted(self._by_fixture.get(fixture, ()))]

    def note(self, path: Path, fixture: str) -> None:
        """This run recorded ``path`` for ``fixture`` (kept in memory; the next run re-stats it)."""
        with self._lock:
            if self._entries is None:
                return
            with contextlib.suppress(ValueError):
                rel = path.relative_to(self.directory).as_posix()
                old = self._entries.get(rel)
                if old != fixture:
                    self._by_fixture.get(old, set()).discard(rel)
                self._entries[rel] = fixture
                self._by_fixture.setdefault(fixture, set()).add(rel)
