"""The RoomLog contract (app/rooms/log.py), one suite run against every backend.

Each test gets a log from the registry (``open_room_log``) for ``memory://`` and for a
throwaway redis-server (tests/support/services.py; it fails, never skips, without the binary).
The few tests at the end are about Redis only: several workers sharing one Redis, the key
layout, TTLs, and what a flushed or partly expired Redis does to a log.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis

from app.config import Settings
from app.rooms import commands as sys
from app.rooms import events as ev
from app.rooms import hub as hub_module
from app.rooms import protocol as p
from app.rooms.events import Envelope, RoomEvent
from app.rooms.hub import Hub, RoomChannel
from app.rooms.lifespan import log_limits
from app.rooms.log import LogLimits, RoomLog, UnknownBackend, open_room_log
from app.rooms.log_memory import MemoryRoomLog
from app.rooms.log_redis import BLOCK_MS, RedisRoomLog
from app.rooms.state import RoomConfig
from app.rooms.state_codec import load_state
from app.rooms.types import HoldId, MeetingId, MemberId, Seq

UNIT = 1.0
"""Seconds; every wait below is a multiple, so a slow machine changes one number."""

LIMITS = LogLimits(max_events=1000, max_age_ms=900_000, ttl_s=600)
ROOM = MeetingId("room-a")
T0 = 1_700_000_000_000

OpenLog = Callable[..., RoomLog]


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
def log_url(request: pytest.FixtureRequest) -> str:
    if request.param == "memory":
        return "memory://"
    return str(request.getfixturevalue("redis_url"))


@pytest.fixture
async def open_log(log_url: str) -> AsyncIterator[OpenLog]:
    """Open logs on this test's backend (as many as needed: each one is a worker), closed after.

    For ``memory://`` every call opens an independent log: "several workers" only makes sense
    for the shared backends, and the tests that need it ask for Redis explicitly.
    """
    opened: list[RoomLog] = []

    def open_(limits: LogLimits = LIMITS) -> RoomLog:
        log = open_room_log(log_url, limits)
        opened.append(log)
        return log

    yield open_
    for log in opened:
        await log.close()


@pytest.fixture
def room_log(open_log: OpenLog) -> RoomLog:
    return open_log()


def said(i: int, who: str = "ann") -> ev.Said:
    return ev.Said(m=MemberId(who), n=who.capitalize(), x=f"message {i}", cid=f"c{i}")


SAMPLES: list[RoomEvent] = [
    ev.Joined(
        m=MemberId("ann"),
        n="Ann",
        r="member",
        lob=True,
        conn="c1",
        joined_at=T0,
        key="ann",
        device="d" * 16,
        aud=ev.ROOM_AND_LOBBY,
    ),
    ev.Held(
        h=HoldId("h1"),
        m=MemberId("ann"),
        n="Ann",
        x="held text",
        cid="c0",
        why=("abuse.insult", "spam.repeat"),
        aud=ev.FAC,
    ),
    ev.Reported(m=MemberId("bob"), to=None, why="", by=MemberId("ann"), aud=ev.FAC),
    ev.CareOffered(
        m=MemberId("ann"),
        card={"title": "Help", "lines": [1, 2]},
        aud=ev.to_member(MemberId("ann")),
    ),
    ev.FloorChanged(m=None, n=None, until=None),
    said(1),
]


async def take(log: RoomLog, after: int, until: int) -> list[Envelope]:
    """Subscribe after ``after`` and collect every event up to seq ``until``."""
    out: list[Envelope] = []
    async with asyncio.timeout(5 * UNIT):
        async with contextlib.aclosing(log.subscribe(ROOM, Seq(after))) as batches:  # type: ignore[type-var]
            async for batch in batches:
                out.extend(batch)
                if out[-1].seq >= until:
                    break
    return out


async def follow_to_the_end(log: RoomLog, started: asyncio.Event) -> list[Envelope]:
    """Everything a subscriber after 0 gets until its iterator ends by itself."""
    got: list[Envelope] = []
    async for batch in log.subscribe(ROOM, Seq(0)):
        got += batch
        started.set()
    return got


async def append_many(log: RoomLog, n: int, *, at: int = T0, start: int = 0) -> list[Envelope]:
    out: list[Envelope] = []
    for i in range(n):
        out += await log.append(ROOM, [said(start + i)], at)
    return out


def seqs(envelopes: list[Envelope]) -> list[int]:
    return [e.seq for e in envelopes]


# -- the contract, for every backend ------------------------------------------------------


async def test_append_stamps_consecutive_gapless_seqs_from_one(room_log: RoomLog) -> None:
    first = await room_log.append(ROOM, SAMPLES[:1], T0)
    rest = await room_log.append(ROOM, SAMPLES[1:], T0 + 5)
    assert seqs(first + rest) == list(range(1, len(SAMPLES) + 1))
    assert [e.at for e in rest] == [T0 + 5] * len(rest)
    assert await room_log.last_seq(ROOM) == len(SAMPLES)
    read = await room_log.read(ROOM, Seq(0))
    assert read.complete
    # Every field survives the backend's storage, audience and internal fields included.
    assert read.events == first + rest
    assert [e.event for e in read.events] == SAMPLES


async def test_empty_append_changes_nothing(room_log: RoomLog) -> None:
    assert await room_log.append(ROOM, [], T0) == []
    assert await room_log.last_seq(ROOM) == 0


async def test_concurrent_appends_stay_gapless_and_atomic(room_log: RoomLog) -> None:
    async def writer(w: int) -> list[list[Envelope]]:
        calls = []
        for i in range(8):
            events = [said(100 * w + 10 * i + k, who=f"w{w}") for k in range(1 + (i % 3))]
            calls.append(await room_log.append(ROOM, events, T0))
        return calls

    results = await asyncio.gather(*(writer(w) for w in range(12)))
    calls = [call for calls in results for call in calls]
    total = sum(len(call) for call in calls)
    assert sorted(e.seq for call in calls for e in call) == list(range(1, total + 1))
    for call in calls:  # one call's events are consecutive: nothing interleaved with them
        assert seqs(call) == list(range(call[0].seq, call[0].seq + len(call)))
    read = await room_log.read(ROOM, Seq(0))
    assert read.complete
    assert read.events == sorted((e for call in calls for e in call), key=lambda e: e.seq)


async def test_read_after_n_returns_the_rest_in_order(room_log: RoomLog) -> None:
    appended = await append_many(room_log, 10)
    read = await room_log.read(ROOM, Seq(4))
    assert read.complete and read.events == appended[4:]
    assert read.epoch == await room_log.epoch(ROOM)
    caught_up = await room_log.read(ROOM, Seq(10))
    assert caught_up.complete and caught_up.events == []
    # A client claiming a seq the log never reached (another epoch) cannot be served a tail.
    future = await room_log.read(ROOM, Seq(12))
    assert not future.complete and future.events == []


async def test_trimming_by_count_makes_old_positions_incomplete(open_log: OpenLog) -> None:
    limits = LogLimits(max_events=10, max_age_ms=900_000, ttl_s=600)
    log = open_log(limits)
    appended = await append_many(log, 300)
    everything = await log.read(ROOM, Seq(0))
    assert not everything.complete
    # At least max_events stay; Redis trims whole stream nodes, so up to one node (100) more.
    assert limits.max_events <= len(everything.events) <= limits.max_events + 100
    assert everything.events == appended[-len(everything.events) :]
    recent = await log.read(ROOM, Seq(290))
    assert recent.complete and recent.events == appended[290:]
    with pytest.raises(LookupError):
        await take(log, after=0, until=300)


async def test_trimming_by_age_makes_old_positions_incomplete(open_log: OpenLog) -> None:
    log = open_log(LogLimits(max_events=1000, max_age_ms=60_000, ttl_s=600))
    await append_many(log, 5, at=T0)
    late = await log.append(ROOM, [said(99)], T0 + 61_000)
    read = await log.read(ROOM, Seq(0))
    assert not read.complete
    assert read.events == late
    assert (await log.read(ROOM, Seq(5))).complete
    with pytest.raises(LookupError):
        await take(log, after=2, until=6)


async def test_age_trimming_spreads_its_work_but_catches_up(open_log: OpenLog) -> None:
    log = open_log(LogLimits(max_events=1000, max_age_ms=60_000, ttl_s=600))
    await append_many(log, 300, at=T0)
    later = T0 + 120_000
    fresh = [e for _ in range(4) for e in await log.append(ROOM, [said(0)], later)]
    read = await log.read(ROOM, Seq(0))
    assert not read.complete
    assert read.events == fresh  # four appends removed 300 old entries between them


async def test_trim_drops_what_is_past_the_age_without_an_append(open_log: OpenLog) -> None:
    # A room with nothing to append (everyone silent, or gone while it waits to end) must not
    # keep what was said past the age limit until it ends.
    log = open_log(LogLimits(max_events=1000, max_age_ms=60_000, ttl_s=600))
    appended = await append_many(log, 300, at=T0)  # more than one batch of Redis's age trim
    late = await log.append(ROOM, [said(300)], T0 + 30_000)
    await log.trim(ROOM, T0 + 59_000)
    assert (await log.read(ROOM, Seq(0))).events == [*appended, *late]
    await log.trim(ROOM, T0 + 61_000)
    read = await log.read(ROOM, Seq(0))
    assert not read.complete and read.events == late
    await log.trim(ROOM, T0 + 91_000)
    assert (await log.read(ROOM, Seq(0))).events == []
    assert (await log.read(ROOM, Seq(301))).complete  # the position itself is kept
    assert await log.last_seq(ROOM) == 301
    other = MeetingId("never-opened")
    await log.trim(other, T0)
    assert await log.epoch(other) is None  # trimming does not create a log


async def test_trim_through_a_seq_drops_everything_up_to_it_whatever_its_age(
    room_log: RoomLog,
) -> None:
    appended = await append_many(room_log, 300, at=T0)  # more than one batch of Redis's trim
    await room_log.save_snapshot(ROOM, Seq(250), b"state")
    await room_log.trim(ROOM, T0, through=Seq(250))
    read = await room_log.read(ROOM, Seq(0))
    assert not read.complete and read.events == appended[250:]
    assert (await room_log.read(ROOM, Seq(250))).complete
    await room_log.trim(ROOM, T0, through=Seq(300))
    assert (await room_log.read(ROOM, Seq(0))).events == []
    assert (await room_log.read(ROOM, Seq(300))).complete  # the position itself is kept
    assert await room_log.last_seq(ROOM) == 300
    assert await room_log.load_snapshot(ROOM) == (250, b"state")
    nxt = await room_log.append(ROOM, [said(301)], T0)
    assert seqs(nxt) == [301]
    other = MeetingId("never-opened")
    await room_log.trim(other, T0, through=Seq(5))
    assert await room_log.epoch(other) is None  # trimming does not create a log


async def test_subscribe_replays_then_follows_without_gaps(room_log: RoomLog) -> None:
    before = await append_many(room_log, 5)
    reader = asyncio.create_task(take(room_log, after=2, until=65))
    after: list[Envelope] = []
    for i in range(20):
        after += await room_log.append(ROOM, [said(10 + i), said(50 + i), said(90 + i)], T0)
        if i % 4 == 0:
            await asyncio.sleep(0)  # let the reader run between some appends, not others
    got = await reader
    assert got == before[2:] + after
    assert seqs(got) == list(range(3, 66))


async def test_subscribe_at_the_head_waits_for_new_events(room_log: RoomLog) -> None:
    await append_many(room_log, 3)
    reader = asyncio.create_task(take(room_log, after=3, until=4))
    await asyncio.sleep(0)
    new = await room_log.append(ROOM, [said(7)], T0)
    assert await reader == new


async def test_two_subscribers_see_the_same_sequence(room_log: RoomLog) -> None:
    readers = [asyncio.create_task(take(room_log, after=0, until=60)) for _ in range(2)]

    async def writer(w: int) -> None:
        for i in range(10):
            await room_log.append(ROOM, [said(i, who=f"w{w}"), said(i + 1, who=f"w{w}")], T0)

    await asyncio.gather(*(writer(w) for w in range(3)))
    one, two = await asyncio.gather(*readers)
    assert one == two
    assert seqs(one) == list(range(1, 61))


async def test_drop_ends_subscribers_and_deletes_the_room(room_log: RoomLog, log_url: str) -> None:
    await room_log.open(ROOM)
    await append_many(room_log, 3)
    await room_log.save_snapshot(ROOM, Seq(3), b"state")
    started = asyncio.Event()
    reader = asyncio.create_task(follow_to_the_end(room_log, started))
    await started.wait()
    await room_log.drop(ROOM)
    # Well within BLOCK_MS: drop wakes the reader, it does not wait for a timeout.
    async with asyncio.timeout(min(2 * UNIT, BLOCK_MS / 2000)):
        assert seqs(await reader) == [1, 2, 3]
    assert await room_log.epoch(ROOM) is None
    assert await room_log.last_seq(ROOM) == 0
    assert await room_log.load_snapshot(ROOM) is None
    if log_url.startswith("redis"):
        assert await redis_keys(log_url, f"haven:*{ROOM}*") == []
    # Only a mark, for a follower that was not reading at that instant: the meeting ended.
    assert await room_log.dropped(ROOM)
    assert not await room_log.dropped(MeetingId("another-room"))


async def test_epoch_is_stable_until_the_room_is_dropped(room_log: RoomLog) -> None:
    assert await room_log.epoch(ROOM) is None
    epoch = await room_log.open(ROOM)
    assert epoch and await room_log.open(ROOM) == epoch
    await append_many(room_log, 3)
    assert await room_log.epoch(ROOM) == epoch
    assert (await room_log.read(ROOM, Seq(0))).epoch == epoch
    await room_log.drop(ROOM)
    assert await room_log.epoch(ROOM) is None
    again = await room_log.open(ROOM)
    assert again != epoch
    assert seqs(await room_log.append(ROOM, [said(1)], T0)) == [1]


async def test_claim_is_true_exactly_once(room_log: RoomLog) -> None:
    results = await asyncio.gather(*(room_log.claim("ticket:n1", 60) for _ in range(10)))
    assert results.count(True) == 1
    assert not await room_log.claim("ticket:n1", 60)
    assert await room_log.claim("ticket:n2", 60)


async def test_snapshot_round_trips_and_the_newest_is_kept(room_log: RoomLog) -> None:
    await room_log.open(ROOM)
    assert await room_log.load_snapshot(ROOM) is None
    await room_log.save_snapshot(ROOM, Seq(5), b"\x00five")
    assert await room_log.load_snapshot(ROOM) == (5, b"\x00five")
    await room_log.save_snapshot(ROOM, Seq(9), b"nine")
    assert await room_log.load_snapshot(ROOM) == (9, b"nine")


async def test_rooms_are_independent(room_log: RoomLog) -> None:
    other = MeetingId("room-b")
    await append_many(room_log, 3)
    assert seqs(await room_log.append(other, [said(1)], T0)) == [1]
    await room_log.drop(other)
    assert seqs((await room_log.read(ROOM, Seq(0))).events) == [1, 2, 3]


async def test_ping(room_log: RoomLog) -> None:
    await room_log.ping()


def test_registry_picks_the_backend_by_scheme() -> None:
    assert isinstance(open_room_log("memory://", LIMITS), MemoryRoomLog)
    assert isinstance(open_room_log("redis://127.0.0.1:1/0", LIMITS), RedisRoomLog)
    assert isinstance(open_room_log("REDISS://127.0.0.1:1/0", LIMITS), RedisRoomLog)
    with pytest.raises(UnknownBackend):
        open_room_log("kafka://somewhere", LIMITS)


# -- Redis only ---------------------------------------------------------------------------


async def redis_keys(url: str, pattern: str) -> list[bytes]:
    client = aioredis.Redis.from_url(url)
    try:
        return sorted([key async for key in client.scan_iter(match=pattern)])
    finally:
        await client.aclose()


async def redis_call(url: str, call: Callable[[aioredis.Redis], Awaitable[Any]]) -> Any:
    client = aioredis.Redis.from_url(url)
    try:
        return await call(client)
    finally:
        await client.aclose()


@pytest.fixture
async def two_workers(redis_url: str) -> AsyncIterator[tuple[RoomLog, RoomLog]]:
    one, two = open_room_log(redis_url, LIMITS), open_room_log(redis_url, LIMITS)
    yield one, two
    await one.close()
    await two.close()


@pytest.mark.redis
async def test_two_workers_share_rooms_gaplessly(two_workers: tuple[RoomLog, RoomLog]) -> None:
    one, two = two_workers
    assert await one.open(ROOM) == await two.open(ROOM)
    readers = [
        asyncio.create_task(take(one, after=0, until=80)),
        asyncio.create_task(take(two, after=0, until=80)),
    ]

    async def writer(log: RoomLog, w: int) -> list[Envelope]:
        out: list[Envelope] = []
        for i in range(20):
            out += await log.append(ROOM, [said(i, who=f"w{w}"), said(i + 1, who=f"w{w}")], T0)
        return out

    from_one, from_two = await asyncio.gather(writer(one, 1), writer(two, 2))
    assert sorted(seqs(from_one + from_two)) == list(range(1, 81))
    assert {e.event.m for e in from_one} == {"w1"} and {e.event.m for e in from_two} == {"w2"}  # type: ignore[union-attr]
    seen_by_one, seen_by_two = await asyncio.gather(*readers)
    assert seen_by_one == seen_by_two == sorted(from_one + from_two, key=lambda e: e.seq)
    assert [await one.claim("k", 60), await two.claim("k", 60)] == [True, False]


@pytest.mark.redis
async def test_key_layout_and_ttls(redis_url: str) -> None:
    log = open_room_log(redis_url, LogLimits(ttl_s=600))
    try:
        await append_many(log, 2)
        await log.save_snapshot(ROOM, Seq(2), b"state")
        keys = await redis_keys(redis_url, "haven:*")
        base = f"haven:room:{{{ROOM}}}"
        assert keys == sorted(f"{base}:{k}".encode() for k in ("epoch", "log", "seq", "snap"))
        for key in keys:
            ttl = await redis_call(redis_url, lambda c, key=key: c.ttl(key))
            assert 0 < ttl <= 600
        ids = await redis_call(redis_url, lambda c: c.xrange(f"{base}:log"))
        assert [entry_id for entry_id, _ in ids] == [b"1-0", b"2-0"]
        assert set(ids[0][1]) == {b"at", b"d"}
    finally:
        await log.close()


@pytest.mark.redis
async def test_a_flushed_redis_means_a_new_epoch(redis_url: str) -> None:
    log = RedisRoomLog(redis_url, LIMITS, block_ms=100)
    try:
        epoch = await log.open(ROOM)
        await append_many(log, 3)
        started = asyncio.Event()
        reader = asyncio.create_task(follow_to_the_end(log, started))
        await started.wait()
        await redis_call(redis_url, lambda c: c.flushall())
        # The reader notices within one block: its log is gone, the iterator ends.
        async with asyncio.timeout(5 * UNIT):
            assert seqs(await reader) == [1, 2, 3]
        assert await log.open(ROOM) != epoch
        assert seqs(await log.append(ROOM, [said(1)], T0)) == [1]
    finally:
        await log.close()


@pytest.mark.redis
async def test_a_log_with_a_vanished_epoch_starts_over(redis_url: str) -> None:
    log = open_room_log(redis_url, LIMITS)
    try:
        epoch = await log.open(ROOM)
        await append_many(log, 3)
        await redis_call(redis_url, lambda c: c.delete(f"haven:room:{{{ROOM}}}:epoch"))
        new = await log.append(ROOM, [said(9)], T0)
        assert seqs(new) == [1]
        read = await log.read(ROOM, Seq(0))
        assert read.events == new and read.epoch != epoch
    finally:
        await log.close()


@pytest.mark.redis
async def test_drop_wakes_a_reader_blocked_in_redis(redis_url: str) -> None:
    log = RedisRoomLog(redis_url, LIMITS, block_ms=60_000)
    try:
        await log.open(ROOM)
        reader = asyncio.create_task(take(log, after=0, until=1))
        async with asyncio.timeout(5 * UNIT):
            while not await blocked_in_xread(redis_url):  # noqa: ASYNC110  # state of another process
                await asyncio.sleep(0.01)
        await log.drop(ROOM)
        async with asyncio.timeout(2 * UNIT):
            assert await reader == []
    finally:
        await log.close()


async def blocked_in_xread(url: str) -> bool:
    clients = await redis_call(url, lambda c: c.client_list())
    return any(c.get("cmd") == "xread" and "b" in c.get("flags", "") for c in clients)


@pytest.mark.redis
async def test_a_reader_overtaken_by_trimming_raises(redis_url: str) -> None:
    log = open_room_log(redis_url, LogLimits(max_events=10, max_age_ms=900_000, ttl_s=600))
    try:
        await append_many(log, 1)
        async with contextlib.aclosing(log.subscribe(ROOM, Seq(0))) as batches:  # type: ignore[type-var]
            assert seqs(await anext(batches)) == [1]
            await append_many(log, 400, start=1)  # the reader is paused meanwhile
            with pytest.raises(LookupError):
                await anext(batches)
    finally:
        await log.close()


@pytest.mark.redis
async def test_close_ends_subscribers(redis_url: str) -> None:
    log = RedisRoomLog(redis_url, LIMITS, block_ms=60_000)
    await log.open(ROOM)
    reader = asyncio.create_task(take(log, after=0, until=1))
    async with asyncio.timeout(5 * UNIT):
        while not await blocked_in_xread(redis_url):  # noqa: ASYNC110  # state of another process
            await asyncio.sleep(0.01)
    await log.close()
    async with asyncio.timeout(2 * UNIT):
        assert await reader == []


# -- a worker joining a meeting mid-way (app/rooms/hub.py over each backend) --------------


@pytest.fixture
def two_worker_logs(
    log_url: str, open_log: OpenLog
) -> Callable[[LogLimits], tuple[RoomLog, RoomLog]]:
    """Two workers' views of one log: two clients of one Redis, or one shared memory log."""

    def make(limits: LogLimits) -> tuple[RoomLog, RoomLog]:
        first = open_log(limits)
        return first, (first if log_url == "memory://" else open_log(limits))

    return make


async def caught_up(*channels: RoomChannel, seq: int) -> None:
    async with asyncio.timeout(5 * UNIT):
        await asyncio.gather(*(channel.caught_up(seq) for channel in channels))


async def submitted(channel: RoomChannel, actor: str | None, cmd: Any) -> int:
    """Submit like the endpoint does (then wait for the replica): the seq of the last event."""
    result = await channel.submit(MemberId(actor) if actor else None, cmd)
    assert isinstance(result, list) and result, result
    await caught_up(channel, seq=result[-1].seq)
    return result[-1].seq


async def run_meeting(channel: RoomChannel, messages: int) -> int:
    """Host, start, three members, then ``messages`` posts; returns the last seq."""
    for name, role in [("host", "host"), ("ann", "member"), ("bob", "member"), ("cat", "member")]:
        join = sys.Join(member=MemberId(name), name=name, key=name, role=role, conn=f"c-{name}")
        last = await submitted(channel, None, join)
        if name == "host":
            last = await submitted(channel, "host", p.Start(t="start"))
    for i in range(messages):
        last = await submitted(channel, "ann" if i % 2 else "bob", sys.Post(cid=f"c{i}", text="t"))
    return last


def config_loader() -> Callable[[], Awaitable[RoomConfig | None]]:
    async def load() -> RoomConfig:
        return RoomConfig(meeting_id=ROOM, capacity=10)

    return load


@pytest.mark.parametrize("messages", [10, 150])
async def test_a_worker_joins_a_meeting_mid_way(
    two_worker_logs: Callable[[LogLimits], tuple[RoomLog, RoomLog]],
    monkeypatch: pytest.MonkeyPatch,
    messages: int,
) -> None:
    """Worker B opens a running meeting: snapshot + tail gives it worker A's very state.

    With 150 messages and a 40-event window the head of the log is gone (by count: Redis
    keeps up to one stream node more, so 150 is past that too), and B can only get there
    from a snapshot.
    """
    monkeypatch.setattr(hub_module, "SNAPSHOT_EVERY", 10)
    log_a, log_b = two_worker_logs(LogLimits(max_events=40, max_age_ms=900_000, ttl_s=600))
    a, b = Hub(log=log_a), Hub(log=log_b)
    try:
        room_a = await a.room(ROOM, config_loader())
        assert room_a is not None
        last = await run_meeting(room_a, messages)
        await caught_up(room_a, seq=last)
        if messages > 100:
            assert not (await log_a.read(ROOM, Seq(0))).complete
        room_b = await b.room(ROOM, config_loader())
        assert room_b is not None
        await caught_up(room_b, seq=last)
        assert room_b.state == room_a.state
        # And B takes part like any worker: its commands reach A, both replicas stay equal.
        late = await submitted(room_b, "cat", sys.Post(cid="late", text="t"))
        await caught_up(room_a, seq=late)
        assert room_b.state == room_a.state
        assert room_a.state.members[MemberId("cat")].sent == 1
    finally:
        await a.close()
        await b.close()


async def test_a_stopping_worker_leaves_its_state_behind(room_log: RoomLog) -> None:
    worker = Hub(log=room_log)
    room = await worker.room(ROOM, config_loader())
    assert room is not None
    last = await run_meeting(room, 3)
    await caught_up(room, seq=last)
    await worker.close()
    saved = await room_log.load_snapshot(ROOM)
    assert saved is not None and saved[0] == last
    assert load_state(saved[1]) == room.state


@pytest.fixture
def fast_timers(monkeypatch: pytest.MonkeyPatch) -> None:
    """Room ticks every 10 ms and quiet-log trims every 20 ms (scaled by UNIT)."""
    monkeypatch.setattr(hub_module, "TICK_S", 0.01 * UNIT)
    monkeypatch.setattr(hub_module, "LOG_TRIM_EVERY_S", 0.02 * UNIT)


@contextlib.asynccontextmanager
async def all_gone_but_one_away(
    two_worker_logs: Callable[[LogLimits], tuple[RoomLog, RoomLog]], max_age_ms: int
) -> AsyncIterator[tuple[Hub, RoomChannel, Hub, RoomLog, int]]:
    """Worker A's room after a meeting with nothing left to append: everyone left but cat,
    whose connection dropped (away, and may resume within the window). Yields worker A, its
    room, worker B (not in the room yet), A's log and the last seq."""
    log_a, log_b = two_worker_logs(LogLimits(max_events=1000, max_age_ms=max_age_ms, ttl_s=600))
    a, b = Hub(log=log_a), Hub(log=log_b)
    try:
        room_a = await a.room(ROOM, config_loader())
        assert room_a is not None
        last = await run_meeting(room_a, 5)
        for name in ("ann", "bob", "host"):
            last = await submitted(room_a, name, p.Leave(t="leave"))
        last = await submitted(room_a, "cat", sys.Disconnect(member=MemberId("cat"), conn="c-cat"))
        assert MemberId("cat") in room_a.state.members
        assert any(isinstance(e.event, ev.Said) for e in (await log_a.read(ROOM, Seq(0))).events)
        yield a, room_a, b, log_a, last
    finally:
        await a.close()
        await b.close()


async def emptied_then_opened_by(b: Hub, room_a: RoomChannel, log_a: RoomLog, last: int) -> None:
    """Wait for A's tick to empty its log; then worker B opens the room, from the snapshot A
    saved first, and gets to A's very state."""
    async with asyncio.timeout(5 * UNIT):
        while (await log_a.read(ROOM, Seq(0))).events:  # noqa: ASYNC110  # the tick trims
            await asyncio.sleep(0.01 * UNIT)
    assert (await log_a.read(ROOM, Seq(last))).complete
    room_b = await b.room(ROOM, config_loader())
    assert room_b is not None
    await caught_up(room_b, seq=last)
    assert room_b.state == room_a.state


@pytest.mark.usefixtures("fast_timers")
async def test_a_quiet_room_is_trimmed_and_a_later_worker_still_opens_it(
    two_worker_logs: Callable[[LogLimits], tuple[RoomLog, RoomLog]],
) -> None:
    """Nothing to append, and a member who may still resume: the room's tick trims the log by
    age (after saving a snapshot), and a worker that opens the room after that starts from the
    snapshot."""
    async with all_gone_but_one_away(two_worker_logs, max_age_ms=60_000) as (
        a,
        room_a,
        b,
        log,
        last,
    ):
        for _ in range(10):  # several trim periods, within the age limit: nothing goes
            await asyncio.sleep(0.02 * UNIT)
        assert (await log.read(ROOM, Seq(0))).complete
        now = a.clock()
        a.clock = lambda: now + 61_000  # a minute past the age limit, within the resume window
        await emptied_then_opened_by(b, room_a, log, last)
        assert MemberId("cat") in room_a.state.members


@pytest.mark.usefixtures("fast_timers")
async def test_a_room_everyone_left_drops_what_it_kept_and_a_later_worker_still_opens_it(
    two_worker_logs: Callable[[LogLimits], tuple[RoomLog, RoomLog]],
) -> None:
    """The log keeps events for members who resume. Once the room has no member left (they
    left, or their resume window ended), nobody can: its tick drops everything, long before
    the age limit. While one member may still resume, nothing goes."""
    async with all_gone_but_one_away(two_worker_logs, max_age_ms=900_000) as (
        _,
        room_a,
        b,
        log,
        last,
    ):
        for _ in range(10):  # several trim periods
            await asyncio.sleep(0.02 * UNIT)
        assert (await log.read(ROOM, Seq(0))).complete
        last = await submitted(room_a, "cat", p.Leave(t="leave"))
        assert not room_a.state.members
        await emptied_then_opened_by(b, room_a, log, last)


async def test_a_worker_is_alive_while_it_beats(room_log: RoomLog) -> None:
    await room_log.beat("w1", 0.3 * UNIT)
    await room_log.beat("w2", 30)
    assert await room_log.alive({"w1", "w2", "w3"}) == {"w1", "w2"}
    assert await room_log.alive(()) == set()
    await room_log.retire("w2")
    assert await room_log.alive({"w1", "w2"}) == {"w1"}
    await asyncio.sleep(0.4 * UNIT)
    assert await room_log.alive({"w1"}) == set()  # stopped beating: gone
    await room_log.beat("w1", 30)
    assert await room_log.alive({"w1"}) == {"w1"}


@pytest.fixture
def fast_beats(monkeypatch: pytest.MonkeyPatch) -> None:
    """Workers beat every 20 ms and are gone after 100 ms without one (scaled by UNIT)."""
    monkeypatch.setattr(hub_module, "BEAT_S", 0.02 * UNIT)
    monkeypatch.setattr(hub_module, "WORKER_TTL_S", 0.1 * UNIT)


class Link:
    """A member's open connection on a worker, as the hub sees it (no socket behind it)."""

    def __init__(self, worker: Hub, member: str) -> None:
        self.id = f"{worker.workers.me}.{member}"
        self.member = MemberId(member)
        self.closed: int | None = None

    def push(self, items: list[Any]) -> None:
        return None

    def close(self, code: int, reason: str = "") -> None:
        self.closed = code


async def connected(room: RoomChannel, worker: Hub, name: str, role: str = "member") -> Link:
    """``name`` joins through ``worker`` (whose replica is ``room``), connected there."""
    link = Link(worker, name)
    await submitted(
        room, None, sys.Join(member=MemberId(name), name=name, key=name, role=role, conn=link.id)
    )  # type: ignore[arg-type]
    room.attach(link)  # type: ignore[arg-type]
    worker.workers.sessions.add(link.id)
    return link


async def until(check: Callable[[], bool], timeout: float = 5 * UNIT) -> None:
    async with asyncio.timeout(timeout):
        while not check():  # noqa: ASYNC110  # what is awaited is another worker's tick
            await asyncio.sleep(0.01 * UNIT)


def crash(worker: Hub) -> None:
    """The worker's process dies: it stops beating and following, and appends nothing more."""
    assert worker.workers._task is not None
    worker.workers.stopped = True  # a cancellation can be lost in redis-py's socket calls
    worker.workers._task.cancel()
    for room in worker.rooms.values():
        room.stopped = True
        for task in room._tasks:
            task.cancel()


@pytest.mark.usefixtures("fast_timers", "fast_beats")
async def test_members_of_a_crashed_worker_go_away_then_leave_and_the_timers_go_on(
    two_worker_logs: Callable[[LogLimits], tuple[RoomLog, RoomLog]],
) -> None:
    """Worker A crashes with Ann and Bob connected through it: nobody appends their ``away``.
    Ann has the smallest id, so A ran the room's timers. Worker B finds A gone: it runs the
    timers now, sends Ann and Bob away, and their resume window ends (they never came back):
    they leave, and the share timer of B's member runs out on time."""
    log_a, log_b = two_worker_logs(LIMITS)
    a, b = Hub(log=log_a), Hub(log=log_b)

    async def load() -> RoomConfig:
        return RoomConfig(meeting_id=ROOM, resume_window_ms=300, share_limit_s=1)

    try:
        room_a = await a.room(ROOM, load)
        room_b = await b.room(ROOM, load)
        assert room_a is not None and room_b is not None
        host = await connected(room_b, b, "host", "host")
        last = await submitted(room_b, "host", p.Start(t="start"))
        zed = await connected(room_b, b, "zed")
        await connected(room_a, a, "ann")
        await connected(room_a, a, "bob")
        last = room_a.state.seq
        await caught_up(room_a, room_b, seq=last)
        assert room_a.leads_timers() and not room_b.leads_timers()  # "ann" is the smallest
        crash(a)
        await until(lambda: not room_b.state.members[MemberId("ann")].present)
        assert not room_b.state.members[MemberId("bob")].present
        assert room_b.leads_timers()
        await until(lambda: MemberId("ann") not in room_b.state.members)
        assert MemberId("bob") not in room_b.state.members
        left = [e.event for e in (await log_b.read(ROOM, Seq(last))).events]
        assert {(e.m, e.why) for e in left if isinstance(e, ev.Left)} == {
            ("ann", "timeout"),
            ("bob", "timeout"),
        }
        # B's own members were never taken for gone, and the timers run for them.
        assert room_b.state.members[MemberId("zed")].present and host.closed is None
        await submitted(room_b, "host", p.Floor(t="floor", m=zed.member))
        assert room_b.state.floor == zed.member and room_b.state.floor_until is not None
        await until(lambda: room_b.state.floor_until is None)  # time is up
    finally:
        await b.close()
        with contextlib.suppress(Exception):
            await a.close()


@contextlib.asynccontextmanager
async def host_on_b_and_ann_on_a(
    two_worker_logs: Callable[[LogLimits], tuple[RoomLog, RoomLog]],
) -> AsyncIterator[tuple[Hub, Hub, RoomChannel, Link]]:
    """Workers A and B following one room, the host connected through B and Ann through A
    (applied on both). Yields A, B, B's room and Ann's link; closes both workers after."""
    log_a, log_b = two_worker_logs(LIMITS)
    a, b = Hub(log=log_a), Hub(log=log_b)
    try:
        room_a = await a.room(ROOM, config_loader())
        room_b = await b.room(ROOM, config_loader())
        assert room_a is not None and room_b is not None
        await connected(room_b, b, "host", "host")
        ann = await connected(room_a, a, "ann")
        await caught_up(room_b, seq=room_a.state.seq)
        yield a, b, room_b, ann
    finally:
        await a.close()
        await b.close()


@pytest.mark.usefixtures("fast_timers", "fast_beats")
async def test_a_worker_that_shuts_down_is_gone_at_once_and_one_taken_for_gone_resumes(
    two_worker_logs: Callable[[LogLimits], tuple[RoomLog, RoomLog]],
) -> None:
    """A worker that closes cleanly retires (its members, had they not left, go away at
    once); a worker taken for gone while it still runs (its beats late) closes its members'
    links with the resumable code, so they come back rather than wait to be dropped."""
    async with host_on_b_and_ann_on_a(two_worker_logs) as (a, b, room_b, ann):
        assert ann.id.startswith(a.workers.me + ".")
        # A's beats stop (its loop stalls, say) while its connections are open.
        assert a.workers._task is not None
        a.workers.stopped = True
        a.workers._task.cancel()
        await until(lambda: ann.closed is not None)
        assert ann.closed == 4008  # resume
        await until(lambda: not room_b.state.members[MemberId("ann")].present)
        assert await b.log.alive({a.workers.me}) == set()
        await a.close()
        assert await b.log.alive({a.workers.me}) == set()
        assert await b.log.alive({b.workers.me}) == {b.workers.me}
        await b.close()
        assert await a.log.alive({b.workers.me}) == set()  # retired: gone at once


@pytest.mark.redis
async def test_a_trim_renews_the_keys_and_a_room_nobody_follows_expires(redis_url: str) -> None:
    """The worker that follows a room trims it every few seconds, which renews its keys'
    TTL; a room that nobody trims or appends to any more is gone ``ttl_s`` later, what was
    said in it included."""
    log = RedisRoomLog(redis_url, LogLimits(max_events=1000, max_age_ms=900_000, ttl_s=600))
    try:
        await append_many(log, 2)
        await log.save_snapshot(ROOM, Seq(2), b"state")
        keys = await redis_keys(redis_url, f"haven:room:{{{ROOM}}}:*")
        assert len(keys) == 4
        for key in keys:
            await redis_call(redis_url, lambda c, key=key: c.expire(key, 2))
        await log.trim(ROOM, T0 + 1)
        for key in keys:
            assert await redis_call(redis_url, lambda c, key=key: c.ttl(key)) > 500
        for key in keys:
            await redis_call(redis_url, lambda c, key=key: c.pexpire(key, 100))
        await asyncio.sleep(0.3 * UNIT)
        assert await redis_keys(redis_url, f"haven:room:{{{ROOM}}}:*") == []
        await log.trim(ROOM, T0 + 2)  # a late trim does not bring it back
        assert await redis_keys(redis_url, f"haven:room:{{{ROOM}}}:*") == []
    finally:
        await log.close()


def test_the_room_keys_outlive_the_age_limit_or_a_resume_window(tmp_path: Path) -> None:
    for age, window, ttl in ((900, 120, 900), (60, 120, 180)):
        settings = Settings(data_dir=tmp_path, log_max_age_s=age, resume_window_s=window)
        assert log_limits(settings).ttl_s == ttl


@pytest.mark.usefixtures("fast_timers", "fast_beats")
async def test_a_member_whose_away_was_lost_goes_away_at_the_next_beats(
    two_worker_logs: Callable[[LogLimits], tuple[RoomLog, RoomLog]],
) -> None:
    """Ann's link on worker A closed, and the ``away`` its session appends was lost (an
    append that failed). A is alive, so no other worker sends her away: A itself does, once
    two beats in a row found her on a connection id of A's with no session behind it."""
    async with host_on_b_and_ann_on_a(two_worker_logs) as (a, _, room_b, ann):
        for _ in range(5):  # beats: a session that goes on is left alone
            await asyncio.sleep(0.02 * UNIT)
        assert room_b.state.members[MemberId("ann")].present
        room_a = a.rooms[ROOM]
        room_a.detach(ann)  # type: ignore[arg-type]
        a.workers.sessions.discard(ann.id)  # the session ended; its Disconnect never landed
        await until(lambda: not room_b.state.members[MemberId("ann")].present)
        assert room_b.state.members[MemberId("host")].present
