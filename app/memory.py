"""Give the heap's free pages back to the operating system, periodically; keep the garbage
collector's full passes off the message path.

A meeting server's memory churns: every join, ticket request and message allocates short-lived
objects among the long-lived ones (connections, members). CPython hands objects above 512
bytes (coroutine frames, dicts of connection objects, deque blocks, frame bytes) to the C
allocator, and glibc's malloc returns memory to the system only from the top of its heap, so
the pages freed between long-lived chunks stay resident. Measured here with 3,000 idle members:
RSS per member fell from 20 to 14 KiB after one ``malloc_trim(0)``, which took 2 ms on that
heap (0.1 ms when there is nothing to give back).

``malloc_trim`` is glibc's; elsewhere (musl, macOS) :func:`trim` does nothing. It runs on the
event loop thread: it holds the allocator's lock for its duration anyway, so a thread would
not keep the loop running meanwhile. A side effect worth having: pages that held freed message
text are unmapped rather than left in the process's heap.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import ctypes.util
import gc
from collections.abc import Callable

from app.tasks import running

TRIM_EVERY_S = 10.0


def _load_trim() -> Callable[[int], int] | None:
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        libc = ctypes.CDLL(name)
        function = libc.malloc_trim
    except (OSError, AttributeError):
        return None
    function.argtypes = [ctypes.c_size_t]
    function.restype = ctypes.c_int
    return function


_TRIM = _load_trim()


def available() -> bool:
    """Whether this C library can give free heap pages back (glibc)."""
    return _TRIM is not None


def trim() -> bool:
    """Release free heap memory to the system now; True when some was released."""
    return bool(_TRIM(0)) if _TRIM is not None else False


async def trim_periodically(every_s: float = TRIM_EVERY_S) -> None:
    """Run :func:`trim` every ``every_s`` seconds until cancelled."""
    if _TRIM is None:
        return
    while True:
        await asyncio.sleep(every_s)
        trim()


GC_THRESHOLDS = (700, 10, 100)
"""CPython's defaults are (700, 10, 10): a full collection is considered after every 10th
middle one. A full collection walks every live container: with 3,000 members connected that
took 190-280 ms here, every few seconds under chat load, and froze every room meanwhile (the
whole p99 of the 200-room benchmark). A tenth as often keeps the young collections as they
are (they catch the cycles that die young) and bounds what waits for a full one."""


def settle_heap() -> None:
    """Once the server has started: collect, then move every object that exists now (modules,
    classes, settings, the app) out of the collector's sight (``gc.freeze``), and make full
    collections rarer (:data:`GC_THRESHOLDS`). Objects made later are collected as usual."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


def trimming(every_s: float = TRIM_EVERY_S) -> contextlib.AbstractAsyncContextManager[None]:
    """Keep :func:`trim_periodically` running for the duration of the block."""
    return running(trim_periodically(every_s), name="haven-malloc-trim")
