"""The doit reporter for hotdata builds: progress while it runs, a summary at the end.

Uses rich: a live progress bar on a terminal, plain lines (with done/total and
elapsed time) when output is not a terminal, as in CI.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from typing import Any

from doit.reporter import ConsoleReporter

from ._session import BuildSession

__all__ = ["make_reporter"]

_PREFIX = "fixtures:"
_CATALOG = _PREFIX + "_catalog"
_QUIET = frozenset({"status", "validate", "generate", "fixtures", "catalog"})


def make_reporter(session: BuildSession) -> type[ConsoleReporter]:
    """A doit reporter class bound to ``session`` (doit instantiates it itself)."""

    class HotDataReporter(ConsoleReporter):  # type: ignore[misc]
        desc = "hotdata progress and summary"

        def __init__(self, outstream: Any, options: dict[str, Any]) -> None:
            super().__init__(outstream, options)
            self.total = 0
            self.done = 0
            self.started = time.monotonic()
            self.progress: Any = None
            self.bar: Any = None
            isatty = getattr(outstream, "isatty", None)
            self.terminal = bool(isatty and isatty())

        def _print(self, text: str) -> None:
            if self.progress is not None:
                self.progress.console.print(text, highlight=False, markup=False)
            else:
                self.outstream.write(text + "\n")

        def _interrupted(self, signum: int, frame: Any) -> None:
            # doit's thread runner answers Ctrl-C with a traceback after waiting on its
            # workers. Every write is an atomic rename, so stopping at once is safe:
            # unfinished fixtures keep their previous files (a half-done pair is
            # finished by the next build, which also removes stray temp files).
            if self.progress is not None:
                self.progress.stop()
                self.progress = None
            s = session.summary()
            self.outstream.write(
                f"hotdata: interrupted; {s['generated']} generated before the stop, the others keep "
                "their previous files\n"
            )
            self.outstream.flush()
            os._exit(130)

        def initialize(self, tasks: dict[str, Any], selected_tasks: list[str]) -> None:
            if threading.current_thread() is threading.main_thread():
                signal.signal(signal.SIGINT, self._interrupted)
            names: set[str] = set()
            for sel in selected_tasks:
                if sel == "fixtures":
                    names.update(t for t in tasks if t.startswith(_PREFIX) and t != _CATALOG)
                elif sel.startswith(_PREFIX) and sel != _CATALOG:
                    names.add(sel)
            self.total = len(names)
            if self.total and self.terminal:
                # rich only for a live terminal; plain lines (and no import) otherwise
                from rich.console import Console
                from rich.progress import (
                    BarColumn,
                    MofNCompleteColumn,
                    Progress,
                    TextColumn,
                    TimeElapsedColumn,
                )

                self.progress = Progress(
                    TextColumn("[bold]fixtures"),
                    BarColumn(),
                    MofNCompleteColumn(),
                    TimeElapsedColumn(),
                    TextColumn("{task.description}"),
                    console=Console(file=self.outstream, soft_wrap=True),
                    transient=True,
                )
                self.bar = self.progress.add_task("", total=self.total)
                self.progress.start()

        def _line(self, text: str) -> None:
            if self.progress is not None:
                self._print(text)
            else:
                elapsed = time.monotonic() - self.started
                self._print(f"[{self.done}/{self.total} {elapsed:6.1f}s] {text}")

        def _advance(self, name: str) -> None:
            self.done += 1
            if self.progress is not None:
                self.progress.update(self.bar, advance=1, description=name)

        def execute_task(self, task: Any) -> None:
            if task.name == _CATALOG:
                return
            if task.name.startswith(_PREFIX) and self.progress is not None:
                self.progress.update(self.bar, description=task.name[len(_PREFIX) :])
            elif task.name not in _QUIET and not task.name.startswith(_PREFIX):
                super().execute_task(task)

        def skip_uptodate(self, task: Any) -> None:
            if not task.name.startswith(_PREFIX) or task.name == _CATALOG:
                return
            name = task.name[len(_PREFIX) :]
            self._advance(name)
            report = session.reports.get(name)
            if report is not None and report.state.value == "edited":
                self._line(f"!! {name}: edited by hand, kept (doit fixtures force=1 overwrites it)")

        def add_success(self, task: Any) -> None:
            if not task.name.startswith(_PREFIX) or task.name == _CATALOG:
                return
            name = task.name[len(_PREFIX) :]
            self._advance(name)
            outcome = session.outcomes.get(name)
            if outcome is None:
                return
            if outcome.status == "generated":
                u = outcome.usage
                tokens = (u.input_tokens or 0) + (u.output_tokens or 0)
                self._line(
                    f".  {name} generated ({outcome.seconds:.1f}s, {u.calls} call(s), {tokens} tokens)"
                )
            elif outcome.status == "skipped":
                self._line(f"-- {name} {outcome.message} (built by another run)")

        def add_failure(self, task: Any, fail: Any) -> None:
            if task.name == "fixtures" and not task.actions:
                return  # the group fails when a fixture failed: that one is already reported
            if not task.name.startswith(_PREFIX) or task.name == _CATALOG:
                self.failures.append({"task": task, "exception": fail})
                self._print(f"FAILED {task.name}: {fail.get_msg().strip()}")
                return
            name = task.name[len(_PREFIX) :]
            self._advance(name)
            outcome = session.outcomes.get(name)
            message = outcome.message if outcome else fail.get_msg().strip()
            label = "STOPPED" if outcome is not None and outcome.status == "budget" else "FAILED"
            self._line(f"{label} {name}: {message}")

        def complete_run(self) -> None:
            if self.progress is not None:
                self.progress.stop()
                self.progress = None
            for err in self.runtime_errors:
                self._print(f"ERROR: {err}")
            if self.total == 0:
                return
            s = session.summary()
            self._print(
                f"hotdata: {s['generated']} generated, {s['up_to_date']} up to date, "
                f"{len(s['failed'])} failed, {len(s['edited_skipped'])} edited and kept, "
                f"{len(s['budget'])} stopped by budget; {s['model_calls']} model call(s), "
                f"{s['tokens']} tokens, {s['seconds']:.1f}s"
            )
            if s["budget"]:
                self._print(
                    f"Budget reached: {len(s['budget'])} fixture(s) stay stale: {', '.join(s['budget'])}"
                )
            if s["failed"]:
                self._print(f"{len(s['failed'])} fixture(s) failed:")
                for name in s["failed"]:
                    self._print(f"  - {name}: {session.outcomes[name].message}")
            session.close()

    return HotDataReporter
