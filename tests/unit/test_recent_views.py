"""Participants' view of a meeting is read once per burst of tickets, forgotten on edit, and
never kept for a meeting that does not exist."""

import asyncio
from dataclasses import replace

import pytest

from app.meetings.runtime import MeetingRuntime, RecentViews

VIEW = MeetingRuntime(
    id="m1",
    title="Tuesday",
    format="open",
    capacity=50,
    lobby=False,
    chat_mode="open",
    members_visible=True,
    share_limit_s=0,
    readings=(),
    passcode_hash=None,
    policy={},
    facilitators=(),
    is_owner=False,
    is_facilitator=False,
)


class Loader:
    def __init__(self, view: MeetingRuntime | None) -> None:
        self.view = view
        self.calls = 0

    async def __call__(self) -> MeetingRuntime | None:
        self.calls += 1
        return self.view


async def test_a_burst_of_tickets_reads_the_meeting_once_per_ttl() -> None:
    now = [0.0]
    views = RecentViews(ttl_s=2.0, clock=lambda: now[0])
    load = Loader(VIEW)
    for _ in range(500):
        assert await views.get("m1", load) is VIEW
    assert load.calls == 1
    now[0] = 2.5
    await views.get("m1", load)
    assert load.calls == 2


async def test_an_edit_through_this_process_is_seen_at_once() -> None:
    views = RecentViews(clock=lambda: 0.0)
    load = Loader(VIEW)
    await views.get("m1", load)
    load.view = replace(VIEW, passcode_hash="$argon2id$...")
    views.forget("m1")
    got = await views.get("m1", load)
    assert got is not None and got.has_passcode


async def test_unknown_meetings_are_not_kept_and_the_size_is_bounded() -> None:
    views = RecentViews(max_entries=10, clock=lambda: 0.0)
    missing = Loader(None)
    for i in range(100):
        assert await views.get(f"guess{i}", missing) is None
    assert missing.calls == 100 and not views._views
    for i in range(25):
        await views.get(f"m{i}", Loader(replace(VIEW, id=f"m{i}")))
    assert len(views._views) <= 10


class SlowLoader(Loader):
    """Reads take until ``release`` is set, like a query in flight."""

    def __init__(self, view: MeetingRuntime | None) -> None:
        super().__init__(view)
        self.release = asyncio.Event()

    async def __call__(self) -> MeetingRuntime | None:
        self.calls += 1
        await self.release.wait()
        if isinstance(self.view, Exception):
            raise self.view
        return self.view


async def test_joins_that_arrive_during_a_read_wait_for_it() -> None:
    views = RecentViews(clock=lambda: 0.0)
    load = SlowLoader(VIEW)
    waiting = [asyncio.create_task(views.get("m1", load)) for _ in range(128)]
    await asyncio.sleep(0)
    load.release.set()
    assert all(got is VIEW for got in await asyncio.gather(*waiting))
    assert load.calls == 1


async def test_a_read_cancelled_or_failed_does_not_fail_the_others() -> None:
    views = RecentViews(clock=lambda: 0.0)
    load = SlowLoader(VIEW)
    first = asyncio.create_task(views.get("m1", load))
    await asyncio.sleep(0)
    others = [asyncio.create_task(views.get("m1", load)) for _ in range(5)]
    await asyncio.sleep(0)
    first.cancel()  # the first joiner went away mid-read
    await asyncio.sleep(0)
    load.release.set()
    assert all(got is VIEW for got in await asyncio.gather(*others))
    # One of the others read again, for all of them.
    assert load.calls == 2

    failing = SlowLoader(VIEW)
    failing.view = OSError("database gone")  # type: ignore[assignment]
    failing.release.set()
    with pytest.raises(OSError):
        await views.get("m2", failing)
    assert not views._reading


async def test_a_read_in_flight_during_an_edit_is_not_kept() -> None:
    views = RecentViews(clock=lambda: 0.0)
    load = SlowLoader(VIEW)
    reading = asyncio.create_task(views.get("m1", load))
    await asyncio.sleep(0)
    views.forget("m1")  # edited while the read was in flight
    load.release.set()
    assert await reading is VIEW
    edited = Loader(replace(VIEW, title="Tuesday, new time"))
    got = await views.get("m1", edited)
    assert got is not None and got.title == "Tuesday, new time" and edited.calls == 1
