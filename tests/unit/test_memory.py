"""Free heap pages go back to the system (glibc), and the periodic task stops cleanly."""

import asyncio

import pytest

from app import memory


@pytest.mark.skipif(not memory.available(), reason="not glibc")
def test_trim_releases_freed_heap_memory() -> None:
    # Chunks above the mmap threshold would be returned at once; 4 KiB ones stay in the heap.
    blocks = [bytearray(4096) for _ in range(20_000)]
    keep = blocks[::50]  # long-lived chunks pin the heap between the freed ones
    del blocks
    assert memory.trim() is True
    assert len(keep) == 400


async def test_periodic_trim_runs_and_stops(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    monkeypatch.setattr(memory, "_TRIM", lambda pad: calls.append(pad) or 0)
    async with memory.trimming(every_s=0.01):
        await asyncio.sleep(0.1)
    seen = len(calls)
    assert seen >= 2 and calls[0] == 0
    await asyncio.sleep(0.05)
    assert len(calls) == seen


def test_settle_heap_hides_startup_objects_and_keeps_collecting_new_cycles() -> None:
    import gc

    before = gc.get_threshold()
    try:
        memory.settle_heap()
        assert gc.get_freeze_count() > 1000  # modules, classes, functions of the server
        assert gc.get_threshold() == memory.GC_THRESHOLDS

        class Node:
            other: object = None

        a, b = Node(), Node()
        a.other, b.other = b, a
        del a, b
        assert gc.collect() >= 2, "cycles made after startup are still collected"
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)
