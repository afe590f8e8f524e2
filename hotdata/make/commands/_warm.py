"""A build process started before it is needed, for ``doit auto``.

A fresh ``python -m doit`` spends most of a one-fixture rebuild importing doit,
pydantic, jinja2, llm and the openai SDK. ``doit auto`` keeps one of these processes
waiting with those libraries loaded (never the project's own modules, which a change
may have edited), then hands it the targets when a change arrives.

Protocol: the parent writes one JSON line, the doit arguments, to stdin; end of
input means "not needed" (exit 0). If the file of any module the process has loaded
changed after it was loaded (an edit, a ``pip install``), the loaded code may be out
of date: it exits with ``STALE`` without running anything, and the parent runs a cold
build instead.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import time

__all__ = ["STALE", "changed", "main"]

STALE = 75  # EX_TEMPFAIL: nothing was run; run a fresh process instead

# Libraries only: a project module (generators, schemas, dodo.py) is imported by the
# build itself, after the go, so its edits always take effect.
_PRELOAD = (
    "doit.doit_cmd",
    "doit.cmd_run",
    "doit.reporter",
    "pydantic",
    "hotdata.make",
    "hotdata.make.commands",
    "hotdata.make._pipeline",
    "hotdata.make.generate",
    "hotdata.make.models",
    "jinja2",
    "llm",
    "llm.default_plugins.openai_models",  # imports openai: a module import, no plugin registered
)
# mtimes come from a coarse kernel clock that can trail time.time_ns() by a tick; an
# edit that close to the start counts as a change (the cost: one cold build)
_MARGIN_NS = 2_000_000_000


def _preload() -> None:
    for name in _PRELOAD:
        try:
            importlib.import_module(name)
        except Exception:  # a library that fails here fails again, with its message, in the build
            continue


def _snapshot() -> dict[str, int]:
    """mtime_ns of every loaded module's file."""
    paths = [getattr(m, "__file__", None) for m in list(sys.modules.values())]
    seen: dict[str, int] = {}
    for path in paths:
        if isinstance(path, str) and path not in seen:
            try:
                seen[path] = os.stat(path).st_mtime_ns
            except OSError:
                continue  # a zip import or a frozen module: nothing on disk to edit
    return seen


def changed(snapshot: dict[str, int], started_ns: int) -> str | None:
    """The first path of ``snapshot`` modified since it was loaded (or too close to it to tell)."""
    limit = started_ns - _MARGIN_NS
    for path, mtime in snapshot.items():
        try:
            now = os.stat(path).st_mtime_ns
        except OSError:
            return path  # removed
        if now != mtime or mtime >= limit:
            return path
    return None


def main() -> int:
    started = time.time_ns()
    _preload()
    loaded = _snapshot()
    line = sys.stdin.readline()
    if not line.strip():
        return 0
    args = json.loads(line)
    edited = changed(loaded, started)
    if edited is not None:
        print(
            f"doit auto: {edited} changed after the build process loaded it; starting a fresh one", flush=True
        )
        return STALE
    from doit.doit_cmd import DoitMain

    sys.argv = ["doit", *args]
    return int(DoitMain().run(args))


if __name__ == "__main__":
    sys.exit(main())
