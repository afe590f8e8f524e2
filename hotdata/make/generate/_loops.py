"""Event loops for generators that may misbehave: a deadline per fixture, and no shared freeze.

Each generation runs on one of a pool of event loops, each in its own thread, so
model clients (bound to a loop) are reused across fixtures while a generator
that blocks its loop (``time.sleep``, a busy loop, a blocking socket) freezes
only its own. A fixture that outlives its deadline fails: awaiting forever is
cancelled; a blocked loop is left behind (its thread is a daemon) and reported
with the file and line it is stuck at, and a fresh loop takes its place. Either
way the caller gets an answer and the run ends.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import sys
import threading
import traceback
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from .._errors import GenerationError

__all__ = ["LoopPool", "StuckError"]

T = TypeVar("T")
# How long a loop may take to answer a ping before it counts as blocked, after a deadline.
_PING_GRACE = 2.0


class StuckError(GenerationError):
    """A fixture outlived its deadline."""


class _Loop:
    """One event loop running forever in a daemon thread."""

    def __init__(self, number: int) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(
            target=self.loop.run_forever, name=f"hotdata-loop-{number}", daemon=True
        )
        self.thread.start()

    def responsive(self, within: float) -> bool:
        done = threading.Event()
        self.loop.call_soon_threadsafe(done.set)
        return done.wait(within)

    def where(self, is_user_code: Callable[[str], bool]) -> str:
        """The innermost frame of user code the loop's thread is executing (for a blocked loop)."""
        frame = sys._current_frames().get(self.thread.ident or -1)
        stack = traceback.extract_stack(frame) if frame is not None else []
        mine = [f for f in stack if is_user_code(f.filename)] or stack[-1:]
        return f"{mine[-1].filename}, line {mine[-1].lineno}" if mine else "an unknown place"

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)


class LoopPool:
    """Runs coroutines on reusable loops, one fixture per loop at a time."""

    def __init__(self, is_user_code: Callable[[str], bool]) -> None:
        self._is_user_code = is_user_code
        self._idle: list[_Loop] = []
        self._busy: set[_Loop] = set()
        self._guard = threading.Lock()
        self._made = 0

    def _take(self) -> _Loop:
        with self._guard:
            if self._idle:
                loop = self._idle.pop()
            else:
                self._made += 1
                loop = _Loop(self._made)
            self._busy.add(loop)
            return loop

    def _give_back(self, loop: _Loop, healthy: bool) -> None:
        with self._guard:
            self._busy.discard(loop)
            if healthy:
                self._idle.append(loop)

    def run(self, coro: Coroutine[Any, Any, T], deadline: float | None, what: str) -> T:
        """Run ``coro`` on a loop of its own; ``StuckError`` when ``deadline`` seconds pass."""
        loop = self._take()

        async def bounded() -> T:
            try:
                return await asyncio.wait_for(coro, deadline)
            except TimeoutError:
                raise StuckError(
                    f"{what} did not finish within fixture_timeout = {deadline:g}s; it was cancelled. "
                    "Raise fixture_timeout in [tool.hotdata] (or timeout= on @fixture) if it needs longer"
                ) from None

        future = asyncio.run_coroutine_threadsafe(bounded(), loop.loop)
        healthy = True
        try:
            # the loop enforces the deadline itself; waiting longer catches a loop that cannot
            return future.result(None if deadline is None else deadline + _PING_GRACE)
        except concurrent.futures.TimeoutError:
            if loop.responsive(_PING_GRACE):
                return future.result()  # the deadline is firing right now: its StuckError follows
            healthy = False
            loop.stop()  # once (if ever) the blocking call returns
            raise StuckError(
                f"{what} blocked its event loop past fixture_timeout = {deadline:g}s, stuck at "
                f"{loop.where(self._is_user_code)}; it was abandoned (other fixtures were not held up). "
                "Use `await asyncio.sleep` / async clients in generators, or run blocking work with "
                "`await asyncio.to_thread(...)`"
            ) from None
        finally:
            self._give_back(loop, healthy)

    def close(self) -> None:
        with self._guard:
            for loop in self._idle:
                loop.stop()
            self._idle.clear()
