"""The adaptive limiter: AIMD on a clock the test drives, header pacing, waiters on other loops,
and a fixture in backoff holding no slot (real HTTP to the fake server)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from hotdata.make import RetrySettings
from hotdata.make.models import AdaptiveLimiter, ModelRequest, RateLimits, parse_reset
from hotdata.testing import FakeOpenAIServer


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def run(coro):  # type: ignore[no-untyped-def]
    return asyncio.run(coro)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("1s", 1.0), ("6m0s", 360.0), ("20ms", 0.02), ("1h2m", 3720.0), ("0.35", 0.35), ("2.5s", 2.5)],
)
def test_reset_values_parse(text: str, seconds: float) -> None:
    assert parse_reset(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["soon", "", "5 parsecs", "1s later"])
def test_unreadable_reset_values_are_none(text: str) -> None:
    assert parse_reset(text) is None


def test_the_window_halves_once_per_round_trip_and_grows_back() -> None:
    clock = Clock()
    limiter = AdaptiveLimiter(8, clock=clock)

    async def scenario() -> None:
        tickets = [await limiter.acquire() for _ in range(8)]
        assert limiter.in_flight == 8
        # every request of the same round trip refused: one decrease, not eight
        for ticket in tickets:
            limiter.release(ticket, "rate_limited", retry_after=0)
        assert limiter.window == 4.0
        assert limiter.stats.decreases == 1 and limiter.stats.rate_limited == 8
        # a full window of successes grows it by about one
        for _ in range(3):
            batch = [await limiter.acquire() for _ in range(int(limiter.window))]
            for ticket in batch:
                limiter.release(ticket, "ok")
        assert 6.0 <= limiter.window <= 7.5
        # a window the build does not fill does not grow
        before = limiter.window
        for _ in range(20):
            limiter.release(await limiter.acquire(), "ok")
        assert limiter.window == pytest.approx(before, abs=0.3)
        # never above the ceiling, never below one
        for _ in range(6):
            ticket = await limiter.acquire()
            limiter._last_decrease_seq = 0  # each its own round trip
            limiter.release(ticket, "rate_limited", retry_after=0)
        assert limiter.window == 1.0

    run(scenario())


def test_retry_after_pauses_new_requests() -> None:
    clock = Clock()
    limiter = AdaptiveLimiter(4, clock=clock)

    async def scenario() -> None:
        limiter.release(await limiter.acquire(), "rate_limited", retry_after=2.5)
        with limiter._lock:
            assert limiter._delay(clock()) == pytest.approx(2.5)
        clock.now += 2.5
        with limiter._lock:
            assert limiter._delay(clock()) == 0.0

    run(scenario())


def test_remaining_zero_paces_until_the_provider_gives_one_back() -> None:
    clock = Clock()
    limiter = AdaptiveLimiter(16, clock=clock)

    async def scenario() -> None:
        ticket = await limiter.acquire()
        # 20 a second: none left (rounded down: up to one is), full again in 1 s -> at least 19
        # come back a second, one every 1/19 s
        limiter.observe(
            ticket,
            {
                "x-ratelimit-limit-requests": "20",
                "x-ratelimit-remaining-requests": "0",
                "x-ratelimit-reset-requests": "1s",
            },
        )
        limiter.release(ticket, "ok")
        with limiter._lock:
            assert limiter._delay(clock()) == pytest.approx(1 / 19)
        clock.now += 1 / 19
        next_one = await limiter.acquire()  # admitted: one came back
        with limiter._lock:
            assert limiter._delay(clock()) == pytest.approx(1 / 19)  # and it is used up again
        limiter.observe(next_one, {"x-ratelimit-remaining-requests": "0", "x-ratelimit-reset-requests": "1s"})
        limiter.release(next_one, "ok")
        # an older response does not overwrite what a newer one said
        limiter.observe(ticket, {"x-ratelimit-remaining-requests": "19"})
        with limiter._lock:
            assert limiter._delay(clock()) > 0

    run(scenario())


def test_remaining_zero_without_a_limit_waits_for_the_reset() -> None:
    clock = Clock()
    limiter = AdaptiveLimiter(16, clock=clock)

    async def scenario() -> None:
        ticket = await limiter.acquire()
        limiter.observe(ticket, {"x-ratelimit-remaining-requests": "0", "x-ratelimit-reset-requests": "3s"})
        limiter.release(ticket, "ok")
        with limiter._lock:
            assert limiter._delay(clock()) == pytest.approx(3.0)
        clock.now += 3.0
        with limiter._lock:
            assert limiter._delay(clock()) == 0.0

    run(scenario())


def test_a_slot_freed_on_one_loop_wakes_a_waiter_on_another() -> None:
    limiter = AdaptiveLimiter(1)
    held = threading.Event()
    admitted = threading.Event()
    release = threading.Event()

    def holder() -> None:
        async def main() -> None:
            ticket = await limiter.acquire()
            held.set()
            await asyncio.to_thread(release.wait)
            limiter.release(ticket, "ok")

        asyncio.run(main())

    def waiter() -> None:
        async def main() -> None:
            ticket = await limiter.acquire()
            admitted.set()
            limiter.release(ticket, "ok")

        asyncio.run(main())

    first = threading.Thread(target=holder)
    first.start()
    assert held.wait(10)
    second = threading.Thread(target=waiter)
    second.start()
    assert not admitted.wait(0.2)  # the only slot is taken
    release.set()
    assert admitted.wait(10)
    first.join(10)
    second.join(10)
    assert limiter.in_flight == 0


def test_a_cancelled_waiter_passes_its_slot_on() -> None:
    limiter = AdaptiveLimiter(1)

    async def scenario() -> None:
        ticket = await limiter.acquire()
        first = asyncio.ensure_future(limiter.acquire())
        second = asyncio.ensure_future(limiter.acquire())
        await asyncio.sleep(0)
        limiter.release(ticket, "ok")  # wakes `first` ...
        first.cancel()  # ... which is cancelled before it runs
        got = await asyncio.wait_for(second, 10)
        assert limiter.in_flight == 1
        limiter.release(got, "ok")

    run(scenario())


@pytest.fixture
def server() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer(seed=1) as srv:
        yield srv


def test_a_request_in_backoff_holds_no_slot(
    server: FakeOpenAIServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server.write_llm_config(tmp_path, "fake-gpt")
    monkeypatch.setenv("LLM_USER_PATH", str(tmp_path))
    from hotdata.make.models import open_model

    limits = RateLimits(ceiling=1)
    retries = RetrySettings(backoff_initial=30, backoff_max=30, max_attempts=2)
    client = open_model("fake-gpt", retries, limits=limits)
    schema = {"type": "object", "properties": {"t": {"type": "string"}}, "required": ["t"]}
    server.inject("500")

    async def scenario() -> None:
        backing_off = asyncio.ensure_future(client.complete(ModelRequest("fake-gpt", "first", "a", schema)))
        while not server.requests:  # the first attempt reached the server (and failed)
            await asyncio.sleep(0.01)
        while client.limiter.in_flight:
            await asyncio.sleep(0.01)
        # the only slot is free while `first` waits 30 s: another request goes through now
        reply = await asyncio.wait_for(client.complete(ModelRequest("fake-gpt", "second", "b", schema)), 10)
        assert reply.text
        assert not backing_off.done()
        backing_off.cancel()

    run(scenario())
    assert [r["fault"] for r in server.requests] == ["500", None]
    assert client.limiter.in_flight == 0


def test_no_tokens_left_pauses_until_the_tokens_reset() -> None:
    clock = Clock()
    limiter = AdaptiveLimiter(4, clock=clock)

    async def scenario() -> None:
        ticket = await limiter.acquire()
        limiter.observe(ticket, {"x-ratelimit-remaining-tokens": "0", "x-ratelimit-reset-tokens": "6m0s"})
        limiter.release(ticket, "ok")
        with limiter._lock:
            assert limiter._delay(clock()) == pytest.approx(360.0)

    run(scenario())
