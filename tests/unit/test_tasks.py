"""Stopping a background task: it ends even if a cancellation is lost, and the caller's own
cancellation is never swallowed with the task's."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest

from app.tasks import cancel_and_wait, running


async def loses_one_cancellation(entered: asyncio.Event) -> None:
    """Loops like a room's timers; drops the first cancellation that reaches it, as Python
    3.11's ``asyncio.wait_for`` does when its inner call completes in the same turn."""
    lost = False
    while True:
        entered.set()
        try:
            await asyncio.sleep(0.01)
        except asyncio.CancelledError:
            if lost:
                raise
            lost = True


async def then(clean_up: Callable[[], Awaitable[None]]) -> None:
    """Waits until cancelled, then runs ``clean_up`` on its way out."""
    try:
        await asyncio.sleep(3600)
    finally:
        await clean_up()


async def test_a_task_that_loses_a_cancellation_is_cancelled_again() -> None:
    entered = asyncio.Event()
    task = asyncio.create_task(loses_one_cancellation(entered))
    await entered.wait()
    stopping = asyncio.create_task(cancel_and_wait(task))
    await asyncio.wait([stopping], timeout=2)  # a timeout that does not cancel it
    assert stopping.done() and stopping.exception() is None
    assert task.cancelled()


async def test_the_callers_cancellation_is_not_swallowed() -> None:
    # The task takes its time to finish; meanwhile whoever stops it is cancelled (a timeout
    # around a shutdown, say). ``suppress(CancelledError)`` around ``await task`` ate that.
    release = asyncio.Event()
    task = asyncio.create_task(then(release.wait))
    await asyncio.sleep(0)
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.05):
            await cancel_and_wait(task)
    release.set()
    await cancel_and_wait(task)
    assert task.cancelled()


async def test_what_the_task_raised_is_raised() -> None:
    async def fail() -> None:
        raise OSError("connection lost")

    task = asyncio.create_task(then(fail))
    await asyncio.sleep(0)
    with pytest.raises(OSError, match="connection lost"):
        await cancel_and_wait(task)


async def test_a_block_stops_its_task_even_when_a_cancellation_is_lost() -> None:
    entered = asyncio.Event()

    async def block() -> None:
        async with running(loses_one_cancellation(entered), name="ticks"):
            await entered.wait()

    done = asyncio.create_task(block())
    await asyncio.wait([done], timeout=2)
    assert done.done() and done.exception() is None


async def test_a_task_cleaning_up_is_left_to_finish() -> None:
    # A room cancels both its tasks, then waits for each: the second wait must not cancel a
    # task again while it does its last write.
    cleaned = asyncio.Event()

    async def last_write() -> None:
        await asyncio.sleep(0.2)
        cleaned.set()

    task = asyncio.create_task(then(last_write))
    await asyncio.sleep(0)
    task.cancel()
    await asyncio.sleep(0)  # it is in its clean-up now
    await cancel_and_wait(task)
    assert cleaned.is_set()
