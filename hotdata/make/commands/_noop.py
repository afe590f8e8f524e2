"""``doit_project()``: a plain no-op ``doit fixtures`` from the catalog snapshot, else the full tasks.

When the run is a plain build (``doit`` or ``doit fixtures``, no option, no ``name=value``)
and the catalog snapshot (``_snapshot``) answers that nothing it depends on changed and the
local index still calls every fixture fresh, the tasks are made from the snapshot: the
same task names, each up to date, and the same summary line, without importing the
generator modules, pydantic or the build stages. Anything else gets ``_project``'s tasks.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

from doit.reporter import ConsoleReporter

from .._files import find_project_root
from .._snapshot import SnapshotFixture, environment_digest, fresh_catalog, plain_fixtures_run
from ..plan._index import FreshIndex

__all__ = ["doit_project"]

_FIXTURES_DOC = "Generate every stale fixture; fresh and hand-edited ones are skipped (force=1 overwrites)."


def doit_project(root: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """Everything a dodo.py needs: ``globals().update(doit_project())``.

    Returns ``DOIT_CONFIG`` and the task creators (``task_fixtures``, ``task_status``, ...);
    see ``hotdata.make.commands._project.doit_project``.
    """
    started_ns, started = time.time_ns(), time.monotonic()
    env = environment_digest()
    if plain_fixtures_run(sys.argv) and not _command_line_variables():
        project = find_project_root(Path(root) if root is not None else None)
        index = FreshIndex(project / ".hotdata")

        def is_fresh(name: str, data: str, meta: str, digest: str) -> bool:
            return index.fresh(name, data, meta, digest) is not None

        fixtures = fresh_catalog(project, is_fresh, env)
        if fixtures is not None:
            return _quick_project(project, fixtures, started)
    from ._project import doit_project as full_project

    return full_project(root, started_ns=started_ns, env=env)


def _command_line_variables() -> dict[str, str]:
    from doit import doit_cmd

    found = getattr(doit_cmd, "_CMDLINE_VARS", None)
    return dict(found) if isinstance(found, dict) else {}


class _UpToDate(ConsoleReporter):  # type: ignore[misc]
    """Reports a run of fixtures known to be up to date: the full path's summary line, alone."""

    desc = "hotdata summary (every fixture up to date)"

    def __init__(self, count: int, started: float, outstream: TextIO | None = None) -> None:
        super().__init__(outstream or sys.stdout, {"show_out": True, "show_err": True})
        self.count = count
        self.started = started

    def execute_task(self, task: Any) -> None:
        pass  # the group task; hotdata's own tasks print for themselves

    def skip_uptodate(self, task: Any) -> None:
        pass

    def complete_run(self) -> None:
        for err in self.runtime_errors:
            self.outstream.write(f"ERROR: {err}\n")
        seconds = time.monotonic() - self.started
        # the line BuildSummary.lines() starts with for a run that changed nothing
        self.outstream.write(
            f"hotdata: 0 generated, {self.count} up to date, 0 failed, 0 edited and kept, "
            f"0 stopped by budget; 0 model call(s), 0 replayed, 0 tokens, {seconds:.1f}s\n"
        )


def _quick_project(root: Path, fixtures: list[SnapshotFixture], started: float) -> dict[str, Any]:
    def task_fixtures() -> Iterator[dict[str, Any]]:
        yield {"basename": "fixtures", "name": None, "doc": _FIXTURES_DOC}
        for fixture in fixtures:
            yield {"name": fixture.name, "actions": [], "uptodate": [True], "verbosity": 0}

    task_fixtures.__doc__ = _FIXTURES_DOC
    return {
        "DOIT_CONFIG": {
            "backend": "json",
            "dep_file": str(root / ".doit.db"),
            "default_tasks": ["fixtures"],
            "continue": True,
            "reporter": _UpToDate(len(fixtures), started),
            "subtasks": True,
        },
        "task_fixtures": task_fixtures,
    }
