"""The hub: this process's rooms, each following its log, keeping a replica and fanning out.

For every room with a local member, one :class:`RoomChannel` runs one follower task:

    log.subscribe ──batch──▶ apply(state, event) ──▶ encode once ──▶ push to each recipient

Each event is encoded to JSON once and, on the direct path, framed once; the same bytes go to
every local recipient's bounded buffer, a batch at a time (one write per connection per batch).
Recipients follow from the event's audience and the replica's state right after that event, so
a member admitted by event N receives N and what follows, never what came before.

Commands go the other way through :meth:`RoomChannel.submit`: decide against the replica, append
to the log; the sender sees its own event come back through the follower like everyone else,
which is what makes its client's view ordered and complete without a special path.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
import zlib
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field

from app.rooms import codec
from app.rooms import events as ev
from app.rooms.commands import Disconnect, Post, SystemCommand, Tick, WorkersGone
from app.rooms.connection import TOO_SLOW, Connection, Outgoing
from app.rooms.decide import AnyCommand, Rejection, decide, refused_on_apply, timers_due
from app.rooms.events import Envelope
from app.rooms.log import RoomLog
from app.rooms.reducer import applied
from app.rooms.snapshot import snapshot
from app.rooms.state import Member, RoomConfig, RoomState
from app.rooms.state_codec import dump_state, load_state
from app.rooms.types import MeetingId, MemberId, Seq, worker_of
from app.tasks import cancel_and_wait

logger = logging.getLogger("haven.rooms")

# Close codes (docs/protocol.md).
REPLACED = 4005
STALE_KEPT = 1024
"""Seqs of stale events a replica remembers, for replays (more than a room log holds)."""
ENDED = 4004
REMOVED = 4010
BANNED = 4011
DENIED = 4014

TICK_S = 1.0
TICK_SLOTS = 10
"""Rooms tick on a shared grid: each second, in one of this many slots (by meeting id), so a
worker with many rooms wakes up ``TICK_SLOTS`` times a second for their timers, not once per
room, and no slot holds more than about a tenth of the rooms' ticks (see ``next_tick_in``)."""
LOG_TRIM_EVERY_S = 10.0
"""How often a quiet room's log is trimmed by age (busy rooms are trimmed by their appends)."""
COALESCE_S = 0.003
"""Under load, how long a room's follower waits for more events before the next write (not
while a command waits for the replica: see ``_follow``)."""
BUSY_GAP_S = 0.05
"""Batches closer together than this mean the room is busy and writes are coalesced."""
SETTLE_S = 2.0
"""How long a membership or phase command waits for the replica to catch up with the log."""
BEAT_S = 2.0
"""How often a worker renews its heartbeat and looks at those of the workers that its rooms'
members are connected through (see :class:`Workers`)."""
WORKER_TTL_S = 8.0
"""A worker whose heartbeat is older than this is gone: three beats missed in a row."""

# -- snapshots, for a worker joining a meeting mid-way (begin) ----------------------------
SNAPSHOT_EVERY = 200
"""Applied events between two snapshots of the replica (keep the log's max_events above)."""
SNAPSHOT_MAX_AGE_MS = 60_000
"""Log time between two snapshots (keep the log's max_age_ms well above): in a quiet room,
age trimming must not remove the events right after the newest snapshot."""
RESYNC_ATTEMPTS = 5
"""Times a follower whose tail was trimmed reloads the snapshot (with a short backoff, while
another worker saves a newer one) before it gives up."""


def next_tick_in(now: float, slot: int) -> float:
    """Seconds from ``now`` (the loop's clock) to the next tick of a room in ``slot``.

    Each room's timers tick every ``TICK_S``, at its slot's offset on a grid that all rooms
    share, so the rooms of one slot tick in the same turn of the loop, and a worker wakes once
    per slot rather than once per room (measured in docs/architecture.md, "Timers across
    workers"). The slots spread the rooms' ticks over the second, so no turn of the loop
    carries all of them. A wait shorter than half a period (a timer that fired a little early,
    or a room just opened) goes on to the slot's next tick, so ticks are never closer together
    than half a period.
    """
    offset = slot * TICK_S / TICK_SLOTS
    wait = TICK_S - (now - offset) % TICK_S
    return wait if wait >= TICK_S / 2 else wait + TICK_S


def _report_failure(task: asyncio.Task[None]) -> None:
    """A snapshot that could not be saved costs a later joiner a longer replay, nothing more."""
    if not task.cancelled() and (error := task.exception()) is not None:
        logger.warning("room snapshot not saved: %s", type(error).__name__)


# -- snapshots (end) ------------------------------------------------------------------------


def now_ms() -> int:
    return int(time.time() * 1000)


def can_see(event: ev.Event, seq: Seq, viewer: Member) -> bool:
    """Whether ``viewer`` (as of the state after this event) receives it."""
    aud = event.aud
    if aud.member == viewer.id or (aud.fac and viewer.is_facilitator):
        return True
    if viewer.lobby:
        return aud.lobby
    if not aud.room:
        return False
    if viewer.admitted_at is not None and seq < viewer.admitted_at:
        return False
    # A member who blocked the sender no longer receives their messages or reactions.
    return not (isinstance(event, ev.Said | ev.Reacted) and event.m in viewer.blocks)


@dataclass
class Workers:
    """This worker's heartbeat in the room log, and the workers found gone.

    Every connection id names the worker that holds it (``<worker>.<random>``, see
    :func:`app.rooms.types.worker_of`). A member is present while their connection is, and
    only the worker holding it appends their ``away`` when it drops; a worker that crashes
    appends nothing. So every worker beats (``RoomLog.beat``, every ``BEAT_S``, alive for
    ``WORKER_TTL_S``) and, at each beat, looks up the workers its rooms' present members are
    connected through (``RoomLog.alive``): those found without a beat twice in a row are
    ``gone`` (once could be a flushed Redis, which every worker refills within a beat). The
    room's timers then skip those members when choosing who runs them
    (``RoomChannel.leads_timers``), and the worker that does checks again and appends
    :class:`~app.rooms.commands.WorkersGone`: the members go ``away``, may resume within the
    window, and leave when it ends.

    A worker beats before it opens its first room, so a worker named by a connection id that
    another one has applied has beaten before: found without a beat, it is gone, never merely
    not started yet. A clean shutdown retires the worker at once.

    The same holds for this worker's own members: one whose connection id names it but whose
    session here has ended (its ``away`` was lost: an append that failed while the link
    closed) is sent away at the next beat but one (:meth:`_send_away_unheld`).
    """

    log: RoomLog
    me: str = field(default_factory=lambda: secrets.token_hex(4))
    gone: frozenset[str] = frozenset()
    sessions: set[str] = field(default_factory=set)
    """The connection ids of this worker's sessions that have not finished."""
    stopped: bool = False
    """Set when the worker stops beating: the loop ends at its next turn even if the
    cancellation sent to it is lost (see ``app.tasks.cancel_and_wait``)."""
    _missing: frozenset[str] = frozenset()
    """Workers found without a beat at the last look."""
    _unheld: frozenset[tuple[MeetingId, MemberId, str]] = frozenset()
    """This worker's members without a session here at the last look."""
    _first: asyncio.Future[None] | None = None
    _task: asyncio.Task[None] | None = None

    async def started(self, rooms: Callable[[], Iterable[RoomChannel]]) -> None:
        """Beat for the first time (once, whoever asks first) and keep beating."""
        first = self._first
        if first is None:
            first = self._first = asyncio.get_running_loop().create_future()
            try:
                await self.log.beat(self.me, WORKER_TTL_S)
            except BaseException as exc:
                if self._first is first:
                    self._first = None  # the next caller tries again
                if isinstance(exc, Exception):
                    first.set_exception(exc)
                    first.exception()  # retrieved here; callers waiting on it get it too
                else:
                    first.cancel()
                raise
            first.set_result(None)
            if not self.stopped:
                self._task = asyncio.get_running_loop().create_task(self._run(rooms))
        await asyncio.shield(first)

    async def _run(self, rooms: Callable[[], Iterable[RoomChannel]]) -> None:
        loop = asyncio.get_running_loop()
        due = loop.time()
        while True:
            # On a fixed schedule: the time the beat and the look-ups take does not add up.
            due = max(due + BEAT_S, loop.time())
            await asyncio.sleep(due - loop.time())
            if self.stopped:
                return
            try:
                await self.log.beat(self.me, WORKER_TTL_S)
            except Exception as exc:  # noqa: BLE001 - beat again next time
                logger.warning("worker heartbeat failed: %s", type(exc).__name__)
                continue
            try:
                await self._look(rooms)
            except Exception as exc:  # noqa: BLE001 - look again next time
                logger.warning("looking at workers' members failed: %s", type(exc).__name__)

    async def _look(self, rooms: Callable[[], Iterable[RoomChannel]]) -> None:
        # A call of its own: the list of rooms goes with its frame, rather than keeping an
        # ended room (names, held messages) in the loop's frame until the next beat.
        channels = [room for room in rooms() if not (room.ended or room.stopped)]
        await self.refresh(channels)
        await self._send_away_unheld(channels)

    async def refresh(self, rooms: Iterable[RoomChannel]) -> None:
        """Look up the workers that the present members of ``rooms`` are connected through."""
        others = {
            worker
            for room in rooms
            for m in room.state.members.values()
            if (worker := worker_of(m.conn)) is not None and worker != self.me
        }
        missing = frozenset(others - await self.log.alive(others))
        self.gone, self._missing = missing & self._missing, missing

    async def still_gone(self, workers: set[str]) -> frozenset[str]:
        """Those of ``workers`` that are gone now (asked again: one may have come back)."""
        return frozenset(workers - await self.log.alive(workers))

    async def _send_away_unheld(self, rooms: list[RoomChannel]) -> None:
        """Members present on this worker's connection ids without a session here go away."""
        by_id = {room.meeting_id: room for room in rooms}
        unheld = frozenset(
            (room.meeting_id, m.id, m.conn)
            for room in rooms
            for m in room.state.members.values()
            if m.conn is not None and m.conn not in self.sessions and worker_of(m.conn) == self.me
        )
        # Seen twice in a row: not a session's own Disconnect on its way to the log.
        due, self._unheld = unheld & self._unheld, unheld
        for meeting_id, member, conn in due:
            await by_id[meeting_id].submit(member, Disconnect(member=member, conn=conn))

    async def close(self) -> None:
        self.stopped = True
        if self._task is not None:
            await cancel_and_wait(self._task)
            self._task = None
        if self._first is not None:
            self._first = None
            try:
                await self.log.retire(self.me)
            except Exception as exc:  # noqa: BLE001 - the others find it gone a little later
                logger.warning("worker not retired: %s", type(exc).__name__)


@dataclass
class Counters:
    """What the hub counts for /metrics (bound by the app to Prometheus objects)."""

    on_deliveries: Callable[[int], None] = lambda n: None
    on_overflow: Callable[[], None] = lambda: None
    on_event: Callable[[str], None] = lambda t: None


@dataclass
class RoomChannel:
    meeting_id: MeetingId
    log: RoomLog
    state: RoomState
    counters: Counters
    on_ended: Callable[[RoomChannel], Awaitable[None]]
    on_lost: Callable[[RoomChannel], Awaitable[None]] | None = None
    """Called when the log went away under a running meeting (Redis flushed, dropped elsewhere)."""
    clock: Callable[[], int] = now_ms
    """Milliseconds since the epoch; tests move it to fire share timers without waiting."""
    workers: Workers | None = None
    """This worker's view of the others (None: it is taken as the only one)."""
    epoch: str = ""
    conns: dict[MemberId, Connection] = field(default_factory=dict)
    stale: set[int] = field(default_factory=set)
    """Seqs of the events this replica folded as nothing (``applied``), so that a resume's
    replay leaves them out as live delivery did; the newest ``STALE_KEPT`` only."""
    _waiters: list[tuple[int, asyncio.Future[None]]] = field(default_factory=list)
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)
    ended: bool = False
    stopped: bool = False
    """Set when the room is stopped or forgotten (its log lost): its loops end at their next
    turn even if the cancellation sent to them is lost (see ``app.tasks.cancel_and_wait``)."""
    _snap_seq: int = 0
    _snap_at: int = 0
    _saved_seq: int = 0
    """The seq of the newest snapshot known to be saved (``_snap_seq`` is the newest begun)."""
    _snapshotting: asyncio.Task[None] | None = None
    _order: asyncio.Lock | None = None
    """Serialises the decisions that change membership, roles or the phase (see submit)."""
    _ordered: int = 0
    """Members' commands in or waiting for that section (the lock is briefly free between
    two); the timers' tick is not counted."""
    _awaiting: int = 0
    """Callers of ``caught_up`` still waiting, the timers' tick aside (a joiner waits for its
    join to be applied before it is welcomed)."""
    _unfollowed: bool = False
    """Set once the follower is done (the meeting ended, its log was lost, the room stopped):
    nothing will advance the replica any more, so ``caught_up`` no longer waits."""

    async def start(self) -> None:
        """Open the room's log and start following it from the replica's seq.

        When the log already has events (the meeting runs on another worker, or ran here
        before a restart), the replica starts from the log's latest snapshot, config included,
        so that it folds the tail exactly as the other replicas do; the follower then replays
        the events after it. If that tail is no longer retained, see :meth:`_resync`.
        """
        self.epoch = await self.log.open(self.meeting_id)
        last = await self.log.last_seq(self.meeting_id)
        if last > 0:
            await self._restore()
        loop = asyncio.get_running_loop()
        self._tasks = [loop.create_task(self._follow()), loop.create_task(self._tick())]
        # Decide nothing on a replica that has not caught up with what the log already holds
        # (another worker's meeting): a join would see a meeting that has not started yet.
        await self.caught_up(last)

    async def stop(self) -> None:
        self.stopped = True
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            try:
                await cancel_and_wait(task)
            except Exception as exc:  # noqa: BLE001 - the others must stop too
                logger.warning("room task failed while stopping: %s", type(exc).__name__)
        self._release_waiters()  # the follower's own exit does, unless it never ran
        # Leave the newest state for the workers that go on following this room (or for this
        # one after a restart). Awaited here, off the message path; a failure is only logged.
        if self._snapshotting is not None:
            await asyncio.wait([self._snapshotting])
        if not self.ended and self.state.seq > self._snap_seq:
            await asyncio.wait([self._snapshot_soon(self._snap_at)])

    # -- commands ---------------------------------------------------------------------------

    async def submit(
        self, actor: MemberId | None, cmd: AnyCommand | SystemCommand
    ) -> Rejection | list[Envelope]:
        """Decide ``cmd`` against the replica and append what it yields to the log.

        Chat goes straight through: a message decided on a replica a few events behind is
        still right (``apply`` re-checks the sender). Everything else (joins, leaves, the
        phase, roles, the lobby, hands) is decided one at a time, on a replica that has
        applied everything the log held a moment before: otherwise a ``start`` decided while
        joins were appended but not yet applied would leave those members in the lobby of a
        meeting that has none, and a join decided just after ``start`` would put its member
        there too. With several workers another worker's append can still land in between;
        ``apply`` then keeps the state consistent (see docs/architecture.md).
        """
        if isinstance(cmd, Post):
            return await self._decide_and_append(actor, cmd)
        if self._order is None:
            self._order = asyncio.Lock()
        # The timers' tick waits its turn like the rest, but nobody waits for it.
        waited_for = not isinstance(cmd, Tick)
        self._ordered += waited_for
        try:
            async with self._order:
                await self._settle(waited_for)
                return await self._decide_and_append(actor, cmd)
        finally:
            self._ordered -= waited_for

    async def _settle(self, waited_for: bool) -> None:
        """Wait (briefly) until the replica has applied what the log holds now."""
        try:
            async with asyncio.timeout(SETTLE_S):
                last = await self.log.last_seq(self.meeting_id)
                await self.caught_up(last, waited_for=waited_for)
        except TimeoutError:
            logger.warning("room replica lags its log; deciding on the replica as it is")
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                raise
            # A future cancelled under us, not this task: decide on what we have. (A room
            # that ends or stops releases the wait rather than cancelling it; ``decide`` then
            # refuses what an ended meeting cannot take.)

    async def _decide_and_append(
        self, actor: MemberId | None, cmd: AnyCommand | SystemCommand
    ) -> Rejection | list[Envelope]:
        if self.ended or self.stopped:
            # Nothing more goes into this room's log: an append would create it afresh (with
            # what it carries) after the meeting dropped it.
            return Rejection("ended", "The meeting has ended.")
        now = self.clock()
        decision = decide(self.state, actor, cmd, now)
        if isinstance(decision, Rejection):
            return decision
        if not decision:
            return []
        return await self.log.append(self.meeting_id, decision, now)

    def _awaited(self) -> bool:
        """Whether a member's command (a join, say) waits for the replica to apply the log."""
        return self._ordered > 0 or self._awaiting > 0

    async def caught_up(self, seq: int, *, waited_for: bool = True) -> None:
        """Return once the replica has applied the event at ``seq``, or once it never will.

        It never will once the meeting has ended (an event another worker appended after the
        end, such as a join decided just before it, is not applied) or the follower stopped
        (log lost, room stopped): then this returns at once, or as soon as that happens, with
        ``state.seq`` short of ``seq``. Callers look at the replica afterwards: a join that
        was not applied is not in ``state.members``, and ``ended`` / ``stopped`` tell why.
        ``waited_for``: someone waits on this (the follower then does not pause to coalesce
        writes)."""
        if self.state.seq >= seq or self.ended or self.stopped or self._unfollowed:
            return
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append((seq, fut))
        self._awaiting += waited_for
        try:
            await fut
        finally:
            self._awaiting -= waited_for

    def _release_waiters(self) -> None:
        """Wake every ``caught_up`` caller: the follower will apply nothing more."""
        self._unfollowed = True
        waiters, self._waiters = self._waiters, []
        for _, fut in waiters:
            if not fut.done():
                fut.set_result(None)

    # -- connections ------------------------------------------------------------------------

    def attach(self, conn: Connection) -> None:
        """Deliver every event after the replica's current seq to ``conn``.

        A room that ended or stopped delivers nothing more: ``conn`` (a member whose wait in
        ``caught_up`` the end released) is closed as the room's members were."""
        if self.ended or self.stopped:
            if self.ended:
                conn.close(ENDED, "meeting ended")
            else:
                conn.close(TOO_SLOW, "room restarted: resume")
            return
        old = self.conns.get(conn.member)
        self.conns[conn.member] = conn
        if old is not None and old is not conn:
            old.close(REPLACED, "replaced by a newer connection")

    def detach(self, conn: Connection) -> None:
        if self.conns.get(conn.member) is conn:
            del self.conns[conn.member]

    # -- the follower -----------------------------------------------------------------------

    async def _follow(self) -> None:
        resyncs = 0
        loop = asyncio.get_running_loop()
        last = 0.0
        try:
            while True:
                try:
                    async for batch in self.log.subscribe(self.meeting_id, self.state.seq):
                        if self.stopped:
                            return
                        resyncs = 0  # following again: a later fall behind starts afresh
                        self.deliver(batch)
                        if self.ended:
                            break
                        # Under sustained traffic, let events gather for a moment so that each
                        # member gets one write for several of them: a send costs a syscall
                        # per connection, far more than the encoding. An idle room's first
                        # event still goes out at once.
                        # Not while a member's command or a joiner waits for the replica,
                        # though: joins and the other ordered commands are decided one at a
                        # time, each after the previous one is applied, so a pause here would
                        # be paid once per join of a burst (500 joins into one room: ~1.5 s).
                        now = loop.time()
                        if now - last < BUSY_GAP_S and not self._awaited():
                            await asyncio.sleep(COALESCE_S)
                        last = now
                    # The meeting ended, or its log went away under it. Ended on another
                    # worker, whose drop came before this follower read the end: the log says
                    # so (a content-free mark), and the room ends here too.
                    if not (self.ended or self.stopped) and await self.log.dropped(self.meeting_id):
                        end = ev.PhaseChanged(p="ended", aud=ev.ROOM_AND_LOBBY)
                        for conn, code, reason in self._closes_after(end):
                            conn.close(code, reason)
                    break
                except LookupError:
                    resyncs += 1
                    if resyncs > RESYNC_ATTEMPTS:
                        logger.error("room replica cannot catch up with its log")
                        raise
                    if not await self._resync():
                        await asyncio.sleep(0.05 * 2**resyncs)  # backoff, not readiness
        except asyncio.CancelledError:
            raise
        except LookupError:
            pass  # gave up catching up: handled as a lost log below
        except Exception as exc:  # noqa: BLE001 - a room nobody follows any more is frozen
            # The log failed under the follower (the backend unreachable past its retries) or
            # delivery hit a bug: handled as a lost log below, so that the members are told to
            # come back and the room is opened afresh, rather than kept with nobody following.
            logger.error("room follower failed: %s", type(exc).__name__)
        finally:
            # Whatever stopped it (the end, a lost log, ``stop``, an error): a waiter for an
            # event it did not apply (one appended after the end) would wait forever.
            self._release_waiters()
            if self.ended:
                await self.on_ended(self)
        if not self.ended and not self.stopped and self.on_lost is not None:
            await self.on_lost(self)

    # -- snapshots, for a worker joining a meeting mid-way (begin) ---------------------------

    async def _restore(self) -> bool:
        """Replace the replica by the log's latest snapshot if that one is ahead of it."""
        saved = await self.log.load_snapshot(self.meeting_id)
        if saved is None or saved[0] <= self.state.seq:
            return False
        if saved[0] > await self.log.last_seq(self.meeting_id):
            return False  # of an earlier log of this room (before a flush): not this one's state
        self.state = load_state(saved[1])
        self._snap_seq = self._saved_seq = self.state.seq
        return True

    async def _resync(self) -> bool:
        """Recover from a trimmed tail (``subscribe`` raised ``LookupError``).

        Events after the replica's seq are gone from the log: this worker joined too late
        for the retained window, or its follower fell behind it (Redis trims under a slow
        reader; the memory log never does). The only way on is the latest snapshot, if it is
        ahead. Local members then missed what lies between, so they are closed with the
        resumable code: they resume, find their seq too old, and get a fresh snapshot. With
        no newer snapshot the follower tries again shortly (another worker may be saving
        one), then gives up.
        """
        if not await self._restore():
            return False
        for conn in list(self.conns.values()):
            conn.close(TOO_SLOW, "fell behind: resume")
        self.deliver([])  # wakes caught_up() waiters the jump went past
        return True

    def _snapshot_due(self, at: int) -> bool:
        if self.ended or self.state.seq <= self._snap_seq:
            return False
        if self._snapshotting is not None and not self._snapshotting.done():
            return False  # one save at a time; a later batch tries again
        return (
            self.state.seq - self._snap_seq >= SNAPSHOT_EVERY
            or at - self._snap_at >= SNAPSHOT_MAX_AGE_MS
        )

    def _snapshot_soon(self, at: int) -> asyncio.Task[None]:
        """Save the replica in a task of its own: serialising and writing never delay delivery."""
        state = self.state
        self._snap_seq, self._snap_at = state.seq, at
        task = asyncio.get_running_loop().create_task(self._save_snapshot(state))
        task.add_done_callback(_report_failure)
        self._snapshotting = task
        return task

    async def _save_snapshot(self, state: RoomState) -> None:
        if self.ended:
            return  # the room is being dropped; a snapshot must not outlive it
        # Only into the log this replica follows: after a flush, the room's new log (another
        # epoch) must not take the old meeting's state, names and held messages.
        if await self.log.epoch(self.meeting_id) != self.epoch:
            return
        await self.log.save_snapshot(self.meeting_id, state.seq, dump_state(state))
        self._saved_seq = max(self._saved_seq, state.seq)

    # -- snapshots (end) ---------------------------------------------------------------------

    def deliver(self, batch: list[Envelope]) -> None:
        """Apply a batch to the replica and push each event to its local recipients."""
        pending: dict[Connection, list[Outgoing]] = {}
        closing: list[tuple[Connection, int, str]] = []
        started_in: list[MemberId] = []
        deliveries = 0
        for envelope in batch:
            if envelope.seq <= self.state.seq:
                continue  # already applied (a snapshot covered it)
            event = envelope.event
            waiting = (
                [m.id for m in self.state.lobby()] if isinstance(event, ev.PhaseChanged) else ()
            )
            hands = self.state.hands
            self.state, took = applied(self.state, envelope)
            if not took:
                self._stale(envelope.seq)
                # Stale: decided on a replica that had not yet applied what came before it
                # (an ``away`` for a link the member has left, the floor for someone removed
                # a moment before). Folded as nothing, and told to nobody but the writer of
                # a message, who is waiting for it: why it is not in, on its link if here.
                if type(event) is ev.Said or type(event) is ev.PrivateSaid:
                    told = self._refusal(event)
                    if told is not None:
                        pending.setdefault(told[0], []).append(told[1])
                continue
            state = self.state
            self.counters.on_event(event.T)
            out: Outgoing | None = None
            for member_id, conn in self.conns.items():
                viewer = state.members.get(member_id)
                if viewer is None:
                    if event.aud.member != member_id:
                        continue
                elif not can_see(event, envelope.seq, viewer):
                    continue
                if out is None:
                    try:
                        out = Outgoing(codec.wire(envelope))
                    except (TypeError, ValueError) as exc:
                        # Input checks keep such events out (numbers beyond 64 bits, lone
                        # surrogates); should one slip through, it is skipped, not allowed to
                        # stop the room's delivery for everyone.
                        logger.error("event not deliverable: %s %s", event.T, type(exc).__name__)
                        break
                pending.setdefault(conn, []).append(out)
                deliveries += 1
            closing.extend(self._closes_after(event))
            view = self._view_change(event)
            if view is not None:
                pending.setdefault(view[0], []).append(view[1])
            if state.hands != hands and not state.config.members_visible:
                for conn, item in self._queue_places(hands, state.hands):
                    pending.setdefault(conn, []).append(item)
            for member_id in waiting:
                member = state.members.get(member_id)
                if member is not None and not member.lobby:
                    started_in.append(member_id)
            if isinstance(event, ev.Admitted) and event.m in started_in:
                started_in.remove(event.m)  # its own admit event brings the room frame
        # Admitted by a start with no admit event of their own (a join that another worker
        # appended while the start was decided, see the reducer): they see the room now.
        for member_id in started_in:
            seen = self._room_frame(member_id)
            if seen is not None:
                pending.setdefault(seen[0], []).append(seen[1])
        for conn, items in pending.items():
            conn.push(items)
        for conn, code, reason in closing:
            conn.close(code, reason)
        self.counters.on_deliveries(deliveries)
        if batch and self._snapshot_due(batch[-1].at):
            self._snapshot_soon(batch[-1].at)
        if self._waiters:
            seq = self.state.seq
            still = []
            for target, fut in self._waiters:
                # Past the end nothing more is applied: its waiters go too (the follower
                # releases any others when it stops).
                if target <= seq or self.ended:
                    if not fut.done():
                        fut.set_result(None)
                else:
                    still.append((target, fut))
            self._waiters = still

    def _stale(self, seq: int) -> None:
        stale = self.stale
        stale.add(seq)
        if len(stale) > STALE_KEPT:
            # Rare (races between workers): dropping the oldest half costs nothing per event.
            for old in sorted(stale)[: STALE_KEPT // 2]:
                stale.discard(old)

    def _refusal(self, event: ev.Said | ev.PrivateSaid) -> tuple[Connection, Outgoing] | None:
        """The error for a message the reducer folded as nothing, for its writer's link on
        this worker (``decide.refused_on_apply``; the ``cid`` ends its wait for an echo)."""
        conn = self.conns.get(event.w if isinstance(event, ev.PrivateSaid) else event.m)
        refusal = refused_on_apply(self.state, event) if conn is not None else None
        if conn is None or refusal is None:
            return None
        frame = {"t": "error", "code": refusal.code, "msg": refusal.msg, "cid": event.cid}
        return conn, Outgoing(codec.direct(frame))

    def _queue_places(
        self, before: tuple[MemberId, ...], after: tuple[MemberId, ...]
    ) -> list[tuple[Connection, Outgoing]]:
        """Where the queue of hands moved, with the member list hidden: each local member whose
        place changed is told their new one (they cannot see the others' hands to count)."""
        out = []
        for place, member_id in enumerate(after, start=1):
            conn = self.conns.get(member_id)
            if conn is None or (member_id in before and before.index(member_id) + 1 == place):
                continue
            out.append((conn, Outgoing(codec.direct({"t": "queue", "pos": place}))))
        return out

    def _view_change(self, event: ev.RoomEvent) -> tuple[Connection, Outgoing] | None:
        """A fresh snapshot for a local member whose view of the room this event changed.

        Admitted from the lobby, a member sees the room for the first time; promoted, a
        co-facilitator starts seeing the lobby and held messages. The snapshot is taken right
        after the event, so it is exact as of its seq, and follows it on the same socket.
        """
        if not isinstance(event, ev.Admitted | ev.SentToLobby | ev.RoleChanged):
            return None
        return self._room_frame(event.m)

    def _room_frame(self, member_id: MemberId) -> tuple[Connection, Outgoing] | None:
        conn = self.conns.get(member_id)
        viewer = self.state.members.get(member_id)
        if conn is None or viewer is None:
            return None
        frame = {"t": "room", "seq": self.state.seq, "role": viewer.role}
        frame["room"] = snapshot(self.state, viewer)
        return conn, Outgoing(codec.direct(frame))

    def _closes_after(self, event: ev.RoomEvent) -> list[tuple[Connection, int, str]]:
        match event:
            case ev.PhaseChanged(p="ended"):
                self.ended = True
                return [(c, ENDED, "meeting ended") for c in self.conns.values()]
            case ev.Left(m=m, why=why):
                conn = self.conns.get(m)
                if conn is None:
                    return []
                code = {
                    "banned": BANNED,
                    "removed": REMOVED,
                    "revoked": REMOVED,
                    "replaced": REPLACED,
                    "denied": DENIED,
                }.get(why, 1000)
                return [(conn, code, why)]
            case ev.Back(m=m, conn=conn_id):
                conn = self.conns.get(m)
                if conn is not None and conn.id != conn_id:
                    return [(conn, REPLACED, "replaced by a newer connection")]
                return []
            case ev.Away(m=m, conn=conn_id):
                # A connection still open here, taken for gone with this worker (its beats
                # missed for a while): the member resumes, and is back.
                conn = self.conns.get(m)
                if conn is not None and conn.id == conn_id:
                    return [(conn, TOO_SLOW, "link lost: resume")]
                return []
            case _:
                return []

    def leads_timers(self) -> bool:
        """Whether this worker runs the room's timers (share timer, resume window).

        Exactly one worker should, or every worker would append the same ``floor_warn``: the
        one holding the connection of the present member with the smallest id. Every replica
        computes the same member, so no coordination is needed. Members connected through a
        worker found gone are passed over (see :class:`Workers`): the next present member's
        worker takes over, and sends them ``away`` (:meth:`_send_away_stranded`).
        """
        gone = self.workers.gone if self.workers is not None else frozenset()
        present = [
            m.id
            for m in self.state.members.values()
            if m.conn is not None and (not gone or worker_of(m.conn) not in gone)
        ]
        if not present:
            return True  # nobody to deliver to: only departures and the idle end are due
        return min(present) in self.conns

    async def _send_away_stranded(self) -> None:
        """Members connected through a worker that is gone go ``away``, as a dropped link does."""
        if self.workers is None or not self.workers.gone:
            return
        stranded = {
            worker
            for m in self.state.members.values()
            if (worker := worker_of(m.conn)) is not None and worker in self.workers.gone
        }
        if stranded and (gone := await self.workers.still_gone(stranded)):
            result = await self.submit(None, WorkersGone(gone))
            if isinstance(result, Rejection) and result.code != "ended":
                logger.warning("members of a gone worker not sent away: %s", result.code)

    async def _tick(self) -> None:
        loop = asyncio.get_running_loop()
        next_trim = loop.time() + LOG_TRIM_EVERY_S
        quiet_since_seq = self.state.seq
        slot = zlib.crc32(self.meeting_id.encode()) % TICK_SLOTS
        while True:
            await asyncio.sleep(next_tick_in(loop.time(), slot))
            if self.ended or self.stopped:
                return
            if not self.leads_timers():
                continue
            try:
                await self._send_away_stranded()
            except Exception as exc:  # noqa: BLE001 - the timers must keep running
                logger.warning("looking up gone workers failed: %s", type(exc).__name__)
            # Only what is due takes the ordered path (a wait for the replica to settle, and
            # with Redis a round trip): a timer due on a replica a moment behind its log is
            # found by the next tick, within the timers' resolution of a tick anyway.
            if timers_due(self.state, self.clock()):
                result = await self.submit(None, Tick())
                if isinstance(result, Rejection):  # pragma: no cover - Tick is never rejected
                    logger.warning("tick rejected: %s", result.code)
            if loop.time() >= next_trim:
                next_trim = loop.time() + LOG_TRIM_EVERY_S
                if self.state.seq == quiet_since_seq:
                    try:
                        await self._trim_quiet_log()
                    except Exception as exc:  # noqa: BLE001 - the timers must keep running
                        logger.warning("trimming a quiet room's log failed: %s", type(exc).__name__)
                quiet_since_seq = self.state.seq

    async def _trim_quiet_log(self) -> None:
        """Trim a quiet room's log by age. Appends trim it, so a room that has nothing to append
        (everyone silent, or everyone gone while it waits to end) would otherwise keep what was
        said until it ends, 30 minutes after its last member left.

        A room with no members at all (everyone left, or was removed at the end of their resume
        window) drops everything it retained: the log keeps events for members who resume, and
        nobody can any more. A snapshot of the replica is saved first when events came since the
        last one: a worker that opens the room later starts from it, not from the events
        trimmed."""
        if self._snapshotting is not None and not self._snapshotting.done():
            await asyncio.wait([self._snapshotting])
        if self.state.seq > self._snap_seq:
            await asyncio.wait([self._snapshot_soon(self.clock())])
        if self.ended:
            return
        through = Seq(0)
        if not self.state.members and self._saved_seq == self.state.seq:
            through = self.state.seq
        await self.log.trim(self.meeting_id, self.clock(), through=through)


@dataclass
class Hub:
    """The rooms this process follows, opened on first use and closed when they end."""

    log: RoomLog
    counters: Counters = field(default_factory=Counters)
    on_room_ended: Callable[[MeetingId, RoomState], Awaitable[None]] | None = None
    on_room_lost: Callable[[MeetingId], Awaitable[None]] | None = None
    """Called when a room's log went away under it (flushed, or dropped at an end this worker
    did not see): what the process keeps for the room beside the replica goes too."""
    clock: Callable[[], int] = now_ms
    """The rooms' clock (ms); replaceable at run time, e.g. by a test that skips ahead."""
    workers: Workers = field(init=False)
    """This worker's heartbeat and its view of the others."""
    rooms: dict[MeetingId, RoomChannel] = field(default_factory=dict)
    _opening: dict[MeetingId, asyncio.Future[RoomChannel | None]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.workers = Workers(self.log)

    async def room(
        self, meeting_id: MeetingId, config: Callable[[], Awaitable[RoomConfig | None]]
    ) -> RoomChannel | None:
        """The room's channel, opening it (once, even under concurrent calls) if needed.

        None when the meeting has no config, or its log was lost while the room opened. A
        meeting that ended while its replica caught up is returned but not kept: it refuses
        every command with ``ended``."""
        found = self.rooms.get(meeting_id)
        if found is not None:
            return found
        opening = self._opening.get(meeting_id)
        if opening is not None:
            return await asyncio.shield(opening)
        fut: asyncio.Future[RoomChannel | None] = asyncio.get_running_loop().create_future()
        self._opening[meeting_id] = fut
        try:
            # Beat before the first room: a connection of this worker is never in a log
            # before the worker is alive there (see Workers).
            await self.workers.started(lambda: self.rooms.values())
            cfg = await config()
            if cfg is None:
                fut.set_result(None)
                return None
            channel = RoomChannel(
                meeting_id=meeting_id,
                log=self.log,
                state=RoomState(config=cfg),
                counters=self.counters,
                on_ended=self._ended,
                on_lost=self._lost,
                clock=lambda: self.clock(),
                workers=self.workers,
            )
            await channel.start()
            if channel._unfollowed and not channel.ended:
                # Its follower stopped while it caught up: the log was lost (see _lost), or
                # it failed, and then its timers must stop too.
                if not channel.stopped:
                    await self._lost(channel)
                fut.set_result(None)
                return None
            if not channel.ended:  # an ended one was dropped already (see _ended)
                self.rooms[meeting_id] = channel
            fut.set_result(channel)
            return channel
        except BaseException:
            if not fut.done():
                fut.cancel()
            raise
        finally:
            self._opening.pop(meeting_id, None)

    def get(self, meeting_id: MeetingId) -> RoomChannel | None:
        return self.rooms.get(meeting_id)

    async def _ended(self, channel: RoomChannel) -> None:
        self.rooms.pop(channel.meeting_id, None)
        await self.log.drop(channel.meeting_id)
        if self.on_room_ended is not None:
            await self.on_room_ended(channel.meeting_id, channel.state)
        for task in channel._tasks:
            if task is not asyncio.current_task():
                task.cancel()

    async def _lost(self, channel: RoomChannel) -> None:
        """The room's log vanished while the meeting ran: forget this replica.

        Local members are closed with the resumable code; when they come back, the room is
        opened afresh from the log (or their resume is refused if the meeting is gone).
        """
        if self.rooms.get(channel.meeting_id) is channel:
            del self.rooms[channel.meeting_id]
        channel.stopped = True
        logger.warning("room log lost; closing its local connections")
        for conn in list(channel.conns.values()):
            conn.close(TOO_SLOW, "room restarted: resume")
        if self.on_room_lost is not None and self.rooms.get(channel.meeting_id) is None:
            try:
                await self.on_room_lost(channel.meeting_id)
            except Exception as exc:  # noqa: BLE001 - the replica goes whatever happens
                logger.warning("cleanup of a lost room failed: %s", type(exc).__name__)
        for task in channel._tasks:
            if task is not asyncio.current_task():
                task.cancel()

    async def close(self) -> None:
        for channel in list(self.rooms.values()):
            for conn in list(channel.conns.values()):
                conn.close(1001, "server shutting down")
            await channel.stop()
        self.rooms.clear()
        await self.workers.close()
