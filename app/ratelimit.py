"""The in-process store behind the room rate limits: ``limits``' asyncio memory storage, swept
at most once a second on the event loop.

Upstream schedules an expiry sweep after every hit, and the sweep walks every key and hands each
moving-window key's bisect to a thread (``asyncio.to_thread``). With a thousand members chatting,
that is a sweep running back to back, each one a thousand thread round trips: py-spy put it at
~10% of the server's event loop (thread hand-offs, futures, wake-ups) at 1,000 messages a second.
The hits themselves are cheap. So this subclass keeps the strategies and their arithmetic
(``MovingWindowRateLimiter`` and friends) and replaces only the sweep: inline, without awaiting,
and not more than once per :data:`SWEEP_EVERY_S`. A key that expires between sweeps is still
judged correctly (the strategies compare timestamps on every hit); the sweep only frees memory.

It relies on the storage's documented-in-code fields (``events``, ``expirations``, ``storage``,
``locks``); ``tests/unit/test_ratelimit.py`` pins that behaviour so an upgrade that changes them
fails there, not in production.
"""

from __future__ import annotations

import bisect
import time

from limits.aio.storage import MemoryStorage

SWEEP_EVERY_S = 1.0


class SweptMemoryStorage(MemoryStorage):
    """``limits.aio.storage.MemoryStorage`` with a bounded, inline expiry sweep."""

    def __init__(self) -> None:
        self._next_sweep = 0.0
        super().__init__()

    # Overrides the base class's private ``__schedule_expiry`` (name-mangled), which every hit
    # awaits: it is the only hook the storage offers.
    async def _MemoryStorage__schedule_expiry(self) -> None:
        now = time.monotonic()
        if now < self._next_sweep:
            return
        self._next_sweep = now + SWEEP_EVERY_S
        self.sweep()

    def sweep(self) -> None:
        """Drop expired moving-window entries and counters; keys left empty go entirely."""
        now = time.time()
        for key in list(self.events):
            events = self.events[key]
            # Newest first: entries from ``cutoff`` on have expired.
            cutoff = bisect.bisect_left(events, -now, key=lambda entry: -entry.expiry)
            del events[cutoff:]
            if not events:
                del self.events[key]
                self.locks.pop(key, None)
        for key in [k for k, at in self.expirations.items() if at <= now]:
            self.storage.pop(key, None)
            self.expirations.pop(key, None)
            self.locks.pop(key, None)
