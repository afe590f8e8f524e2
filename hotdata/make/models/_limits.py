"""Adaptive concurrency: one limiter per (provider endpoint, model), shared by every fixture.

A provider's rate limit belongs to the account and the model, not to one fixture, so
every request a build makes to one endpoint and model goes through one
``AdaptiveLimiter``, whichever event loop (thread) it runs on. The limiter decides
when a new HTTP attempt may start:

* a window of requests in flight, grown additively on success (about one more per
  round trip) and halved on a 429 (AIMD, as TCP does); it grows only while it is full,
  so it never runs ahead of what the build asks for, and it never exceeds its ceiling;
* ``Retry-After`` on a 429 pauses every new request until it has passed;
* where responses can carry OpenAI's ``x-ratelimit-limit-requests`` /
  ``x-ratelimit-remaining-requests`` / ``x-ratelimit-reset-requests``, requests are
  paced by them (and no ``x-ratelimit-remaining-tokens`` left pauses them until
  ``x-ratelimit-reset-tokens``): when none remain, new requests wait until the provider has refilled
  one (estimated from the reset time) instead of being refused. The first request
  goes alone (a probe), so a build does not open with a burst the provider refuses
  before it has said what it allows.

Only attempts hold a slot: a fixture waiting out a backoff between attempts holds none.
State is guarded by a ``threading.Lock``; a waiter on another loop is woken with
``loop.call_soon_threadsafe``.
"""

from __future__ import annotations

import asyncio
import contextvars
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Literal

__all__ = [
    "AdaptiveLimiter",
    "AttemptResult",
    "RateLimits",
    "Ticket",
    "current_ticket",
    "parse_reset",
]

# How one HTTP attempt ended, as the limiter counts it.
AttemptResult = Literal["ok", "rate_limited", "error"]
# A provider that does not say how long to wait still gets a pause this long after a 429.
_DEFAULT_PAUSE = 0.05
_RESET_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def parse_reset(value: str | None) -> float | None:
    """Seconds in an ``x-ratelimit-reset-*`` value: ``"1s"``, ``"6m0s"``, ``"20ms"``, ``"0.35"``.

    >>> [parse_reset(v) for v in ("1s", "6m0s", "20ms", "1h2m", "0.5", "soon")]
    [1.0, 360.0, 0.02, 3720.0, 0.5, None]
    """
    if value is None:
        return None
    text = value.strip().lower()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    parts = _RESET_PART.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        return None
    return sum(float(n) * _UNIT_SECONDS[u] for n, u in parts)


@dataclass
class Ticket:
    """One admitted attempt: its place in the order of starts and when it started."""

    seq: int
    started: float
    limiter: AdaptiveLimiter
    done: bool = False


@dataclass
class _Budget:
    """What the provider's headers last said about requests left, as of one admitted attempt."""

    seq: int  # the attempt whose response said it
    seen: float  # when the response came (the provider counted it earlier: a safe side to err on)
    remaining: float
    limit: float | None
    reset: float | None  # seconds from ``seen`` until the provider is full again
    # attempts started before it and still in flight when it came: the provider may not have
    # counted them yet (requests overtake each other between admission and the wire)
    unseen: int = 0


@dataclass
class _Waiter:
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[None]
    woken: bool = False


@dataclass
class LimiterStats:
    """What one limiter saw, for tests and benchmarks."""

    admitted: int = 0
    rate_limited: int = 0
    succeeded: int = 0
    decreases: int = 0
    window_low: float = field(default=float("inf"))


# The attempt running in this task, so response hooks deep inside an SDK can report to it.
_CURRENT: contextvars.ContextVar[Ticket | None] = contextvars.ContextVar(
    "hotdata_limiter_ticket", default=None
)


class AdaptiveLimiter:
    """AIMD concurrency plus header pacing for one (endpoint, model); usable from any loop.

    Args:
        ceiling: the most attempts ever in flight at once.
        probe: send the first attempt alone and wait for its response (for providers whose
            responses carry rate-limit headers).
        clock: monotonic seconds (tests pass their own).
    """

    def __init__(
        self, ceiling: int = 256, *, probe: bool = False, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if ceiling < 1:
            raise ValueError(f"a limiter's ceiling must be at least 1, not {ceiling}")
        self.ceiling = ceiling
        self.window = float(ceiling)
        self.in_flight = 0
        self._flying: set[int] = set()  # seq of the attempts in flight
        self.stats = LimiterStats()
        self._clock = clock
        self._lock = threading.Lock()
        self._seq = 0
        self._paused_until = 0.0
        self._last_decrease_seq = 0
        self._filled = False  # the window was used in full since it last grew
        self._probing = probe  # until the first response: one attempt at a time
        self._budget: _Budget | None = None
        self._rate: float | None = None  # requests a second the provider gives back (a lower bound)
        self._waiters: deque[_Waiter] = deque()

    # -- admission ----------------------------------------------------------------------

    def _delay(self, now: float) -> float:
        """Seconds until a new attempt may start as far as time goes (0: now). Holds the lock."""
        delay = self._paused_until - now
        budget = self._budget
        if budget is not None:
            elapsed = now - budget.seen
            # attempts started after the one the headers came with, and older ones it may not count
            since = self._seq - budget.seq + budget.unseen
            rate = self._rate
            if rate is None and budget.reset is not None and elapsed >= budget.reset:
                self._budget = None  # full again, to a limit we were not told: nothing to pace by
            elif rate is not None:
                cap = budget.limit if budget.limit is not None else float("inf")
                if min(cap, budget.remaining + elapsed * rate) - since < 1:
                    # wait for the provider to give back one request more than we have used
                    delay = max(delay, (1 + since - budget.remaining) / rate - elapsed)
            elif budget.remaining - since < 1:
                delay = max(delay, (budget.reset if budget.reset is not None else _DEFAULT_PAUSE) - elapsed)
        return max(0.0, delay)

    async def acquire(self) -> Ticket:
        """Wait for a slot and for the provider's limits, then admit one attempt."""
        loop = asyncio.get_running_loop()
        while True:
            waiter: _Waiter | None = None
            with self._lock:
                now = self._clock()
                delay = self._delay(now)
                room = 1 if self._probing else max(1, int(self.window))
                if delay <= 0 and self.in_flight < room:
                    self._seq += 1
                    self.in_flight += 1
                    self._flying.add(self._seq)
                    self.stats.admitted += 1
                    self._filled = self._filled or self.in_flight >= int(self.window)
                    ticket = Ticket(self._seq, now, self)
                    _CURRENT.set(ticket)
                    return ticket
                if delay <= 0:
                    self._filled = True
                    waiter = _Waiter(loop, loop.create_future())
                    self._waiters.append(waiter)
            if waiter is None:
                await asyncio.sleep(delay)
                continue
            try:
                await waiter.future
            finally:
                with self._lock:
                    if waiter in self._waiters:
                        self._waiters.remove(waiter)
                    elif waiter.woken and waiter.future.cancelled():
                        self._wake_one()  # the slot it was woken for goes to the next waiter

    def _wake_one(self) -> None:
        """Hand a freed slot to the longest waiter, on its own loop. Holds the lock."""
        while self._waiters:
            waiter = self._waiters.popleft()
            waiter.woken = True
            try:
                waiter.loop.call_soon_threadsafe(_resolve, waiter.future)
            except RuntimeError:  # its loop is closed: the next waiter gets the slot
                continue
            return

    # -- what happened --------------------------------------------------------------------

    def release(self, ticket: Ticket, outcome: AttemptResult, retry_after: float | None = None) -> None:
        """End ``ticket``'s attempt: ``ok`` widens the window, ``rate_limited`` halves it once
        per round trip and pauses new attempts for ``retry_after`` seconds."""
        with self._lock:
            if ticket.done:
                return
            ticket.done = True
            self._probing = False
            flight = self.in_flight
            self.in_flight -= 1
            self._flying.discard(ticket.seq)
            if outcome == "ok":
                self.stats.succeeded += 1
                if self._filled:  # grow only a window the build used in full: about one per round trip
                    size = int(self.window)
                    self.window = min(float(self.ceiling), self.window + 1.0 / self.window)
                    self._filled = int(self.window) == size
            elif outcome == "rate_limited":
                self.stats.rate_limited += 1
                if ticket.seq > self._last_decrease_seq:  # one decrease per round trip
                    self._last_decrease_seq = self._seq
                    self.window = max(1.0, min(self.window, float(flight)) / 2)
                    self.stats.decreases += 1
                    self.stats.window_low = min(self.stats.window_low, self.window)
                pause = _DEFAULT_PAUSE if retry_after is None else retry_after
                self._paused_until = max(self._paused_until, self._clock() + pause)
            self._wake_one()
        if _CURRENT.get() is ticket:
            _CURRENT.set(None)

    def observe(self, ticket: Ticket | None, headers: Mapping[str, str]) -> None:
        """Take the provider's ``x-ratelimit-*`` headers from ``ticket``'s response: requests pace
        new attempts; no tokens left pauses them until the tokens reset."""
        if ticket is None:
            return
        tokens_left = _number(headers.get("x-ratelimit-remaining-tokens"))
        tokens_reset = parse_reset(headers.get("x-ratelimit-reset-tokens"))
        if tokens_left is not None and tokens_left <= 0 and tokens_reset:
            with self._lock:
                self._paused_until = max(self._paused_until, self._clock() + tokens_reset)
        remaining = _number(headers.get("x-ratelimit-remaining-requests"))
        if remaining is None:
            return
        limit = _number(headers.get("x-ratelimit-limit-requests"))
        reset = parse_reset(headers.get("x-ratelimit-reset-requests"))
        with self._lock:
            if self._budget is not None and self._budget.seq > ticket.seq:
                return  # a later attempt's response already said more recent things
            unseen = sum(1 for seq in self._flying if seq < ticket.seq)
            self._budget = _Budget(ticket.seq, self._clock(), remaining, limit, reset, unseen)
            rate = _refill_rate(limit, remaining, reset)
            if rate is not None:  # each response bounds it from below: keep the best bound
                self._rate = max(self._rate or 0.0, rate)


def _refill_rate(limit: float | None, remaining: float, reset: float | None) -> float | None:
    """The least the provider's refill rate can be, from one response: it is full again after
    ``reset`` seconds, and ``remaining`` is rounded down (up to one request more is left), so at
    least ``limit - remaining - 1`` come back in ``reset`` seconds. None when that says nothing."""
    if limit is None or reset is None or reset <= 0:
        return None
    missing = limit - remaining - 1
    return missing / reset if missing > 0 else None


def _number(value: str | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


def current_ticket() -> Ticket | None:
    """The attempt the running task holds, if any (for response hooks)."""
    return _CURRENT.get()


class RateLimits:
    """The limiters of one process, by (endpoint, model): a provider's quota is per account
    and model, so every client that reaches the same endpoint and model shares one."""

    def __init__(self, ceiling: int = 256) -> None:
        self.ceiling = ceiling
        self._limiters: dict[tuple[str, str], AdaptiveLimiter] = {}
        self._lock = threading.Lock()

    def limiter(self, endpoint: str, model: str, *, probe: bool = False) -> AdaptiveLimiter:
        """The limiter of ``endpoint`` and ``model`` (made on first use; ``probe``: see ``AdaptiveLimiter``)."""
        with self._lock:
            found = self._limiters.get((endpoint, model))
            if found is None:
                found = self._limiters[(endpoint, model)] = AdaptiveLimiter(self.ceiling, probe=probe)
            return found

    def items(self) -> list[tuple[tuple[str, str], AdaptiveLimiter]]:
        with self._lock:
            return list(self._limiters.items())
