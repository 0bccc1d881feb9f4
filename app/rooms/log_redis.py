"""Room log on Redis Streams: several workers and hosts share each meeting's log.

Why Streams and not Pub/Sub: Pub/Sub delivers a message to whoever is connected at that
instant and forgets it. A worker that blinks (a network partition, a slow event loop, a
reconnect) silently misses events, and nothing is kept for a client that resumes after a
dropped connection (channels_redis documents this trade-off for its Pub/Sub layer). A stream
is a log: every entry keeps its place, a reader asks for "everything after seq N" and gets
exactly that or learns that it is gone (``LookupError``, ``complete=False``), never a silent gap.
That is what resume needs, and what a worker joining a meeting mid-way needs.

Keys (all of one room share the hash tag ``{room}``, so a Redis Cluster keeps them in one slot
and the scripts below stay legal there)::

    haven:room:{<id>}:log    stream; entry id "<seq>-0", fields at=<ms> d=<codec.record bytes>
    haven:room:{<id>}:seq    last seq handed out (INCRBY)
    haven:room:{<id>}:epoch  random; set once with SET NX by whoever creates the log
    haven:room:{<id>}:snap   hash: seq, d=<state_codec bytes>, the newest snapshot
    haven:claim:<key>        single-use markers (join tickets), SET NX PX
    haven:worker:<id>        a worker's heartbeat (a random id, no content), SET PX

A log exists exactly while its epoch key does. Whoever creates the epoch (``open``, ``read``,
``subscribe`` or ``append`` on a missing log) deletes anything left of an older log of the same
room first, so a log whose keys partly expired, or a flushed or restarted Redis, starts over
at seq 1 under a new epoch, and clients that resume with the old epoch get a fresh snapshot.
Every key carries the TTL ``limits.ttl_s``; each append and each trim refreshes it on all four.
The worker that runs a room's timers trims a quiet room every few seconds, so a room that no
worker follows any more (they all stopped or died) disappears ``ttl_s`` after.

``append`` is one Lua script, atomic on the server: consecutive, gapless seqs even when
several workers append to one room at once. It trims by count with ``XADD MAXLEN ~`` (whole
stream nodes: at least ``max_events`` stay retained, up to one node of 100 entries more) and
by age from the oldest end, looking at no more than :data:`AGE_TRIM_BATCH` entries per call.
Appends and claims are never retried by the client: a reply lost with the connection would
otherwise append the same events twice or refuse a ticket as already used.

``subscribe`` reads with ``XREAD BLOCK`` on connections of its own pool (a blocked read holds
its connection, which must not starve the commands' pool), pipelined between two reads of the
epoch key. It ends when the room is dropped or its log replaced: ``drop`` first appends a
tombstone entry, which wakes every reader blocked on the stream at once, and then deletes
the keys (two separate commands, not a transaction or a script: Redis serves blocked readers
after each command, and a key deleted within the same command would leave them blocked). A
reader that was busy at that moment sees the epoch gone on its next round; a room that merely
expired is noticed after at most ``block_ms``.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from collections.abc import AsyncIterator, Collection, Coroutine, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import redis.asyncio as redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from app.rooms import codec
from app.rooms.events import Envelope, RoomEvent
from app.rooms.log import DROPPED_S, LogLimits, ReadResult
from app.rooms.types import MeetingId, Seq

PREFIX = "haven:"
AGE_TRIM_BATCH = 128
"""Most entries one append inspects and removes for age; the rest goes with later appends."""
BLOCK_MS = 5_000
"""Longest a subscriber's XREAD blocks before it checks that the room still exists."""
READ_RETRIES = 5
"""Consecutive connection failures a subscriber rides out (backing off) before raising."""

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class RoomKeys:
    stream: str
    seq: str
    epoch: str
    snap: str

    @classmethod
    def of(cls, room: MeetingId) -> RoomKeys:
        base = f"{PREFIX}room:{{{room}}}"
        return cls(f"{base}:log", f"{base}:seq", f"{base}:epoch", f"{base}:snap")

    @property
    def all(self) -> list[str]:
        """In the order every script below expects as KEYS."""
        return [self.stream, self.seq, self.epoch, self.snap]


# Every room script takes KEYS = stream, seq, epoch, snap and ARGV[1] = an epoch to use if it
# creates the log, ARGV[2] = the TTL in seconds.
_OPEN_LOG = """
local function open_log()
  if redis.call('SET', KEYS[3], ARGV[1], 'NX', 'EX', ARGV[2]) then
    redis.call('DEL', KEYS[1], KEYS[2], KEYS[4])
    return ARGV[1]
  end
  return redis.call('GET', KEYS[3])
end
"""

_OPEN = _OPEN_LOG + "return open_log()"

# Drops the entries older than ``now - max_age`` (ms), looking at most at AGE_TRIM_BATCH of them;
# true when all of those went (more may be left).
_AGE_TRIM = """
local function age_trim(now, max_age)
  local cutoff = now - max_age
  local head = redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', 1)
  if head[1] and tonumber(head[1][2][2]) < cutoff then
    local old = redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', {AGE_TRIM_BATCH})
    local keep = nil
    for _, entry in ipairs(old) do
      if tonumber(entry[2][2]) >= cutoff then
        keep = entry[1]
        break
      end
    end
    local more = keep == nil
    if more then
      keep = (tonumber(string.match(old[#old][1], '^%d+')) + 1) .. '-0'
    end
    redis.call('XTRIM', KEYS[1], 'MINID', keep)
    return more
  end
  return false
end
""".replace("{AGE_TRIM_BATCH}", str(AGE_TRIM_BATCH))

# ARGV[3] = at (ms), ARGV[4] = max events, ARGV[5] = max age (ms), ARGV[6..] = records.
# Returns the first seq handed out.
_APPEND = (
    _OPEN_LOG
    + _AGE_TRIM
    + """
open_log()
local n = #ARGV - 5
local last = redis.call('INCRBY', KEYS[2], n)
local first = last - n + 1
for i = 1, n do
  redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[4], (first + i - 1) .. '-0',
             'at', ARGV[3], 'd', ARGV[5 + i])
end
age_trim(tonumber(ARGV[3]), tonumber(ARGV[5]))
for i = 1, 4 do
  redis.call('EXPIRE', KEYS[i], ARGV[2])
end
return first
"""
)

# ARGV[1] = now (ms), ARGV[2] = max age (ms), ARGV[3] = first entry id to keep whatever its
# age ("0-0": none dropped by position), ARGV[4] = the TTL in seconds, renewed: a worker follows
# the room. A log that does not exist stays so. At most 8 batches by age: a whole log of the
# default 1,000 events.
_TRIM = (
    _AGE_TRIM
    + """
if ARGV[3] ~= '0-0' then
  redis.call('XTRIM', KEYS[1], 'MINID', ARGV[3])
end
for i = 1, 8 do
  if not age_trim(tonumber(ARGV[1]), tonumber(ARGV[2])) then
    break
  end
end
for i = 1, 4 do
  redis.call('EXPIRE', KEYS[i], ARGV[4])
end
"""
)

# ARGV[3] = first entry id wanted. Returns {epoch, last seq, entries}, all as of one instant.
_READ = (
    _OPEN_LOG
    + """
local epoch = open_log()
local seq = tonumber(redis.call('GET', KEYS[2]) or '0')
return {epoch, seq, redis.call('XRANGE', KEYS[1], ARGV[3], '+')}
"""
)

# ARGV = seq, data, ttl. Keeps the newest snapshot, and none for a log that does not exist
# (a worker saving late must not leave a snapshot of a room that was just dropped).
_SAVE_SNAPSHOT = """
if redis.call('EXISTS', KEYS[3]) == 0 then
  return 0
end
local current = tonumber(redis.call('HGET', KEYS[4], 'seq') or '-1')
if tonumber(ARGV[1]) <= current then
  return 0
end
redis.call('HSET', KEYS[4], 'seq', ARGV[1], 'd', ARGV[2])
redis.call('EXPIRE', KEYS[4], ARGV[3])
return 1
"""


def _stream_entries(reply: Any) -> list[Any]:
    """The entries of the one stream an XREAD asked for ([] when it timed out), RESP2 or 3."""
    if not reply:
        return []
    streams = reply.values() if isinstance(reply, dict) else (stream[1] for stream in reply)
    return [entry for entries in streams for entry in entries]


def _envelope(entry_id: bytes, fields: Sequence[bytes]) -> Envelope | None:
    """The event stored in a stream entry, or None for the tombstone ``drop`` writes."""
    values = dict(zip(fields[::2], fields[1::2], strict=True))
    data = values.get(b"d")
    if data is None:
        return None
    return codec.from_record(Seq(int(entry_id.partition(b"-")[0])), int(values[b"at"]), data)


def _retrieve(task: asyncio.Future[Any]) -> None:
    """Done-callback for work abandoned on close: its outcome no longer matters to anyone."""
    if not task.cancelled():
        task.exception()


class RedisRoomLog:
    """:class:`app.rooms.log.RoomLog` on Redis Streams (Redis 6.2 or later).

    ``url`` is a redis-py URL (``redis://host:port/db``, ``rediss://`` for TLS, with the
    password in it if any); it must not ask for ``decode_responses``: records are bytes.
    """

    def __init__(self, url: str, limits: LogLimits, *, block_ms: int = BLOCK_MS) -> None:
        self._limits = limits
        self._block_ms = block_ms
        # Commands: short, many at once under load; wait for a free connection rather than
        # fail, and never retry (see the module docstring).
        self._pool = redis.BlockingConnectionPool.from_url(url, timeout=10)
        if self._pool.connection_kwargs.get("decode_responses"):
            raise ValueError("the room log's Redis URL must not set decode_responses")
        self._redis = redis.Redis(connection_pool=self._pool)
        # Blocking reads: a connection per subscriber while it waits (a blocked read holds its
        # connection), so they never starve the commands. The socket timeout exceeds a block.
        self._reader_pool = redis.ConnectionPool.from_url(
            url, max_connections=100_000, socket_timeout=block_ms / 1000 + 10
        )
        self._open = self._redis.register_script(_OPEN)
        self._append = self._redis.register_script(_APPEND)
        self._trim = self._redis.register_script(_TRIM)
        self._read = self._redis.register_script(_READ)
        self._save_snapshot = self._redis.register_script(_SAVE_SNAPSHOT)
        self._closing: asyncio.Future[None] | None = None

    def _open_args(self) -> list[str | int]:
        # A fresh candidate per call costs a few random bytes; it is used only by the call
        # that happens to create the log, so a new log always gets a new epoch.
        return [secrets.token_urlsafe(6), self._limits.ttl_s]

    async def open(self, room: MeetingId) -> str:
        epoch = await self._open(keys=RoomKeys.of(room).all, args=self._open_args())
        return _text(epoch)

    async def append(self, room: MeetingId, events: Sequence[RoomEvent], at: int) -> list[Envelope]:
        if not events:
            return []
        limits = self._limits
        first = await self._append(
            keys=RoomKeys.of(room).all,
            args=[
                *self._open_args(),
                at,
                limits.max_events,
                limits.max_age_ms,
                *(codec.record(event) for event in events),
            ],
        )
        return [
            Envelope(seq=Seq(int(first) + i), at=at, event=event) for i, event in enumerate(events)
        ]

    async def trim(self, room: MeetingId, now: int, *, through: Seq = Seq(0)) -> None:
        keep = f"{through + 1}-0" if through > 0 else "0-0"
        await self._trim(
            keys=RoomKeys.of(room).all,
            args=[now, self._limits.max_age_ms, keep, self._limits.ttl_s],
        )

    async def read(self, room: MeetingId, after: Seq) -> ReadResult:
        epoch, seq, entries = await self._read(
            keys=RoomKeys.of(room).all, args=[*self._open_args(), f"{after + 1}-0"]
        )
        events = [e for e in (_envelope(i, f) for i, f in entries) if e is not None]
        complete = events[0].seq == after + 1 if events else after == int(seq)
        return ReadResult(events=events, complete=complete, epoch=_text(epoch))

    async def subscribe(self, room: MeetingId, after: Seq) -> AsyncIterator[list[Envelope]]:
        """Batches after ``after`` until the room is dropped, its log replaced, or the log closed.

        Raises ``LookupError`` when events after ``after`` are no longer retained, at the start
        or later (a subscriber that fell behind the retention window): the caller resyncs
        from a snapshot. Raises redis-py's ``ConnectionError`` when Redis stays unreachable.
        """
        keys = RoomKeys.of(room)
        backlog = await self.read(room, after)
        if not backlog.complete:
            raise LookupError(f"events after seq {after} are no longer retained")
        epoch = backlog.epoch.encode()
        last = after
        if backlog.events:
            last = backlog.events[-1].seq
            yield backlog.events
        failures = 0
        while True:
            try:
                replies = await self._unless_closed(self._next_entries(keys, epoch, last))
            except (RedisConnectionError, RedisTimeoutError):
                # XREAD and GET are idempotent: a blip is retried, a lasting outage raised.
                failures += 1
                if failures > READ_RETRIES:
                    raise
                await asyncio.sleep(min(2.0, 0.05 * 2**failures))
                continue
            failures = 0
            if replies is None:
                return  # dropped, replaced or closed
            batch: list[Envelope] = []
            for entry_id, fields in replies:
                envelope = _envelope(entry_id, fields)
                if envelope is None:
                    return  # drop's tombstone
                batch.append(envelope)
            if not batch:
                continue
            if batch[0].seq != last + 1:
                raise LookupError(f"events after seq {last} were trimmed before this reader")
            last = batch[-1].seq
            yield batch

    async def _next_entries(self, keys: RoomKeys, epoch: bytes, last: int) -> list[Any] | None:
        """One blocking round: the entries after ``last`` (maybe none), or None if the log is gone.

        GET epoch, XREAD BLOCK, GET epoch go out in one write, so Redis runs the first two
        back to back: a room dropped before the read is seen by the first GET (and the blocked
        read is abandoned with its connection), one dropped while blocked wakes the read with
        the tombstone, and the last GET catches a log replaced meanwhile. The replies are read
        one at a time, which redis-py's pipeline cannot do, hence the connection-level calls.
        """
        pool = self._reader_pool
        conn = await pool.get_connection()  # type: ignore[no-untyped-call]  # unannotated upstream
        try:
            await conn.send_packed_command(
                conn.pack_commands(
                    [
                        ("GET", keys.epoch),
                        ("XREAD", "BLOCK", self._block_ms, "STREAMS", keys.stream, f"{last}-0"),
                        ("GET", keys.epoch),
                    ]
                )
            )
            if await conn.read_response() != epoch:
                await conn.disconnect()
                return None
            reply = await conn.read_response()
            if await conn.read_response() != epoch:
                return None
            return _stream_entries(reply)
        except BaseException:
            await conn.disconnect()  # replies may still be pending on it
            raise
        finally:
            await pool.release(conn)

    async def _unless_closed(self, work: Coroutine[Any, Any, T]) -> T | None:
        """``work``'s result, or None if :meth:`close` is called first."""
        if self._closing is None:
            self._closing = asyncio.get_running_loop().create_future()
        task = asyncio.ensure_future(work)
        try:
            await asyncio.wait((task, self._closing), return_when=asyncio.FIRST_COMPLETED)
        except asyncio.CancelledError:
            task.cancel()
            task.add_done_callback(_retrieve)
            raise
        if task.done():
            return task.result()
        task.cancel()
        task.add_done_callback(_retrieve)
        return None

    async def epoch(self, room: MeetingId) -> str | None:
        epoch = await self._redis.get(RoomKeys.of(room).epoch)
        return None if epoch is None else _text(epoch)

    async def last_seq(self, room: MeetingId) -> Seq:
        seq = await self._redis.get(RoomKeys.of(room).seq)
        return Seq(0 if seq is None else int(seq))

    async def save_snapshot(self, room: MeetingId, seq: Seq, data: bytes) -> None:
        """Keep ``data`` unless a snapshot at ``seq`` or later is already kept (by any worker)."""
        await self._save_snapshot(keys=RoomKeys.of(room).all, args=[seq, data, self._limits.ttl_s])

    async def load_snapshot(self, room: MeetingId) -> tuple[Seq, bytes] | None:
        seq, data = await self._redis.hmget(RoomKeys.of(room).snap, ["seq", "d"])
        if seq is None or data is None:
            return None
        assert isinstance(data, bytes)  # the pool never decodes (checked in __init__)
        return Seq(int(seq)), data

    async def drop(self, room: MeetingId) -> None:
        keys = RoomKeys.of(room)
        # Not a transaction: the tombstone must wake blocked readers before the DEL runs. The
        # mark (no content) tells a follower that was not reading at that instant that the
        # meeting ended, rather than its log being lost.
        pipe = self._redis.pipeline(transaction=False)
        pipe.set(_dropped_key(room), b"1", ex=DROPPED_S)
        pipe.xadd(keys.stream, {"drop": "1"})  # also when empty: readers may wait on it
        pipe.delete(*keys.all)
        await pipe.execute()

    async def dropped(self, room: MeetingId) -> bool:
        return bool(await self._redis.exists(_dropped_key(room)))

    async def claim(self, key: str, ttl_s: float) -> bool:
        done = await self._redis.set(
            f"{PREFIX}claim:{key}", b"1", nx=True, px=max(1, round(ttl_s * 1000))
        )
        return bool(done)

    async def beat(self, worker: str, ttl_s: float) -> None:
        await self._redis.set(_worker_key(worker), b"1", px=max(1, round(ttl_s * 1000)))

    async def alive(self, workers: Collection[str]) -> set[str]:
        ids = list(workers)
        if not ids:
            return set()
        found = await self._redis.mget([_worker_key(w) for w in ids])
        return {w for w, mark in zip(ids, found, strict=True) if mark is not None}

    async def retire(self, worker: str) -> None:
        await self._redis.delete(_worker_key(worker))

    async def ping(self) -> None:
        await self._redis.ping()

    async def close(self) -> None:
        """End every subscriber and close the connections; the rooms stay (other workers)."""
        if self._closing is not None and not self._closing.done():
            self._closing.set_result(None)
        await self._redis.aclose()
        await self._pool.aclose()
        await self._reader_pool.aclose()


def _dropped_key(room: MeetingId) -> str:
    """The mark of a dropped room, named by a digest: not even the meeting's id stays."""
    digest = hashlib.sha256(f"haven.dropped\x00{room}".encode()).hexdigest()[:32]
    return f"{PREFIX}dropped:{digest}"


def _worker_key(worker: str) -> str:
    return f"{PREFIX}worker:{worker}"


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
