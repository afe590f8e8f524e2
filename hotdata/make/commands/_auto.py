"""``doit auto``: rebuild stale fixtures whenever their inputs change (a doit command plugin).

doit 0.37 dropped its own ``auto`` (now the doit-auto1 plugin, on pyinotify); this
one is built on watchfiles and registered through the ``doit.COMMAND`` entry point.

Every rebuild runs ``doit <targets>`` in a fresh process, so edited generator and
schema modules take effect; the fingerprint rules decide what is rebuilt. That process
is started ahead, after the previous build, with the libraries already imported. The
fixtures directory is never watched, so the build's own writes cannot retrigger it.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

from doit.cmd_base import Command

from ._warm import STALE

if TYPE_CHECKING:
    from .._config import HotDataConfig

__all__ = ["Auto", "SourceFilter"]

_SKIP_DIRS = {
    ".git",
    ".hg",
    ".venv",
    "venv",
    "__pycache__",
    ".mypy_cache",
    ".ruff_cache",
    ".pytest_cache",
    "node_modules",
}
_SOURCE_SUFFIXES = (".py", ".toml")


class SourceFilter:
    """watchfiles filter: templates, Python modules and pyproject.toml; never the fixtures."""

    def __init__(self, config: HotDataConfig) -> None:
        self.fixtures = os.path.realpath(config.fixtures_path)
        self.templates = os.path.realpath(config.templates_path)

    def __call__(self, change: Any, path: str) -> bool:
        real = os.path.realpath(path)
        if real == self.fixtures or real.startswith(self.fixtures + os.sep):
            return False
        parts = Path(real).parts
        if any(p in _SKIP_DIRS for p in parts):
            return False
        name = parts[-1]
        if name.startswith(".") or name.endswith(("~", ".swp", ".tmp")) or name == ".doit.db":
            return False
        if real.startswith(self.templates + os.sep):
            return True
        return name.endswith(_SOURCE_SUFFIXES) and not name.startswith(".doit")


class Auto(Command):  # type: ignore[misc]
    """doit command plugin: ``doit auto [fixtures | fixtures:<name> ...]``."""

    name = "auto"
    doc_purpose = "watch templates, generators and schemas; rebuild stale fixtures on every change"
    doc_usage = "[TASK ...]"
    doc_description = (
        "Runs the selected tasks (default: fixtures) now and again after every change to a "
        "template, a Python module or pyproject.toml under the project. Only fixtures the "
        "change made stale are regenerated. Ctrl-C or SIGTERM stops it."
    )
    cmd_options = (
        {
            "name": "debounce",
            "long": "debounce",
            "type": int,
            "default": 400,
            "help": "milliseconds to gather a burst of saves into one rebuild [default: %(default)s]",
        },
    )

    def execute(self, opt_values: dict[str, Any], pos_args: list[str]) -> int:
        import watchfiles

        from .._config import load_config  # here: doit loads this plugin in every run, keep it light
        from .._errors import ConfigError

        try:
            config = load_config()
        except ConfigError as exc:
            print(f"doit auto: {exc}", file=sys.stderr)
            return 1
        builds = _Builds(config, list(pos_args) or ["fixtures"])

        def on_signal(signum: int, frame: FrameType | None) -> None:
            builds.stop()

        previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            builds.run()
            watching = False
            for changes in watchfiles.watch(
                config.root,
                watch_filter=SourceFilter(config),
                debounce=opt_values.get("debounce", 400),
                step=50,
                stop_event=builds.stopped,
                rust_timeout=300,
                yield_on_timeout=True,  # the first (empty) yield says the watcher is live
                raise_interrupt=False,
            ):
                if builds.stopped.is_set():
                    break
                if not watching:
                    watching = True
                    print(f"doit auto: watching {config.root} (Ctrl-C to stop)", flush=True)
                if not changes:
                    continue
                changed = sorted({os.path.relpath(path, config.root) for _, path in changes})
                print(f"doit auto: changed {', '.join(changed)}", flush=True)
                builds.run()
        finally:
            builds.close()
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        print("doit auto: stopped", flush=True)
        return 0


class _Builds:
    """The builds of one ``doit auto``, each in a fresh process.

    Between builds one process waits with the libraries imported (``_warm``), so a
    rebuild does not pay for importing doit, pydantic and llm again; when it finds that
    a module it loaded was edited, the build runs in a cold ``python -m doit`` instead.
    """

    def __init__(self, config: HotDataConfig, targets: list[str]) -> None:
        self.config = config
        self.targets = targets
        self.stopped = threading.Event()
        self._running: subprocess.Popen[bytes] | None = None
        self._warm: subprocess.Popen[bytes] | None = None

    def _spawn(self, args: list[str], **kwargs: Any) -> subprocess.Popen[bytes]:
        # A session of its own: a terminal's Ctrl-C reaches only `auto`, which then
        # stops the build with SIGTERM and removes what it left half-written.
        return subprocess.Popen(
            [sys.executable, *args], cwd=self.config.root, start_new_session=True, **kwargs
        )

    def _wait(self, proc: subprocess.Popen[bytes]) -> int:
        self._running = proc
        try:
            return proc.wait()
        finally:
            self._running = None

    def _hand_over(self, warm: subprocess.Popen[bytes]) -> int | None:
        """The warm process's exit code, or None when it could not take the build."""
        assert warm.stdin is not None
        self._running = warm  # from here on, stop() terminates it
        try:
            if self.stopped.is_set():
                warm.terminate()
                return None
            try:
                warm.stdin.write(json.dumps(self.targets).encode() + b"\n")
                warm.stdin.close()
            except OSError:  # it died while waiting (killed, out of memory): go cold
                warm.wait()
                return None
            code = warm.wait()
        finally:
            self._running = None
        return None if code == STALE else code

    def run(self) -> None:
        if self.stopped.is_set():
            return
        started = time.monotonic()
        warm, self._warm = self._warm, None
        code = self._hand_over(warm) if warm is not None else None
        if code is None and not self.stopped.is_set():
            code = self._wait(self._spawn(["-m", "doit", *self.targets]))
        if self.stopped.is_set():
            # only when no other build holds the lock: its temp files are in use
            from ..commit._writer import Writer

            Writer(self.config.fixtures_path, self.config.state_path).clean_if_idle()
            return
        took = time.monotonic() - started
        if code != 0:
            print(f"doit auto: build failed (exit {code}) in {took:.2f} s; still watching", flush=True)
        else:
            print(f"doit auto: build done in {took:.2f} s", flush=True)
        # started after the build, not during it, so the two never compete for the CPU
        self._warm = self._spawn(["-m", "hotdata.make.commands._warm"], stdin=subprocess.PIPE)

    def stop(self) -> None:
        """Stops the running build (SIGTERM) and lets the waiting process go; safe from a signal handler."""
        self.stopped.set()
        running, warm = self._running, self._warm
        if running is not None and running.poll() is None:
            running.terminate()
        if warm is not None and warm.poll() is None:
            warm.terminate()

    def close(self) -> None:
        """Stops everything and reaps the processes (not from a signal handler: it waits)."""
        self.stop()
        for proc in (self._running, self._warm):
            if proc is not None:
                proc.wait()
