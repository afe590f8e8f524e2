"""Native code in a process of its own: a crash or a hang costs one request, never the build.

llama.cpp is native code. An instruction this CPU refuses (SIGILL), a bad pointer
(SIGSEGV), a failed assertion (SIGABRT) or the kernel's out-of-memory killer ends the
process it runs in, and a decode stuck in native code ignores every Python-level
timeout. So the engine runs in a worker process (``concurrent.futures``'
``ProcessPoolExecutor`` with one process, ``spawn``ed): it loads the model once, proves
it with a one-token decode, and answers requests one at a time.

* A worker that dies fails the request it was serving, with one line naming the
  signal, the likely cause and the fix; requests that were only queued go to a fresh
  worker. A worker that dies before it is ready fails every request waiting for it,
  and later ones at once: a build that cannot decode is not restarted per request.
* A request whose caller is cancelled (hotdata's ``fixture_timeout``) while the worker
  decodes it kills the worker; the next request starts a fresh one.
* The worker never outlives the process that started it (a thread waits on the
  parent's sentinel), so Ctrl-C, which ends the build with ``os._exit``, ends it too.

The engine is named by an import path (``"package.module:factory"``) so that test
doubles run in the same kind of process as the real model.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import importlib
import itertools
import multiprocessing
import multiprocessing.connection
import os
import signal
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any, Protocol

__all__ = ["Engine", "ModelWorker", "WorkerCrashed", "WorkerRegistry", "default_workers", "describe_exit"]


class Engine(Protocol):
    """What runs inside the worker process."""

    def warm_up(self) -> None:
        """Load what is needed and prove it works (a one-token decode): a crash here is a startup failure."""

    def answer(self, request: Mapping[str, Any]) -> dict[str, Any]:
        """One request's reply; exceptions travel back to the caller as they are."""


class WorkerCrashed(RuntimeError):
    """The worker process died while serving a request or while starting.

    The message is complete (what died, of what, the likely cause, the fix) and is
    meant to be shown to the user as it is."""


# -- the worker process ----------------------------------------------------------------

# This process's engine and shared slots: a worker process serves exactly one engine, set
# once by its initializer (the pattern ProcessPoolExecutor's initializer is built for).
_served: dict[str, Any] = {}


def _exit_with_parent() -> None:
    parent = multiprocessing.parent_process()
    if parent is not None:
        parent.join()  # returns when the parent is gone, however it ended
        os._exit(0)


def _start(engine: str, arguments: Mapping[str, Any], running: Any, ready: Any, log: str) -> None:
    import faulthandler
    import resource

    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # a crash leaves no core file in the project
    faulthandler.disable()  # the parent names the signal in one line; no C-level traceback on stderr
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's: it ends the build, and so us
    threading.Thread(target=_exit_with_parent, name="hotdata-worker-parent", daemon=True).start()
    fd = os.open(log, os.O_WRONLY | os.O_APPEND)
    os.dup2(fd, 1)  # native code's chatter (and an assertion's last words) go to the log, not the build
    os.dup2(fd, 2)
    os.close(fd)
    try:
        module, _, name = engine.partition(":")
        factory: Callable[..., Engine] = getattr(importlib.import_module(module), name)
        served = factory(**arguments)
        served.warm_up()
    except BaseException as exc:
        with open(log, "a", encoding="utf-8") as fh:
            fh.write(f"\nhotdata: the engine did not start: {type(exc).__name__}: {exc}\n")
        os._exit(3)
    _served.update(engine=served, running=running)
    ready.value = 1


def _serve(number: int, request: Mapping[str, Any]) -> dict[str, Any]:
    running = _served["running"]
    running.value = number  # left set if native code kills the process: the parent reads whose request it was
    try:
        reply: dict[str, Any] = _served["engine"].answer(request)
        return reply
    finally:
        running.value = 0


# -- the parent ------------------------------------------------------------------------

_SIGNALS: dict[int, tuple[str, str, bool]] = {
    # number: (name, likely cause, whether the engine's own fix applies)
    signal.SIGILL: (
        "SIGILL (illegal instruction)",
        "the native library was built for instructions this CPU or VM does not run "
        "(AVX-512 or AMX from a build made for another machine, or AMX the OS has not enabled)",
        True,
    ),
    signal.SIGSEGV: (
        "SIGSEGV (segmentation fault)",
        "a fault in native code: a bug in the native library, or a build that does not match this machine",
        True,
    ),
    signal.SIGBUS: (
        "SIGBUS (bus error)",
        "a fault in native code, or a model file changed while mapped",
        True,
    ),
    signal.SIGFPE: ("SIGFPE (arithmetic fault)", "a fault in native code", True),
    signal.SIGABRT: ("SIGABRT (abort)", "the native library stopped on a failed check", True),
    signal.SIGKILL: (
        "SIGKILL",
        "it was killed from outside, most often by the kernel for lack of memory (the OOM killer)",
        False,
    ),
}


def describe_exit(exitcode: int | None, fix: str, last_words: str = "", when: str = "") -> str:
    """How a worker process ended, in words: the signal (``when``, and what it printed last),
    the likely cause and what to do."""
    said = f' (it said: "{last_words}")' if last_words else ""
    when = f" {when}" if when else ""
    if exitcode is not None and exitcode < 0:
        known = _SIGNALS.get(-exitcode)
        if known is None:
            name = signal.Signals(-exitcode).name if -exitcode in signal.valid_signals() else str(-exitcode)
            return f"died of signal {name}{when}{said}. Fix: {fix}"
        name, cause, ours = known
        todo = fix if ours else "free memory (or lower `concurrency`) and build again"
        return f"died of {name}{when}{said}; likely cause: {cause}. Fix: {todo}"
    if exitcode is None:
        return f"stopped{when}{said}. Fix: {fix}"
    return f"exited with status {exitcode}{when}{said}. Fix: {fix}"


class _Generation:
    """One worker process (an executor of one), with the slots it shares with the parent."""

    def __init__(self, engine: str, arguments: Mapping[str, Any]) -> None:
        context = multiprocessing.get_context("spawn")  # never fork a threaded parent
        self.running = context.RawValue("q", 0)  # the number of the request being served, 0 if none
        self.ready = context.RawValue("b", 0)
        handle, self.log = tempfile.mkstemp(prefix="hotdata-worker-", suffix=".log")
        os.close(handle)
        self.executor = concurrent.futures.ProcessPoolExecutor(
            1,
            mp_context=context,
            initializer=_start,
            initargs=(engine, dict(arguments), self.running, self.ready, self.log),
        )
        self.killed: set[int] = set()  # requests whose worker was killed on purpose (cancelled)
        self.processes: list[Any] = []

    def submit(self, number: int, request: Mapping[str, Any]) -> concurrent.futures.Future[dict[str, Any]]:
        future = self.executor.submit(_serve, number, request)
        if not self.processes:
            # Kept so the exit code can be read after the executor drops its broken worker.
            self.processes = list(self.executor._processes.values())
        return future

    def kill(self) -> None:
        for process in self.processes:
            if process.is_alive():
                process.kill()

    def exitcode(self, guard: float = 10.0) -> int | None:
        """The dead worker's exit code. Read from the process, never by shutting the executor down:
        its manager thread is tearing it down already, and two teardowns close the same pipes twice
        (the second close can hit a pipe a fresh worker has just been given)."""
        deadline = time.monotonic() + guard
        multiprocessing.connection.wait([p.sentinel for p in self.processes], guard)
        while True:
            # None while the manager thread, which reaps it, has not recorded the status yet
            code = next((p.exitcode for p in self.processes if p.exitcode is not None), None)
            if code is not None or time.monotonic() > deadline:
                return code
            time.sleep(0.01)

    def last_words(self) -> str:
        try:
            lines = Path(self.log).read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError:
            return ""
        words = next((line.strip() for line in reversed(lines) if line.strip()), "")
        return words[:200]

    def close(self, guard: float = 10.0) -> None:
        # (typeshed types this private attribute as the wake-up, it is the thread)
        manager: threading.Thread | None = getattr(self.executor, "_executor_manager_thread", None)
        self.kill()
        self.executor.shutdown(wait=False, cancel_futures=True)
        if manager is not None and manager is not threading.current_thread():
            # Python 3.11's exit hook wakes every executor's manager thread without its lock, so
            # it can write to a pipe the manager is closing that moment ("Bad file descriptor"
            # traceback at exit). Once the manager has finished, that wake-up is a no-op.
            manager.join(guard)
        Path(self.log).unlink(missing_ok=True)


class ModelWorker:
    """Requests to one engine, answered in a worker process that is replaced when it dies.

    ``fix`` is what to do when native code crashes (for llama.cpp: reinstall the portable
    build). Messages say "the worker process running it": the caller names the model."""

    def __init__(self, engine: str, arguments: Mapping[str, Any], *, fix: str) -> None:
        self.engine, self.arguments, self.fix = engine, dict(arguments), fix
        self._guard = threading.Lock()
        self._current: _Generation | None = None
        self._numbers = itertools.count(1)
        self._startup_failure: str | None = None
        self._dead: list[_Generation] = []  # their logs are removed when the worker closes

    # Requests ------------------------------------------------------------------------

    def call(self, request: Mapping[str, Any]) -> dict[str, Any]:
        """The engine's reply (blocking); ``WorkerCrashed`` when its worker dies serving it."""
        while True:
            generation, number, future = self._submit(request)
            try:
                return future.result()
            except BrokenProcessPool:
                self._after_break(generation, number)

    async def acall(self, request: Mapping[str, Any]) -> dict[str, Any]:
        """As ``call``, awaited; cancelling it while the worker decodes it kills the worker."""
        while True:
            generation, number, future = self._submit(request)
            try:
                return await asyncio.wrap_future(future)
            except asyncio.CancelledError:
                self._abandon(generation, number, future)
                raise
            except BrokenProcessPool:
                self._after_break(generation, number)

    def _submit(
        self, request: Mapping[str, Any]
    ) -> tuple[_Generation, int, concurrent.futures.Future[dict[str, Any]]]:
        with self._guard:
            if self._startup_failure is not None:
                raise WorkerCrashed(self._startup_failure)
            number = next(self._numbers)
            for _ in range(2):
                if self._current is None:
                    self._current = _Generation(self.engine, self.arguments)
                try:
                    return self._current, number, self._current.submit(number, request)
                except (BrokenProcessPool, RuntimeError, OSError):  # broken or shut down since: start afresh
                    self._retire(self._current)
            raise WorkerCrashed("could not start a worker process for it")

    def _retire(self, generation: _Generation) -> None:
        """Forget a broken worker (the guard is held); its log stays until ``close``."""
        if self._current is generation:
            self._current = None
        if generation not in self._dead:
            self._dead.append(generation)

    def _abandon(
        self, generation: _Generation, number: int, future: concurrent.futures.Future[dict[str, Any]]
    ) -> None:
        if future.cancel():
            return  # never reached the worker
        if generation.running.value == number:
            # Being decoded: only ending the process stops native code. Requests queued behind
            # it are sent again to a fresh worker (see _after_break).
            with self._guard:
                generation.killed.add(number)
                generation.kill()
                self._retire(generation)

    def _after_break(self, generation: _Generation, number: int) -> None:
        """The worker died while ``number`` was queued or served: raise if it was this request's
        doing (or the worker never started); return to have it sent to a fresh worker."""
        with self._guard:
            self._retire(generation)  # first: no request may be submitted to it while it is shut down
        exitcode = generation.exitcode()
        with self._guard:
            if generation.killed:
                return  # killed on purpose for another request: this one goes again
            if not generation.ready.value:
                how = describe_exit(
                    exitcode,
                    self.fix,
                    generation.last_words(),
                    "while loading the model and decoding one token",
                )
                self._startup_failure = (
                    f"the worker process running it {how}; `doit doctor` shows what this machine can run"
                )
                raise WorkerCrashed(self._startup_failure)
            if generation.running.value != number:
                return  # it died serving another request (or idle): this one never ran
            how = describe_exit(exitcode, self.fix, generation.last_words(), "while answering this request")
            raise WorkerCrashed(
                f"the worker process running it {how} (the next request starts a fresh worker)"
            )

    def close(self) -> None:
        """End the worker now, whatever it is doing."""
        with self._guard:
            if self._current is not None:
                self._retire(self._current)
            dead, self._dead = self._dead, []
        for generation in dead:
            generation.close()


class WorkerRegistry:
    """One ``ModelWorker`` per engine in a process, however many model objects ``llm`` makes.

    ``llm`` builds new model objects on every lookup; they all share one worker (one copy
    of the model in memory, one decode at a time, as llama.cpp's context requires)."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._workers: dict[tuple[str, tuple[tuple[str, Any], ...]], ModelWorker] = {}
        self._hooked = False

    def get(self, engine: str, arguments: Mapping[str, Any], *, fix: str) -> ModelWorker:
        key = (engine, tuple(sorted(arguments.items())))
        with self._guard:
            worker = self._workers.get(key)
            if worker is None:
                worker = self._workers[key] = ModelWorker(engine, arguments, fix=fix)
            if not self._hooked:
                _before_executor_exit(self.close_all)
                self._hooked = True
            return worker

    def close_all(self) -> None:
        with self._guard:
            workers = list(self._workers.values())
        for worker in workers:
            worker.close()


def _before_executor_exit(callback: Callable[[], None]) -> None:
    # At interpreter exit concurrent.futures joins its executors, which waits for a busy worker
    # to finish its decode. Hooks registered here run first (they run in reverse order, and
    # concurrent.futures registered its own at import), so a busy worker is killed, not awaited.
    register = getattr(threading, "_register_atexit", None)
    if register is None:  # not CPython: atexit runs later, but still kills the worker
        import atexit

        atexit.register(callback)
    else:
        register(callback)


default_workers = WorkerRegistry()
"""The process's workers: every ``llm`` model object of one engine shares one."""
