"""In-process room log: the default backend and the reference semantics of :class:`RoomLog`.

One process, zero set-up, nothing on disk. Retained events (for resume) are a bounded deque per
room; subscribers get their own pending list, filled by ``append``, so a follower that is slow
to run never loses an event to trimming.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections import deque
from collections.abc import AsyncIterator, Collection, Sequence

from app.rooms.events import Envelope, RoomEvent
from app.rooms.log import DROPPED_S, LogLimits, ReadResult
from app.rooms.types import MeetingId, Seq


class _Subscriber:
    __slots__ = ("pending", "wake", "closed")

    def __init__(self) -> None:
        self.pending: list[Envelope] = []
        self.wake = asyncio.Event()
        self.closed = False


class _Room:
    __slots__ = ("events", "seq", "epoch", "subscribers", "snapshot")

    def __init__(self) -> None:
        self.events: deque[Envelope] = deque()
        self.seq = 0
        self.epoch = secrets.token_urlsafe(6)
        self.subscribers: set[_Subscriber] = set()
        self.snapshot: tuple[Seq, bytes] | None = None


class MemoryRoomLog:
    def __init__(self, limits: LogLimits | None = None) -> None:
        self._limits = limits or LogLimits()
        self._rooms: dict[MeetingId, _Room] = {}
        self._claims: dict[str, float] = {}
        self._dropped: dict[MeetingId, float] = {}
        """When each room was dropped (monotonic), for ``DROPPED_S``: ids only."""
        self._workers: dict[str, float] = {}
        """Until when each worker is alive (monotonic)."""

    def _room(self, room: MeetingId) -> _Room:
        found = self._rooms.get(room)
        if found is None:
            found = self._rooms[room] = _Room()
        return found

    async def open(self, room: MeetingId) -> str:
        return self._room(room).epoch

    async def append(self, room: MeetingId, events: Sequence[RoomEvent], at: int) -> list[Envelope]:
        r = self._room(room)
        out: list[Envelope] = []
        for event in events:
            r.seq += 1
            out.append(Envelope(seq=Seq(r.seq), at=at, event=event))
        r.events.extend(out)
        self._trim(r, at)
        for sub in r.subscribers:
            sub.pending.extend(out)
            sub.wake.set()
        return out

    async def trim(self, room: MeetingId, now: int, *, through: Seq = Seq(0)) -> None:
        r = self._rooms.get(room)
        if r is None:
            return
        while r.events and r.events[0].seq <= through:
            r.events.popleft()
        self._trim(r, now)

    def _trim(self, r: _Room, now: int) -> None:
        limit = self._limits.max_events
        while len(r.events) > limit:
            r.events.popleft()
        oldest = now - self._limits.max_age_ms
        while r.events and r.events[0].at < oldest:
            r.events.popleft()

    async def read(self, room: MeetingId, after: Seq) -> ReadResult:
        r = self._room(room)
        batch: list[Envelope] = []
        for envelope in reversed(r.events):
            if envelope.seq <= after:
                break
            batch.append(envelope)
        batch.reverse()
        first = batch[0].seq if batch else r.seq + 1
        return ReadResult(events=batch, complete=first == after + 1, epoch=r.epoch)

    async def subscribe(self, room: MeetingId, after: Seq) -> AsyncIterator[list[Envelope]]:
        r = self._room(room)
        sub = _Subscriber()
        backlog = await self.read(room, after)
        if not backlog.complete:
            raise LookupError(f"events after seq {after} are no longer retained")
        sub.pending.extend(backlog.events)
        r.subscribers.add(sub)
        try:
            while True:
                if not sub.pending:
                    sub.wake.clear()
                    await sub.wake.wait()
                if sub.closed:
                    return
                batch, sub.pending = sub.pending, []
                yield batch
        finally:
            r.subscribers.discard(sub)

    async def epoch(self, room: MeetingId) -> str | None:
        r = self._rooms.get(room)
        return None if r is None else r.epoch

    async def last_seq(self, room: MeetingId) -> Seq:
        r = self._rooms.get(room)
        return Seq(0 if r is None else r.seq)

    async def save_snapshot(self, room: MeetingId, seq: Seq, data: bytes) -> None:
        self._room(room).snapshot = (seq, data)

    async def load_snapshot(self, room: MeetingId) -> tuple[Seq, bytes] | None:
        r = self._rooms.get(room)
        return None if r is None else r.snapshot

    async def drop(self, room: MeetingId) -> None:
        now = time.monotonic()
        self._dropped = {m: t for m, t in self._dropped.items() if now - t < DROPPED_S}
        self._dropped[room] = now
        r = self._rooms.pop(room, None)
        if r is None:
            return
        r.events.clear()
        r.snapshot = None
        for sub in r.subscribers:
            sub.closed = True
            sub.pending.clear()
            sub.wake.set()

    async def dropped(self, room: MeetingId) -> bool:
        at = self._dropped.get(room)
        return at is not None and time.monotonic() - at < DROPPED_S

    async def claim(self, key: str, ttl_s: float) -> bool:
        now = time.monotonic()
        if len(self._claims) > 10_000:
            self._claims = {k: t for k, t in self._claims.items() if t > now}
        expiry = self._claims.get(key)
        if expiry is not None and expiry > now:
            return False
        self._claims[key] = now + ttl_s
        return True

    async def beat(self, worker: str, ttl_s: float) -> None:
        now = time.monotonic()
        self._workers = {w: t for w, t in self._workers.items() if t > now}
        self._workers[worker] = now + ttl_s

    async def alive(self, workers: Collection[str]) -> set[str]:
        now = time.monotonic()
        return {w for w in workers if self._workers.get(w, 0.0) > now}

    async def retire(self, worker: str) -> None:
        self._workers.pop(worker, None)

    async def ping(self) -> None:
        return None

    async def close(self) -> None:
        for room in list(self._rooms):
            await self.drop(room)
        self._claims.clear()
