"""The room rate limits' storage: limits still hold, expiry still frees memory, and the sweep
neither runs per hit nor goes through threads."""

import asyncio
from unittest import mock

import pytest
from limits import parse
from limits.aio.strategies import MovingWindowRateLimiter

from app import ratelimit
from app.ratelimit import SweptMemoryStorage


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Wall and monotonic time under the test's control (limits reads ``time.time``)."""
    now = [1_000_000.0]
    monkeypatch.setattr("time.time", lambda: now[0])
    monkeypatch.setattr("time.monotonic", lambda: now[0])
    return now


async def test_moving_window_limits_hold(clock: list[float]) -> None:
    limiter = MovingWindowRateLimiter(SweptMemoryStorage())
    item = parse("5/5second")
    assert [await limiter.hit(item, "say", "m1", "a") for _ in range(6)] == [True] * 5 + [False]
    assert await limiter.hit(item, "say", "m1", "b"), "another member has their own window"
    clock[0] += 2.0
    assert not await limiter.hit(item, "say", "m1", "a"), "the window has not moved on yet"
    clock[0] += 3.5
    assert await limiter.hit(item, "say", "m1", "a")
    stats = await limiter.get_window_stats(item, "say", "m1", "a")
    assert stats.remaining == 4


async def test_expired_keys_are_swept_without_threads(clock: list[float]) -> None:
    storage = SweptMemoryStorage()
    limiter = MovingWindowRateLimiter(storage)
    item = parse("3/second")
    with mock.patch.object(asyncio, "to_thread") as to_thread:
        for member in range(100):
            await limiter.hit(item, "say", str(member))
        assert len(storage.events) == 100
        clock[0] += 2.0
        await limiter.hit(item, "say", "late")
        to_thread.assert_not_called()
    (key,) = storage.events
    assert "/late/" in key
    assert not storage.locks.keys() - storage.events.keys()


async def test_the_sweep_runs_at_most_once_per_interval(clock: list[float]) -> None:
    storage = SweptMemoryStorage()
    limiter = MovingWindowRateLimiter(storage)
    item = parse("1000/second")
    with mock.patch.object(storage, "sweep", wraps=storage.sweep) as sweep:
        for _ in range(500):
            await limiter.hit(item, "say", "m")
        assert sweep.call_count == 1
        clock[0] += ratelimit.SWEEP_EVERY_S
        await limiter.hit(item, "say", "m")
        assert sweep.call_count == 2


async def test_partly_expired_windows_keep_their_live_entries(clock: list[float]) -> None:
    storage = SweptMemoryStorage()
    limiter = MovingWindowRateLimiter(storage)
    item = parse("10/10second")
    for _ in range(4):
        await limiter.hit(item, "k")
    clock[0] += 6.0
    for _ in range(3):
        await limiter.hit(item, "k")
    clock[0] += 5.0  # the first four are now older than ten seconds
    storage.sweep()
    (events,) = storage.events.values()
    assert len(events) == 3
    assert await limiter.hit(item, "k")
    assert (await limiter.get_window_stats(item, "k")).remaining == 6
