"""Background tasks: cancelling one and waiting for it, and tasks that live as long as a block."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Coroutine
from typing import Any

RECANCEL_S = 1.0
"""How long :func:`cancel_and_wait` waits for a cancelled task before cancelling it again: long
enough for the clean-up a task does when cancelled (a room's last database write, say), which
a second cancellation would cut short at its next await."""


async def cancel_and_wait(task: asyncio.Task[Any]) -> None:
    """Cancel ``task`` and wait until it is done, cancelling it again while it is not; raise
    what it raised, if not its cancellation.

    Two things go wrong with ``task.cancel()`` and then ``await task`` under
    ``suppress(CancelledError)``. A cancellation can be lost on the way: in Python 3.11,
    ``asyncio.wait_for`` (which redis-py wraps around its socket calls when a socket timeout is
    set) returns its inner call's result and drops the cancellation when both land in the same
    turn of the loop, and the await then never ends. And a cancellation of the caller itself,
    arriving while it waits, is suppressed with the task's. Here the first costs
    ``RECANCEL_S`` and the second propagates.
    """
    if not task.done() and not task.cancelling():  # not already cancelled by the caller
        task.cancel()
    while not task.done():
        await asyncio.wait([task], timeout=RECANCEL_S)
        if not task.done():
            task.cancel()
    if not task.cancelled() and (error := task.exception()) is not None:
        raise error


@contextlib.asynccontextmanager
async def running(coro: Coroutine[Any, Any, None], name: str) -> AsyncIterator[None]:
    """Run ``coro`` as a task for the duration of the block, then cancel it and wait."""
    task = asyncio.create_task(coro, name=name)
    try:
        yield
    finally:
        await cancel_and_wait(task)
