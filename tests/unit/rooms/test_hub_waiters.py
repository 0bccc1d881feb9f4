"""``caught_up`` waiters never outlive the room's follower.

With several workers on one log, another worker's ``end`` can land between a join's settle and
its append: the join's seq then lies beyond the end event, which is the last one the follower
applies. A joiner waiting for it (the endpoint does, before ``welcome``) must be released when
the end is applied, not left holding its connection (and its address's connection slot).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any

import pytest

from app.rooms import commands as sys
from app.rooms import events as ev
from app.rooms import hub as hub_module
from app.rooms.events import Envelope, RoomEvent
from app.rooms.hub import ENDED, Hub, RoomChannel
from app.rooms.log import LogLimits
from app.rooms.log_memory import MemoryRoomLog
from app.rooms.state import RoomConfig
from app.rooms.types import MeetingId, MemberId

ROOM = MeetingId("waiters-room")
END = ev.PhaseChanged(p="ended", aud=ev.ROOM_AND_LOBBY)


async def config() -> RoomConfig:
    return RoomConfig(meeting_id=ROOM, capacity=200, lobby=False)


def join(name: str, role: str = "member") -> sys.Join:
    return sys.Join(member=MemberId(name), name=name, key=name, role=role, conn=f"c-{name}")  # type: ignore[arg-type]


class EndingElsewhereLog(MemoryRoomLog):
    """Another worker ends the meeting while a join is being appended here, as Redis allows:
    the end lands first and this worker's follower applies it (and starts dropping the log)
    before the join's append lands right after it."""

    def __init__(self) -> None:
        super().__init__(LogLimits())
        self.armed = False
        self.dropping = asyncio.Event()
        self.appended = asyncio.Event()

    async def append(self, room: MeetingId, events: Sequence[RoomEvent], at: int) -> list[Envelope]:
        if self.armed and any(isinstance(event, ev.Joined) for event in events):
            self.armed = False
            await super().append(room, (END,), at)
            await self.dropping.wait()  # the follower applied the end, alone in its batch
            out = await super().append(room, events, at)
            self.appended.set()
            return out
        return await super().append(room, events, at)

    async def drop(self, room: MeetingId) -> None:
        self.dropping.set()
        await self.appended.wait()
        await super().drop(room)


class Recorder:
    """A connection that records what it is sent and how it is closed."""

    def __init__(self, member: str) -> None:
        self.id = f"c-{member}"
        self.member = MemberId(member)
        self.closed = False
        self.closes: list[tuple[int, str]] = []

    def push(self, items: object) -> None:
        return None

    def close(self, code: int, reason: str = "") -> None:
        self.closed = True
        self.closes.append((code, reason))


@asynccontextmanager
async def open_room(
    log: MemoryRoomLog, *, host: bool = True, **hooks: Any
) -> AsyncIterator[tuple[Hub, RoomChannel]]:
    """A hub on ``log`` with the room open (its host joined, unless ``host=False``), closed
    after the test."""
    hub = Hub(log=log, **hooks)
    try:
        room = await hub.room(ROOM, config)
        assert room is not None
        if host:
            assert isinstance(await room.submit(None, join("host", "host")), list)
        yield hub, room
    finally:
        await hub.close()


async def test_a_join_appended_after_the_end_is_not_waited_for_forever() -> None:
    log = EndingElsewhereLog()
    async with open_room(log) as (hub, room):
        log.armed = True
        result = await room.submit(None, join("ann"))
        assert isinstance(result, list)
        async with asyncio.timeout(2):  # the endpoint's wait before welcome
            await room.caught_up(result[-1].seq)
        assert room.ended
        assert room.state.seq < result[-1].seq  # released, not caught up
        assert "ann" not in room.state.members


async def test_waiters_beyond_the_end_are_released_and_later_ones_not_registered() -> None:
    log = MemoryRoomLog(LogLimits())
    async with open_room(log) as (hub, room):
        beyond = room.state.seq + 5
        waiting = asyncio.create_task(room.caught_up(beyond))
        await asyncio.sleep(0)
        assert not waiting.done()
        await log.append(ROOM, (END,), hub.clock())
        async with asyncio.timeout(2):
            await waiting
        assert room.ended
        assert room.state.seq < beyond
        async with asyncio.timeout(1):
            await room.caught_up(room.state.seq + 1)
            await room.caught_up(beyond + 100, waited_for=False)
        assert room._waiters == []
        # A member the joiner's wait let through is told the meeting ended, not left attached.
        conn = Recorder("host")
        room.attach(conn)
        assert conn.closes == [(ENDED, "meeting ended")]
        assert "host" not in room.conns


async def test_a_stopped_room_releases_its_waiters_and_registers_no_more() -> None:
    hub = Hub(log=MemoryRoomLog(LogLimits()))
    room = await hub.room(ROOM, config)
    assert room is not None
    waiting = asyncio.create_task(room.caught_up(room.state.seq + 3))
    await asyncio.sleep(0)
    await hub.close()
    async with asyncio.timeout(2):
        await waiting  # released: no CancelledError for a caller that was not cancelled
        await room.caught_up(room.state.seq + 1)
    assert room._waiters == []


async def test_a_room_whose_log_is_lost_releases_its_waiters() -> None:
    log = MemoryRoomLog(LogLimits())
    async with open_room(log, host=False) as (hub, room):
        waiting = asyncio.create_task(room.caught_up(room.state.seq + 3))
        await asyncio.sleep(0)
        await flush(log)  # under the running meeting
        async with asyncio.timeout(2):
            await waiting
            await room.caught_up(room.state.seq + 1)
        assert room.stopped and not room.ended
        assert hub.get(ROOM) is None


async def test_a_room_whose_log_cannot_be_followed_does_not_hang_its_openers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The log holds events, but its tail is trimmed and no snapshot covers it: the follower
    # gives up, and the wait in ``start`` for the replica to catch up used to last forever,
    # for every worker's call that opens the room.
    monkeypatch.setattr(hub_module, "RESYNC_ATTEMPTS", 0)
    log = MemoryRoomLog(LogLimits(max_events=2))
    for name in ("ann", "bob", "cy"):
        joined = ev.Joined(m=MemberId(name), n=name, r="member", lob=False, conn="c", joined_at=0)
        await log.append(ROOM, (joined,), hub_module.now_ms())
    hub = Hub(log=log)
    try:
        async with asyncio.timeout(2):
            opened = await asyncio.gather(hub.room(ROOM, config), hub.room(ROOM, config))
        assert [channel is None for channel in opened] == [True, True]
        assert hub.get(ROOM) is None
    finally:
        await hub.close()


async def eventually(condition: Callable[[], bool]) -> None:
    """Wait (2 s at most) until ``condition`` holds: state the room's own tasks change."""
    async with asyncio.timeout(2):
        while not condition():  # noqa: ASYNC110  # no event to wait on: the hub's tasks
            await asyncio.sleep(0.01)


async def flush(log: MemoryRoomLog) -> None:
    """What a Redis FLUSHALL does under a running meeting: the log goes, and no mark says that
    the meeting ended (``drop`` leaves one)."""
    await log.drop(ROOM)
    log._dropped.clear()


class FailingLog(MemoryRoomLog):
    """A log whose subscription fails once armed, as a backend that stays unreachable does."""

    def __init__(self) -> None:
        super().__init__(LogLimits())
        self.armed = False

    async def subscribe(self, room: MeetingId, after: int):  # type: ignore[no-untyped-def, override]
        async for batch in super().subscribe(room, after):
            if self.armed:
                raise ConnectionError("backend unreachable")
            yield batch


async def test_a_room_whose_follower_fails_is_let_go_and_its_members_told_to_resume() -> None:
    log = FailingLog()
    async with open_room(log) as (hub, room):
        conn = Recorder("host")
        room.attach(conn)
        waiting = asyncio.create_task(room.caught_up(room.state.seq + 3))
        log.armed = True
        await log.append(ROOM, (ev.Counted(c=1, aud=ev.ROOM),), hub.clock())
        async with asyncio.timeout(2):
            await waiting
        assert room.stopped and hub.get(ROOM) is None  # opened afresh by the next join
        assert conn.closes == [(hub_module.TOO_SLOW, "room restarted: resume")]


async def test_an_ended_room_appends_nothing_more_to_its_log() -> None:
    log = MemoryRoomLog(LogLimits())
    async with open_room(log) as (hub, room):
        await log.append(ROOM, (END,), hub.clock())
        await eventually(lambda: bool(room.ended))
        refused = await room.submit(None, join("late"))
        assert not isinstance(refused, list) and refused.code == "ended"
        assert await log.epoch(ROOM) is None  # dropped, and not created again


async def test_a_lost_room_tells_the_process_to_forget_what_it_kept_for_it() -> None:
    log = MemoryRoomLog(LogLimits())
    forgotten: list[MeetingId] = []

    async def lost(meeting_id: MeetingId) -> None:
        forgotten.append(meeting_id)

    async with open_room(log, host=False, on_room_lost=lost) as (hub, room):
        await asyncio.sleep(0.05)  # its follower reads the log
        await flush(log)
        await eventually(lambda: bool(forgotten))
        assert forgotten == [ROOM] and room.stopped


async def test_a_replica_of_a_flushed_log_saves_no_snapshot_into_the_new_one() -> None:
    log = MemoryRoomLog(LogLimits())
    async with open_room(log) as (hub, room):
        await asyncio.sleep(0.05)
        old = room.state
        await flush(log)
        await eventually(lambda: bool(room.stopped))
        await log.open(ROOM)  # the room's new log, opened by someone coming back
        await room._save_snapshot(old)  # a save in flight, or the one ``stop`` makes
        assert await log.load_snapshot(ROOM) is None


async def test_an_end_this_worker_did_not_read_in_time_still_ends_the_room_here() -> None:
    # Another worker appended the end and dropped the log before this follower read it.
    log = MemoryRoomLog(LogLimits())
    ended: list[MeetingId] = []

    async def on_ended(meeting_id: MeetingId, state: object) -> None:
        ended.append(meeting_id)

    async with open_room(log, on_room_ended=on_ended) as (hub, room):  # type: ignore[arg-type]
        conn = Recorder("host")
        room.attach(conn)
        await asyncio.sleep(0.05)
        await log.drop(ROOM)
        await eventually(lambda: bool(ended))
        assert room.ended and not room.stopped
        assert conn.closes == [(ENDED, "meeting ended")]  # not 4008: there is nothing to resume
        assert hub.get(ROOM) is None
