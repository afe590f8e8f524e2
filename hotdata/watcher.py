"""``HotDataWatcher``: fixtures reloaded live while an app runs (dev mode).

Imported only when used (it needs watchfiles); ``import hotdata`` stays light.

    watcher = HotDataWatcher("fixtures")

    @watcher.on_change("agent_snapshots/cockpit_demo")
    def show(snapshot: AgentSnapshot) -> None:
        screen.update(snapshot)

    watcher.start()   # a background thread; or `async for name in watcher.watch(): ...`
    ...
    watcher.stop()

A callback only ever receives a freshly loaded, validated value. An invalid or
half-written file keeps the last good value and emits a ``HotDataWarning`` naming
the file; the next valid write goes through. Temporary files, pending files and
provenance-only changes are ignored. ``start()`` returns once the watch is armed.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import warnings
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import watchfiles

from ._errors import FixtureInvalidError, FixtureMissingError, HotDataError, HotDataWarning
from ._names import DATA_SUFFIX, META_SUFFIX
from ._registry import HotDataRegistry, registry

__all__ = ["HotDataWatcher"]

logger = logging.getLogger("hotdata.watcher")

Callback = Callable[[Any], None]


class HotDataWatcher:
    """Watch ``fixtures_dir`` and reload registered fixtures when their data files change.

    Args:
        fixtures_dir: the root the registry's fixture names are relative to.
        registry: where handles are looked up by name (default: ``hotdata.registry``).
        debounce: most milliseconds to gather a burst of writes into one batch.
        step: milliseconds of quiet after a change before the batch is delivered.
        poll: milliseconds between checks that the fixtures directory is still the
            one being watched (deleted, recreated or renamed over: the watch re-arms).
    """

    def __init__(
        self,
        fixtures_dir: str | os.PathLike[str],
        registry: HotDataRegistry = registry,
        *,
        debounce: int = 100,
        step: int = 10,
        poll: int = 100,
    ) -> None:
        self.root = Path(fixtures_dir)
        self.registry = registry
        self.debounce = debounce
        self.step = step
        self.poll = poll
        self._callbacks: dict[str, list[Callback]] = {}
        self._invalid_callbacks: list[Callable[[str, Exception], None]] = []
        self._thread: threading.Thread | None = None
        self._halt: threading.Event | None = None
        self._armed = threading.Event()
        self.last_good: dict[str, Any] = {}

    def on_change(self, name: str, callback: Callback | None = None) -> Any:
        """Call ``callback(value)`` with each new valid value of fixture ``name``.

        Usable as a decorator: ``@watcher.on_change("agents/a")``.
        """
        if callback is not None:
            self._callbacks.setdefault(name, []).append(callback)
            return callback

        def decorate(fn: Callback) -> Callback:
            self._callbacks.setdefault(name, []).append(fn)
            return fn

        return decorate

    def on_invalid(self, callback: Callable[[str, Exception], None]) -> Callable[[str, Exception], None]:
        """Call ``callback(name, error)`` when a changed file does not validate (the last good
        value stays); usable as a decorator. A ``HotDataWarning`` is emitted as well."""
        self._invalid_callbacks.append(callback)
        return callback

    # -- which files matter ----------------------------------------------------------

    def _name_for(self, path: str) -> str | None:
        file = Path(path)
        base = file.name
        if base.startswith(".") or not base.endswith(DATA_SUFFIX) or base.endswith(META_SUFFIX):
            return None  # temp files, provenance records, pending records
        try:
            rel = file.relative_to(self.root)
        except ValueError:
            try:
                rel = Path(os.path.realpath(file)).relative_to(os.path.realpath(self.root))
            except ValueError:
                return None
        return rel.as_posix()[: -len(DATA_SUFFIX)]

    def _filter(self, change: watchfiles.Change, path: str) -> bool:
        return change != watchfiles.Change.deleted and self._name_for(path) is not None

    def _reload(self, name: str) -> bool:
        if name not in self.registry:
            return False
        handle = self.registry.get(name)
        try:
            value = handle.load()
        except FixtureMissingError:
            return False
        except FixtureInvalidError as exc:
            try:
                warnings.warn(f"kept the last good value of {name}: {exc}", HotDataWarning, stacklevel=2)
            except HotDataWarning:  # warnings configured as errors must not end the watcher
                logger.warning("kept the last good value of %s: %s", name, exc)
            for on_invalid in self._invalid_callbacks:
                try:
                    on_invalid(name, exc)
                except Exception:
                    logger.exception("invalid-file callback for %s failed", name)
            return False
        self.last_good[name] = value
        for callback in self._callbacks.get(name, []):
            try:
                callback(value)
            except Exception:  # one broken callback must not stop the watcher
                logger.exception("callback for %s failed", name)
        return True

    # -- running ------------------------------------------------------------------------

    def _key(self, name: str) -> tuple[int, int, int] | None:
        try:
            st = os.stat(self.registry.get(name).path)
        except (OSError, HotDataError):
            return None
        return (st.st_mtime_ns, st.st_size, st.st_ino)

    def _root_identity(self) -> tuple[int, int] | None:
        try:
            st = os.stat(self.root)
        except OSError:
            return None
        return (st.st_dev, st.st_ino)

    def _watch_options(self) -> dict[str, Any]:
        return {
            "watch_filter": self._filter,
            "debounce": self.debounce,
            "step": self.step,
            "rust_timeout": self.poll,
            "yield_on_timeout": True,  # a regular beat: the watch is armed, and the root can be checked
        }

    def _changed(self, changes: set[tuple[watchfiles.Change, str]], keys: dict[str, Any]) -> list[str]:
        """The fixtures to reload after one batch of ``changes`` (an empty batch is a beat)."""
        if changes:
            names = sorted({n for _, path in changes if (n := self._name_for(path)) is not None})
        else:  # catch up on anything the notifier could not see (a re-armed watch, a new subfolder)
            names = [n for n in self.registry.names() if keys.get(n) != self._key(n)]
        for name in names:
            keys[name] = self._key(name)
        return names

    def _root_gone(self) -> None:
        logger.warning("fixtures directory %s is gone; watching for it to come back", self.root)

    async def _root_back(self, stop_event: asyncio.Event | None) -> bool:
        """Wait until the fixtures directory exists again; False when stopped first."""
        self._root_gone()
        while self._root_identity() is None:
            if stop_event is not None and stop_event.is_set():
                return False
            await asyncio.sleep(self.poll / 1000)
        return True

    async def watch(self, stop_event: asyncio.Event | None = None) -> AsyncIterator[str]:
        """Yield the name of each registered fixture whose data file changed and validated.

        When the fixtures directory is deleted and recreated, or replaced by a rename,
        the watch is re-armed on the new directory and every fixture that changed
        meanwhile is delivered.
        """
        self.root.mkdir(parents=True, exist_ok=True)
        keys = {name: self._key(name) for name in self.registry.names()}
        while stop_event is None or not stop_event.is_set():
            identity = self._root_identity()
            if identity is None:
                if not await self._root_back(stop_event):
                    return
                continue
            async for changes in watchfiles.awatch(self.root, stop_event=stop_event, **self._watch_options()):
                self._armed.set()
                if self._root_identity() != identity:
                    break  # the directory was replaced: the notifier watches a dead inode
                for name in self._changed(changes, keys):
                    if self._reload(name):
                        yield name

    def _watch_blocking(self, halt: threading.Event) -> None:
        """``watch()`` for the background thread, on watchfiles' blocking iterator.

        The same steps as ``watch()``; the thread has no event loop to serve, so each
        batch is handled on the thread that waited for it, where ``awatch`` would
        hand it from a worker thread to the loop first (about half a millisecond per
        batch, most of what the watcher adds to watchfiles' own latency).
        """
        self.root.mkdir(parents=True, exist_ok=True)
        keys = {name: self._key(name) for name in self.registry.names()}
        while not halt.is_set():
            identity = self._root_identity()
            if identity is None:
                self._root_gone()
                while self._root_identity() is None:
                    if halt.wait(self.poll / 1000):
                        return
                continue
            for changes in watchfiles.watch(self.root, stop_event=halt, **self._watch_options()):
                self._armed.set()
                if self._root_identity() != identity:
                    break  # the directory was replaced (see watch())
                for name in self._changed(changes, keys):
                    self._reload(name)

    def start(self) -> HotDataWatcher:
        """Watch in a background thread (for apps without an event loop); returns once armed,
        so a write made after ``start()`` returns is always seen."""
        if self._thread is not None:
            return self
        self._armed.clear()
        self._halt = threading.Event()
        self._thread = threading.Thread(
            target=self._run_thread, args=(self._halt,), name="hotdata-watcher", daemon=True
        )
        self._thread.start()
        while not self._armed.wait(0.05):
            if not self._thread.is_alive():
                raise RuntimeError(f"the watcher of {self.root} stopped before it was armed; see the log")
        return self

    @property
    def armed(self) -> bool:
        """True once the file-system watch is in place."""
        return self._armed.is_set()

    def _run_thread(self, halt: threading.Event) -> None:
        try:
            self._watch_blocking(halt)
        except Exception:
            logger.exception("the watcher of %s stopped", self.root)

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the background thread; returns once it has ended (or ``timeout`` passed)."""
        thread, halt = self._thread, self._halt
        if thread is None or halt is None:
            return
        halt.set()  # watchfiles looks at it every step
        thread.join(timeout)
        self._thread = self._halt = None

    def __enter__(self) -> HotDataWatcher:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
