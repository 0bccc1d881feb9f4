"""Joins racing the start of a meeting: nobody is left in the lobby of a meeting without one.

The endpoint submits each command as it arrives; the replica applies appended events a moment
later. A ``start`` decided before the replica applied joins already in the log, or a join
decided before it applied the ``start``, would strand members in the lobby.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest

from app.rooms import commands as sys
from app.rooms import hub as hub_module
from app.rooms import protocol as p
from app.rooms.hub import Hub, RoomChannel
from app.rooms.log import LogLimits
from app.rooms.log_memory import MemoryRoomLog
from app.rooms.state import RoomConfig
from app.rooms.types import MeetingId, MemberId, Seq

ROOM = MeetingId("race-room")


async def config() -> RoomConfig:
    return RoomConfig(meeting_id=ROOM, capacity=200, lobby=False)


def join(name: str, role: str = "member") -> sys.Join:
    return sys.Join(member=MemberId(name), name=name, key=name, role=role, conn=f"c-{name}")  # type: ignore[arg-type]


async def test_members_joining_around_start_all_end_up_in_the_room() -> None:
    hub = Hub(log=MemoryRoomLog(LogLimits()))
    try:
        room = await hub.room(ROOM, config)
        assert room is not None
        await room.submit(None, join("host", "host"))
        # Members join while the meeting waits, the host starts, more join: all at once, as
        # a burst of connections does, without waiting for the replica in between.
        early = [room.submit(None, join(f"early{i}")) for i in range(20)]
        start = room.submit(MemberId("host"), p.Start(t="start"))
        late = [room.submit(None, join(f"late{i}")) for i in range(20)]
        results = await asyncio.gather(*early, start, *late)
        assert all(isinstance(r, list) for r in results)
        last = max(r[-1].seq for r in results if isinstance(r, list) and r)
        async with asyncio.timeout(5):
            await room.caught_up(last)
        assert room.state.phase == "live"
        stranded = [m.name for m in room.state.members.values() if m.lobby]
        assert stranded == []
        assert len(room.state.members) == 41
    finally:
        await hub.close()


async def test_chat_is_not_held_back_by_the_ordering() -> None:
    hub = Hub(log=MemoryRoomLog(LogLimits()))
    try:
        room = await hub.room(ROOM, config)
        assert room is not None
        for name, role in (("host", "host"), ("ann", "member")):
            result = await room.submit(None, join(name, role))
            assert isinstance(result, list)
            await room.caught_up(result[-1].seq)
        started = await room.submit(MemberId("host"), p.Start(t="start"))
        assert isinstance(started, list)
        await room.caught_up(started[-1].seq)
        posts = await asyncio.gather(
            *(room.submit(MemberId("ann"), sys.Post(cid=f"c{i}", text="hi")) for i in range(5))
        )
        assert all(isinstance(r, list) and r for r in posts)
    finally:
        await hub.close()


async def test_a_burst_of_joins_does_not_wait_for_write_coalescing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Joins are decided one at a time, each once the previous one is applied. The follower's
    # pause for more events under load must not be paid once per join: with a 0.2 s pause,
    # 20 joins would take 4 s.
    monkeypatch.setattr(hub_module, "COALESCE_S", 0.2)
    hub = Hub(log=MemoryRoomLog(LogLimits()))
    try:
        room = await hub.room(ROOM, config)
        assert room is not None
        async with asyncio.timeout(1.5):
            results = await asyncio.gather(*(room.submit(None, join(f"m{i}")) for i in range(20)))
            last = max(r[-1].seq for r in results if isinstance(r, list) and r)
            await room.caught_up(last)
        assert len(room.state.members) == 20
    finally:
        await hub.close()


class FailingLog(MemoryRoomLog):
    """A log whose trims or snapshot saves fail, as Redis calls can; records its trims."""

    def __init__(self, *, trims_fail: bool = False, snapshots_fail: bool = False) -> None:
        super().__init__(LogLimits())
        self.trims_fail, self.snapshots_fail = trims_fail, snapshots_fail
        self.throughs: list[int] = []

    async def save_snapshot(self, room: MeetingId, seq: Seq, data: bytes) -> None:
        if self.snapshots_fail:
            raise OSError("connection lost")
        await super().save_snapshot(room, seq, data)

    async def trim(self, room: MeetingId, now: int, *, through: Seq = Seq(0)) -> None:
        self.throughs.append(through)
        if self.trims_fail:
            raise OSError("connection lost")
        await super().trim(room, now, through=through)


@contextlib.asynccontextmanager
async def emptied_room(
    log: MemoryRoomLog, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[tuple[Hub, RoomChannel]]:
    """A room its only member has left, with timers that tick every 10 ms and trim the quiet
    room's log every 20 ms."""
    monkeypatch.setattr(hub_module, "TICK_S", 0.01)
    monkeypatch.setattr(hub_module, "LOG_TRIM_EVERY_S", 0.02)
    hub = Hub(log=log)
    try:
        room = await hub.room(ROOM, config)
        assert room is not None
        assert isinstance(await room.submit(None, join("ann")), list)
        assert isinstance(await room.submit(MemberId("ann"), p.Leave(t="leave")), list)
        yield hub, room
    finally:
        await hub.close()


async def trimmed(log: FailingLog, times: int) -> None:
    async with asyncio.timeout(2):
        while len(log.throughs) < times:  # noqa: ASYNC110  # the tick trims the empty room
            await asyncio.sleep(0.01)


async def test_a_failing_trim_does_not_stop_the_room_timers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    log = FailingLog(trims_fail=True)
    async with emptied_room(log, monkeypatch) as (hub, room):
        await trimmed(log, 2)
        # Past the idle end: the timers, still running, end the empty meeting.
        now = hub.clock()
        hub.clock = lambda: now + room.state.config.idle_end_ms + 1
        async with asyncio.timeout(2):
            while not room.ended:  # noqa: ASYNC110
                await asyncio.sleep(0.01)


async def test_an_emptied_room_keeps_its_events_while_no_snapshot_is_saved(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A worker that opens the room later starts from the snapshot; without one it needs the
    # events, so only the age limit trims them.
    log = FailingLog(snapshots_fail=True)
    async with emptied_room(log, monkeypatch):
        await trimmed(log, 3)
        assert set(log.throughs) == {0}
        assert (await log.read(ROOM, Seq(0))).complete


class LosingLog(MemoryRoomLog):
    """A log whose ``last_seq`` drops the first cancellation that lands on it, as Python 3.11's
    ``asyncio.wait_for`` does (redis-py wraps its socket calls in it when a socket timeout is
    set) when the call it wraps completes in the same turn of the loop."""

    def __init__(self) -> None:
        super().__init__(LogLimits())
        self.reading = asyncio.Event()
        self.lost = 0

    async def last_seq(self, room: MeetingId) -> Seq:
        self.reading.set()
        try:
            await asyncio.sleep(0.05)
        except asyncio.CancelledError:
            if self.lost:
                raise
            self.lost += 1
        return await super().last_seq(room)


async def test_a_room_stops_even_when_a_cancellation_is_lost(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # With a timer due at every tick (as a running share timer makes it), the room's timers
    # take the ordered path, which calls last_seq, on every tick; the hub's close cancels them
    # in there. Before, close waited for the tick task forever: it went on ticking. (And a
    # timeout around that close would have passed: the wait swallowed the timeout's
    # cancellation too.)
    monkeypatch.setattr(hub_module, "timers_due", lambda state, now: True)
    log = LosingLog()
    async with emptied_room(log, monkeypatch) as (hub, room):
        log.reading.clear()
        async with asyncio.timeout(2):
            await log.reading.wait()
        closing = asyncio.create_task(hub.close())
        await asyncio.wait([closing], timeout=2)  # not a timeout that cancels it: see below
        assert closing.done()
        closing.result()
        assert log.lost == 1
        assert all(task.done() for task in room._tasks)
