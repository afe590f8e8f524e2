"""The doit reporter of hotdata builds: a line per fixture while it runs, a summary at the end."""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any, Protocol, TextIO

from doit.reporter import ConsoleReporter

from ..._freshness import FixtureState, FixtureStatus
from .._outcome import BuildSummary, Outcome, OutcomeKind
from ._progress import Progress

__all__ = ["EstimateReporter", "HotDataReporter", "fixture_task_name", "selected_fixtures"]

_PREFIX = "fixtures:"
# hotdata's own tasks print for themselves; doit's ". task" lines would only add noise
_QUIET = frozenset(
    {
        "status",
        "validate",
        "generate",
        "fixtures",
        "catalog",
        "review",
        "accept",
        "reject",
        "verify",
        "prune",
        "preview",
        "stats",
    }
)


def fixture_task_name(task_name: str) -> str | None:
    """The fixture a doit task builds (``fixtures:agents/a`` -> ``agents/a``), else None."""
    return task_name[len(_PREFIX) :] if task_name.startswith(_PREFIX) else None


def selected_fixtures(tasks: Mapping[str, Any], selected_tasks: list[str]) -> list[str]:
    """The fixtures a run's selected tasks build (``fixtures``: all of them), in catalog order."""
    names: dict[str, None] = {}
    for selected in selected_tasks:
        if selected == "fixtures":
            names.update((n, None) for t in tasks if (n := fixture_task_name(t)) is not None)
        elif (name := fixture_task_name(selected)) is not None:
            names[name] = None
    return list(names)


class BuildRun(Protocol):
    """What the reporter reads of a build run (the conductor, ``Pipeline``)."""

    def outcome(self, name: str) -> Outcome | None: ...

    def last_status(self, name: str) -> FixtureStatus | None: ...

    def summary(self) -> BuildSummary: ...

    def end_run(self) -> BuildSummary: ...

    def close(self) -> None: ...


class HotDataReporter(ConsoleReporter):  # type: ignore[misc]
    """Reports a build run's fixtures; other tasks as doit's console reporter does.

    doit's only hook at the end of a run is its reporter's ``complete_run``: there the reporter
    hands the end of the run to the conductor (``end_run``: batches submitted, failures kept,
    the catalog written) and prints the summary it returns."""

    desc = "hotdata progress and summary"

    def __init__(
        self,
        run: BuildRun,
        outstream: TextIO | None = None,
        *,
        after_build: Callable[[], object] | None = None,
        before_build: Callable[[list[str]], str | None] | None = None,
    ) -> None:
        stream = outstream or sys.stdout
        super().__init__(stream, {"show_out": True, "show_err": True})
        self.run = run
        self.after_build = after_build  # once a build run is closed (the catalog snapshot)
        # before any fixture is built, with the selected ones: a refusal to say (max_cost), if any
        self.before_build = before_build
        self.refusal: str | None = None
        self.progress = Progress(stream)
        self.builds = False  # fixtures were selected: the run ends with the conductor's end_run
        self.previews = False  # `doit preview` runs: a Ctrl-C stops it, and it wrote nothing
        # Every selected fixture is queued when the run starts; doit hands it to a worker only
        # when one of the `concurrency` slots is free. The time until then is waiting, not generating.
        self._queued = time.monotonic()
        self._began: dict[str, float] = {}

    def _interrupted(self, signum: int, frame: Any) -> None:
        # doit's thread runner answers Ctrl-C with a traceback after waiting on its
        # workers. Every write is an atomic rename, so stopping at once is safe:
        # unfinished fixtures keep their previous files (a half-done pair is
        # finished by the next build, which also removes stray temp files).
        self.progress.stop()
        if self.previews:
            self.outstream.write("\ndoit preview: interrupted; nothing was written\n")
        else:
            summary = self.run.summary()
            self.outstream.write(
                f"hotdata: interrupted; {summary.generated} generated before the stop, the others keep "
                "their previous files\n"
            )
        self.outstream.flush()
        os._exit(130)

    def initialize(self, tasks: dict[str, Any], selected_tasks: list[str]) -> None:
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGINT, self._interrupted)
        names = selected_fixtures(tasks, selected_tasks)
        if names and self.before_build is not None:
            self.refusal = self.before_build(names)
            if self.refusal is not None:
                self.outstream.write(f"hotdata: {self.refusal}\n")
        self.progress.start(len(names))
        self.builds = bool(names)
        self.previews = "preview" in selected_tasks
        self._queued = time.monotonic()

    def execute_task(self, task: Any) -> None:
        name = fixture_task_name(task.name)
        if name is not None:
            self._began[name] = time.monotonic()  # a worker slot took it
            self.progress.working_on(name)
        elif task.name not in _QUIET and not task.name.startswith(_PREFIX):
            super().execute_task(task)

    def skip_uptodate(self, task: Any) -> None:
        name = fixture_task_name(task.name)
        if name is None:
            return
        self.progress.advance(name)
        status = self.run.last_status(name)
        if status is not None and status.check == "edited":
            broken = " and no longer valid" if status.state is FixtureState.INVALID else ""
            self.progress.line(
                f"!! {name}: edited by hand{broken}, kept (doit fixtures force=1 overwrites it)"
            )

    def add_success(self, task: Any) -> None:
        name = fixture_task_name(task.name)
        if name is None:
            return
        self.progress.advance(name)
        outcome = self.run.outcome(name)
        if outcome is None:
            return
        if outcome.kind in (OutcomeKind.GENERATED, OutcomeKind.STAGED):
            u = outcome.usage
            tokens = (u.input_tokens or 0) + (u.output_tokens or 0)
            # for a slot (since the run started), then for the build lock (the pipeline's count)
            slot = max(0.0, self._began.get(name, self._queued) - self._queued)
            total = slot + outcome.waited
            waited = f", waited {total:.1f}s" if total >= 0.1 else ""
            what = "staged for review" if outcome.kind is OutcomeKind.STAGED else "generated"
            if outcome.asked_alone:
                what += f", {outcome.asked_alone}"
            if outcome.kept_data:
                kept = (
                    ", ".join(outcome.filled) + " filled from the schema's default" if outcome.filled else ""
                )
                what = f"record updated, {kept or 'data kept'}" + (
                    " (staged for review)" if outcome.kind is OutcomeKind.STAGED else ""
                )
            replayed = f", {outcome.replayed} replayed" if outcome.replayed else ""
            self.progress.line(
                f".  {name} {what} ({outcome.seconds:.1f}s{waited}, {u.calls} call(s){replayed}, "
                f"{tokens} tokens)"
            )
        elif outcome.kind is OutcomeKind.SKIPPED:
            self.progress.line(f"-- {name} {outcome.message} (built by another run)")

    def add_failure(self, task: Any, fail: Any) -> None:
        if task.name == "fixtures" and not task.actions:
            return  # the group fails when a fixture failed: that one is already reported
        name = fixture_task_name(task.name)
        if name is None:
            self.failures.append({"task": task, "exception": fail})
            self.progress.print(f"FAILED {task.name}: {fail.get_msg().strip()}")
            return
        self.progress.advance(name)
        outcome = self.run.outcome(name)
        message = outcome.message if outcome else fail.get_msg().strip()
        if message == self.refusal:
            return  # said once, before the run
        label = "STOPPED" if outcome is not None and outcome.kind is OutcomeKind.BUDGET else "FAILED"
        self.progress.line(f"{label} {name}: {message}")

    def complete_run(self) -> None:
        self.progress.stop()
        for err in self.runtime_errors:
            self.progress.print(f"ERROR: {err}")
        if self.builds:
            # here rather than in a task: the run ends when some fixtures failed, too
            try:
                summary = self.run.end_run()
            except Exception as exc:  # the summary still gets printed
                self.progress.print(f"hotdata: could not finish the run: {type(exc).__name__}: {exc}")
                summary = self.run.summary()
            for line in summary.lines():
                self.progress.print(line)
        self.run.close()
        if self.builds and self.after_build is not None:
            self.after_build()


class EstimateReporter(ConsoleReporter):  # type: ignore[misc]
    """Reports ``doit fixtures dry=1``: no fixture task does anything; at the end, the estimate
    of the selected fixtures (``estimate``: their names to the lines to print)."""

    desc = "hotdata estimate (dry=1)"

    def __init__(self, estimate: Callable[[list[str]], list[str]], outstream: TextIO | None = None) -> None:
        super().__init__(outstream or sys.stdout, {"show_out": True, "show_err": True})
        self.estimate = estimate
        self.names: list[str] = []

    def initialize(self, tasks: dict[str, Any], selected_tasks: list[str]) -> None:
        self.names = selected_fixtures(tasks, selected_tasks)

    def execute_task(self, task: Any) -> None:
        if task.name not in _QUIET and not task.name.startswith(_PREFIX):
            super().execute_task(task)

    def skip_uptodate(self, task: Any) -> None:
        pass

    def complete_run(self) -> None:
        if self.names:
            for line in self.estimate(self.names):
                self.outstream.write(line + "\n")
        super().complete_run()
