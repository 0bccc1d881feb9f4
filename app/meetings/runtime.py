"""What the room core needs to know about a meeting, read once when a room opens or a member
joins: the settings that govern the room, and who may run it.

A plain frozen dataclass, not a row or a wire model: the room core must not reach into the
database on the message path (DESIGN.md), so it gets an immutable copy it can keep.
"""

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

FacilitatorRole = Literal["owner", "cofac"]


@dataclass(frozen=True)
class RuntimeReading:
    title: str
    text: str


@dataclass(frozen=True)
class RuntimeFacilitator:
    id: str
    display_name: str
    role: FacilitatorRole


@dataclass(frozen=True)
class MeetingRuntime:
    id: str
    title: str
    format: str
    capacity: int
    lobby: bool
    chat_mode: Literal["open", "facilitators"]
    members_visible: bool
    share_limit_s: int
    readings: tuple[RuntimeReading, ...]
    # argon2id hash, or None when the meeting has no passcode; check a candidate with
    # ``app.auth.passwords.verify_password(passcode_hash, candidate).ok`` (in a thread).
    passcode_hash: str | None
    # Moderation overrides as stored; ``app.moderation.policy.Policy.from_overrides(policy)``.
    policy: Mapping[str, Any]
    # Owner first, then co-facilitators by display name.
    facilitators: tuple[RuntimeFacilitator, ...]
    # About the facilitator id passed to ``meeting_access`` (both False for a participant).
    is_owner: bool
    is_facilitator: bool

    @property
    def has_passcode(self) -> bool:
        return self.passcode_hash is not None

    @property
    def facilitator_ids(self) -> frozenset[str]:
        return frozenset(f.id for f in self.facilitators)

    @property
    def facilitator_names(self) -> tuple[str, ...]:
        """Display names (the moderation pipeline uses them to spot impersonation)."""
        return tuple(f.display_name for f in self.facilitators)


class _Failed:
    """The result a read in flight hands its waiters when it failed or was cancelled."""


_FAILED = _Failed()


class RecentViews:
    """Participants' view of meetings (``meeting_access(db, id, None)``), kept a few seconds.

    A meeting's start brings everyone's join at once: hundreds of ticket requests for one
    meeting, each reading the meeting, its owner and its co-facilitators (three queries, about a
    quarter of a join's server time). Kept ``ttl_s`` seconds, they are read once per burst, and
    requests that arrive while the meeting is being read wait for that one read instead of
    starting their own (with 128 joins in flight, each of them used to read it). Edits and
    deletions made through this process forget the entry at once, and a read that was in flight
    then is not kept; other workers see them within ``ttl_s``. Only meetings that exist are kept
    (guessing ids cannot fill it), at most ``max_entries``. Holds meeting definitions only,
    nothing about members.
    """

    def __init__(
        self,
        ttl_s: float = 2.0,
        max_entries: int = 1024,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._ttl_s = ttl_s
        self._max = max_entries
        self._clock = clock
        self._views: dict[str, tuple[float, MeetingRuntime]] = {}
        # The read in flight per meeting: its result, or _FAILED when the reader failed or was
        # cancelled (its waiters then read for themselves).
        self._reading: dict[str, asyncio.Future[MeetingRuntime | None | _Failed]] = {}

    async def get(
        self, meeting_id: str, load: Callable[[], Awaitable[MeetingRuntime | None]]
    ) -> MeetingRuntime | None:
        while True:
            kept = self._views.get(meeting_id)
            if kept is not None and kept[0] > self._clock():
                return kept[1]
            reading = self._reading.get(meeting_id)
            if reading is None:
                break
            # Shielded: a waiter that goes away must not cancel the read the others wait for.
            got = await asyncio.shield(reading)
            if not isinstance(got, _Failed):
                return got
            # That read failed or its request went away: the first to wake reads again.
        mine: asyncio.Future[MeetingRuntime | None | _Failed] = (
            asyncio.get_running_loop().create_future()
        )
        self._reading[meeting_id] = mine
        try:
            view = await load()
        except BaseException:
            self._read(meeting_id, mine, _FAILED)
            raise
        if not self._read(meeting_id, mine, view):
            return view  # forgotten meanwhile: an edit may have landed after the read
        if view is None:
            self._views.pop(meeting_id, None)
        else:
            self._keep(meeting_id, view)
        return view

    def _read(
        self,
        meeting_id: str,
        reading: asyncio.Future[MeetingRuntime | None | _Failed],
        result: MeetingRuntime | None | _Failed,
    ) -> bool:
        """End a read: hand its waiters the result; False when it was forgotten meanwhile."""
        current = self._reading.get(meeting_id) is reading
        if current:
            del self._reading[meeting_id]
        reading.set_result(result)
        return current

    def _keep(self, meeting_id: str, view: MeetingRuntime) -> None:
        now = self._clock()
        if len(self._views) >= self._max:
            self._views = {k: v for k, v in self._views.items() if v[0] > now}
            if len(self._views) >= self._max:
                self._views.clear()
        self._views[meeting_id] = (now + self._ttl_s, view)

    def forget(self, meeting_id: str) -> None:
        self._views.pop(meeting_id, None)
        self._reading.pop(meeting_id, None)
