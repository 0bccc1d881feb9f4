"""The room log: an ordered, bounded, per-meeting sequence of events.

Backends implement :class:`RoomLog`; :func:`open_room_log` picks one from the URL scheme through
the :data:`BACKENDS` registry. ``log_memory`` is the default and the reference semantics;
``log_redis`` (Redis Streams) lets several workers and hosts share rooms.

Contract, for every backend:

- ``append`` stamps the events with consecutive, gapless seqs (the first event of a room gets 1)
  and one time, atomically: no other append interleaves with one call's events.
- Retention keeps at least ``max_events`` events younger than ``max_age_ms`` (Redis trims by
  count approximately: a few more may remain).
- ``read(room, after)`` returns the retained events with ``seq > after`` in order, and says
  whether that is *everything* after ``after`` (``complete``); it is not once older events were
  trimmed by the retention window, and the caller then falls back to a snapshot.
- ``subscribe(room, after)`` yields batches of events with ``seq > after``, in order, without gaps
  or repeats, until the room is dropped (then the iterator ends) or the caller stops. It raises
  ``LookupError`` when events after ``after`` are no longer retained (at the start; with Redis
  also later, for a follower that fell behind the trimming): never a silent gap.
- ``epoch(room)`` changes whenever the log may have lost history (a new log for the same room
  after a restart, a flushed Redis): a client that resumes with another epoch gets a snapshot.
- ``trim(room, now, through=seq)`` drops what is past the age at ``now`` and everything up to
  ``seq``; the room's position (``last_seq``, the epoch, the snapshot) stays.
- ``drop(room)`` deletes the room's events and snapshot; nothing of it remains in the backend.
- ``claim(key, ttl_s)`` is true exactly once per key within ``ttl_s`` across all workers (single
  use of join tickets).
- ``beat(worker, ttl_s)`` keeps a worker alive for ``ttl_s``; ``alive(workers)`` returns those
  of ``workers`` whose last beat has not run out, as every worker sees it (a worker that
  crashed stops beating); ``retire(worker)`` ends a worker's life at once (a clean shutdown).
  Workers are random ids, nothing more (see ``app.rooms.hub.Workers``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Collection, Sequence
from dataclasses import dataclass
from typing import Protocol

from app.rooms.events import Envelope, RoomEvent
from app.rooms.types import MeetingId, Seq


@dataclass(frozen=True, slots=True)
class LogLimits:
    max_events: int = 1000
    max_age_ms: int = 900_000
    ttl_s: int = 900
    """How long a room's data outlives its last append or trim (Redis key TTL). A room that a
    worker follows is trimmed at least every ``hub.LOG_TRIM_EVERY_S``; one that no worker
    follows any more (every one stopped or died) is gone this long after. Haven sets it to the
    age limit (or the resume window and a minute, if longer): what was said is not kept longer
    than that, even then."""


@dataclass(frozen=True, slots=True)
class ReadResult:
    events: list[Envelope]
    complete: bool
    epoch: str


DROPPED_S = 180
"""How long a dropped room's content-free mark stays (see ``RoomLog.dropped``): past the
default 2-minute resume window, so a member whose link was down when the meeting ended is told
it ended when they try to resume."""


class RoomLog(Protocol):
    async def open(self, room: MeetingId) -> str:
        """Make sure the room's log exists; return its epoch."""

    async def append(self, room: MeetingId, events: Sequence[RoomEvent], at: int) -> list[Envelope]:
        """Append atomically with consecutive seqs; return the stamped envelopes."""

    async def trim(self, room: MeetingId, now: int, *, through: Seq = Seq(0)) -> None:
        """Drop the events older than ``max_age_ms`` at ``now``, as ``append`` does: for a room
        that has nothing to append, whose events would otherwise stay until it ends. Also drop
        every event up to and including ``through`` (a room nobody can resume in any more)."""

    async def read(self, room: MeetingId, after: Seq) -> ReadResult: ...

    def subscribe(self, room: MeetingId, after: Seq) -> AsyncIterator[list[Envelope]]: ...

    async def epoch(self, room: MeetingId) -> str | None: ...

    async def last_seq(self, room: MeetingId) -> Seq: ...

    async def save_snapshot(self, room: MeetingId, seq: Seq, data: bytes) -> None:
        """Keep a serialised state at ``seq`` so a worker can join a room mid-meeting."""

    async def load_snapshot(self, room: MeetingId) -> tuple[Seq, bytes] | None: ...

    async def drop(self, room: MeetingId) -> None:
        """Delete the room's log (its meeting ended), leaving for ``DROPPED_S`` only a mark
        that it was dropped, with no content: ``dropped``."""

    async def dropped(self, room: MeetingId) -> bool:
        """Whether the room's log was dropped in the last ``DROPPED_S`` (its meeting ended),
        for a follower that finds the log gone without having read its end."""

    async def claim(self, key: str, ttl_s: float) -> bool: ...

    async def beat(self, worker: str, ttl_s: float) -> None:
        """Mark ``worker`` alive for the next ``ttl_s`` seconds."""

    async def alive(self, workers: Collection[str]) -> set[str]:
        """Those of ``workers`` whose last beat has not run out."""

    async def retire(self, worker: str) -> None:
        """``worker`` is no longer alive (it shuts down)."""

    async def ping(self) -> None:
        """Raise if the backend cannot be reached (readiness)."""

    async def close(self) -> None: ...


RoomLogFactory = Callable[[str, LogLimits], RoomLog]


def _memory(url: str, limits: LogLimits) -> RoomLog:
    from app.rooms.log_memory import MemoryRoomLog

    return MemoryRoomLog(limits)


def _redis(url: str, limits: LogLimits) -> RoomLog:
    from app.rooms.log_redis import RedisRoomLog

    return RedisRoomLog(url, limits)


BACKENDS: dict[str, RoomLogFactory] = {
    "memory": _memory,
    "redis": _redis,
    "rediss": _redis,
}


class UnknownBackend(ValueError):
    pass


def open_room_log(url: str, limits: LogLimits) -> RoomLog:
    """The backend for ``url``'s scheme (``memory://``, ``redis://host:port/db``)."""
    scheme = url.partition("://")[0].lower()
    try:
        factory = BACKENDS[scheme]
    except KeyError:
        raise UnknownBackend(
            f"unknown room log scheme {scheme!r}; use one of {sorted(BACKENDS)}"
        ) from None
    return factory(url, limits)
