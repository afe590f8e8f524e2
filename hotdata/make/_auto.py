"""``doit auto``: rebuild stale fixtures whenever their inputs change (a doit command plugin).

doit 0.37 dropped its own ``auto`` (now the doit-auto1 plugin, on pyinotify); this
one is built on watchfiles and registered through the ``doit.COMMAND`` entry point.

Every rebuild runs ``doit <targets>`` in a fresh process, so edited generator and
schema modules take effect; the fingerprint rules decide what is rebuilt. The
fixtures directory is never watched, so the build's own writes cannot retrigger it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path
from types import FrameType
from typing import Any

from doit.cmd_base import Command

from ._commit import Writer
from ._config import HotDataConfig, load_config
from ._errors import ConfigError

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

        try:
            config = load_config()
        except ConfigError as exc:
            print(f"doit auto: {exc}", file=sys.stderr)
            return 1
        targets = list(pos_args) or ["fixtures"]
        stop = threading.Event()
        child: list[subprocess.Popen[bytes]] = []

        def on_signal(signum: int, frame: FrameType | None) -> None:
            stop.set()
            for proc in child:
                if proc.poll() is None:
                    proc.terminate()

        previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            self._build(config, targets, child, stop)
            watching = False
            for changes in watchfiles.watch(
                config.root,
                watch_filter=SourceFilter(config),
                debounce=opt_values.get("debounce", 400),
                step=50,
                stop_event=stop,
                rust_timeout=300,
                yield_on_timeout=True,  # the first (empty) yield says the watcher is live
                raise_interrupt=False,
            ):
                if stop.is_set():
                    break
                if not watching:
                    watching = True
                    print(f"doit auto: watching {config.root} (Ctrl-C to stop)", flush=True)
                if not changes:
                    continue
                changed = sorted({os.path.relpath(path, config.root) for _, path in changes})
                print(f"doit auto: changed {', '.join(changed)}", flush=True)
                self._build(config, targets, child, stop)
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        print("doit auto: stopped", flush=True)
        return 0

    @staticmethod
    def _build(
        config: HotDataConfig, targets: list[str], child: list[subprocess.Popen[bytes]], stop: threading.Event
    ) -> None:
        if stop.is_set():
            return
        # A session of its own: a terminal's Ctrl-C reaches only `auto`, which then
        # stops the build with SIGTERM and removes what it left half-written.
        proc = subprocess.Popen(
            [sys.executable, "-m", "doit", *targets], cwd=config.root, start_new_session=True
        )
        child[:] = [proc]
        try:
            proc.wait()
        finally:
            child.clear()
        if stop.is_set():
            # only when no other build holds the lock: its temp files are in use
            Writer(config.fixtures_path, config.state_path).clean_if_idle()
        elif proc.returncode != 0:
            print(f"doit auto: build failed (exit {proc.returncode}); still watching", flush=True)
