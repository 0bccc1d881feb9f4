"""The rooms service: what the WebSocket endpoint and the ticket API share in one process.

Owns the room log backend, the hub, the ticket signer, the moderation pipeline (and the
semantic crisis screen that runs after delivery), rate limiters and the per-address connection
counts (addresses live in memory only, for as long as the connection). Side effects that
touch the database (audit entries, meeting occurrences) leave the message path through
:class:`MetadataSink`, a queue drained by one background task.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import secrets
import time
from collections import Counter, deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from limits import RateLimitItem, RateLimitItemPerSecond, parse
from limits.aio.strategies import MovingWindowRateLimiter

from app.addresses import address_bucket
from app.auth.tickets import TicketSigner
from app.moderation.after_delivery import AfterDeliveryScreen, Outcome
from app.moderation.context import ScreenContext
from app.moderation.crisis import CrisisKind, crisis_hint, crisis_kind
from app.moderation.impersonation import skeleton
from app.moderation.names import name_crisis
from app.moderation.semantic import reaches_the_room, screens_semantically
from app.moderation.verdict import Verdict
from app.ratelimit import SweptMemoryStorage
from app.rooms import protocol as p
from app.rooms.attendance import SlipSigner
from app.rooms.commands import Concern, LeftTeam, Post
from app.rooms.decide import Rejection
from app.rooms.events import ROOM_AND_LOBBY, PhaseChanged
from app.rooms.hub import Counters, Hub, RoomChannel
from app.rooms.log import LogLimits, RoomLog, open_room_log
from app.rooms.state import Member, RoomConfig, RoomState, name_key
from app.rooms.types import MAX_TEXT_CHARS, HoldId, MeetingId, MemberId
from app.tasks import cancel_and_wait

EMPTY_TEXT = "This message is empty once invisible characters are removed."
"""The refusal of a message (or a lobby message) whose display form is empty: nothing but
control or invisible characters."""
NAME_REFUSALS = parse("5/10minute")
"""Names refused as in use, per meeting and address: the refusal tells whether someone is in
the meeting under that name, so trying names one after another (is "Sarah" there?) is slowed
to a few a meeting; past it, every ticket from the address is refused for a while, so what
follows tells nothing either. Counted at the ticket and at the join (a worker that does not
follow the meeting issues the ticket without the look; the join then refuses the name)."""

logger = logging.getLogger("haven.rooms")

MetadataJob = Callable[[], Awaitable[None]]


class MetadataSink:
    """Runs database writes (audit, occurrences) in order, off the message path.

    A full queue drops the job and counts it: losing an audit line is better than stalling a
    meeting. Jobs carry ids and action names only, never content.
    """

    def __init__(self, maxsize: int = 10_000) -> None:
        self._queue: asyncio.Queue[MetadataJob] = asyncio.Queue(maxsize=maxsize)
        self._task: asyncio.Task[None] | None = None
        self.dropped = 0

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    def put(self, job: MetadataJob) -> None:
        try:
            self._queue.put_nowait(job)
        except asyncio.QueueFull:
            self.dropped += 1

    async def drain(self) -> None:
        await self._queue.join()

    async def _run(self) -> None:
        while True:
            job = await self._queue.get()
            try:
                await job()
            except Exception:  # noqa: BLE001 - a failed write must not stop later ones
                logger.exception("metadata write failed")
            finally:
                self._queue.task_done()
                # Idle, this frame would keep the last job alive until the next one, and with
                # it whatever the job's closure holds (an ended room's state, say).
                del job

    async def close(self) -> None:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(5):
                await self._queue.join()
        if self._task is not None:
            await cancel_and_wait(self._task)


@dataclass
class RoomLimits:
    max_text_chars: int = 2000
    messages: RateLimitItem = field(default_factory=lambda: parse("5/5second"))
    commands: RateLimitItem = field(default_factory=lambda: RateLimitItemPerSecond(20, 10))
    max_violations: int = 10
    """Refused frames (malformed, rate-limited) per minute before the connection is closed."""
    max_conns_per_ip: int = 20
    handshake_timeout_s: float = 10.0
    send_queue_max_frames: int = 256
    send_queue_max_bytes: int = 1 << 20


class ConnectionCounter:
    """Open connections per client address (as ``Rooms.address_key``), in memory only."""

    def __init__(self) -> None:
        self._counts: Counter[str] = Counter()

    def acquire(self, address: str, cap: int) -> bool:
        if self._counts[address] >= cap:
            return False
        self._counts[address] += 1
        return True

    def release(self, address: str) -> None:
        self._counts[address] -= 1
        if self._counts[address] <= 0:
            del self._counts[address]


@dataclass(frozen=True)
class RoomMeta:
    """Per-meeting facts the endpoint needs beside the pure RoomConfig."""

    policy: Any = None
    facilitator_names: tuple[str, ...] = ()
    facilitator_accounts: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class Delivered:
    """What the semantic screen hands back with a crisis: where to send the care."""

    room: RoomChannel
    member: MemberId
    cid: str
    name: str
    """The sender's name, for the facilitators' alert should they have left by then."""
    in_room: bool = True
    """Whether the message is posted at once; if not (held, blocked, warned), the care goes
    out without waiting for it to be in the room."""


ConfigLoader = Callable[[MeetingId], Awaitable[tuple[RoomConfig, RoomMeta] | None]]
RoomEndedHook = Callable[[MeetingId, RoomState], Awaitable[None]]
ControlHook = Callable[[RoomChannel, MemberId, p.Command], None]


class Rooms:
    def __init__(
        self,
        log: RoomLog,
        signer: TicketSigner,
        limits: RoomLimits,
        load_config: ConfigLoader,
        counters: Counters | None = None,
        pipeline: Any = None,
        care_card: dict[str, Any] | None = None,
        default_policy: Any = None,
        on_verdict: Callable[[Any, float], None] | None = None,
        semantic_crisis: bool = False,
        semantic_share: float = 0.25,
        on_semantic: Callable[[Outcome], None] | None = None,
    ) -> None:
        self.log = log
        self.signer = signer
        self.slips: SlipSigner | None = None
        """Proofs of attendance (``app.rooms.attendance``); set with the server's secret."""
        self.limits = limits
        self.hub = Hub(
            log=log,
            counters=counters or Counters(),
            on_room_ended=self._room_ended,
            on_room_lost=self._room_lost,
        )
        self.pipeline = pipeline
        self.default_policy = default_policy
        self.on_verdict = on_verdict
        self.care_card = care_card or {}
        self.sink = MetadataSink()
        self.conn_counts = ConnectionCounter()
        # The asyncio storage, swept at most once a second (app/ratelimit.py): the threaded one
        # expires keys from a timer thread holding a lock that the event loop then waits on, and
        # the asyncio one sweeps every key through a thread after every hit.
        self._limiter = MovingWindowRateLimiter(SweptMemoryStorage())
        self._address_secret = secrets.token_bytes(16)
        self._load_config = load_config
        self.ended_hooks: list[RoomEndedHook] = []
        self.control_hooks: list[ControlHook] = []
        self.meta: dict[MeetingId, RoomMeta] = {}
        # Per room, the look-alike skeleton of each name seen there: a join storm into a big
        # meeting would otherwise reduce every member's name again for every ticket. Dropped
        # with the room (pseudonyms live only as long as their meeting, docs/privacy.md).
        self._skeletons: dict[MeetingId, dict[str, str]] = {}
        # Per room and member, the messages (cids) whose crisis care went out before they were
        # posted (see first_care). Ids only; dropped with the room.
        self._cared: dict[MeetingId, dict[MemberId, deque[str]]] = {}
        # After delivery, off the event loop: crisis care for what the rules missed.
        self.semantic: AfterDeliveryScreen[Delivered] | None = None
        if semantic_crisis and pipeline is not None:
            self.semantic = AfterDeliveryScreen(
                self._late_crisis,
                count=on_semantic or (lambda outcome: None),
                share=semantic_share,
            )
        self._care_tasks: set[asyncio.Task[None]] = set()

    @classmethod
    def from_url(
        cls,
        url: str,
        log_limits: LogLimits,
        signer: TicketSigner,
        limits: RoomLimits,
        load_config: ConfigLoader,
        **kwargs: Any,
    ) -> Rooms:
        return cls(open_room_log(url, log_limits), signer, limits, load_config, **kwargs)

    def start(self) -> None:
        self.sink.start()
        if self.semantic is not None:
            self.semantic.start()

    async def close(self) -> None:
        if self.semantic is not None:
            await self.semantic.close()
        for task in list(self._care_tasks):
            task.cancel()
        await self.hub.close()
        self._skeletons.clear()
        await self.sink.close()
        await self.log.close()

    async def room(self, meeting_id: MeetingId) -> RoomChannel | None:
        """This worker's channel for the meeting, opening it from the database on first use."""

        async def config() -> RoomConfig | None:
            loaded = await self._load_config(meeting_id)
            if loaded is None:
                return None
            cfg, meta = loaded
            self.meta[meeting_id] = meta
            return cfg

        return await self.hub.room(meeting_id, config)

    async def left_team(self, meeting_id: MeetingId, accounts: set[str]) -> None:
        """Facilitator accounts taken off a meeting's team: in its running room, their
        co-facilitators become members (the command goes through the log, so every worker's
        replica agrees). A worker that does not follow the meeting (it runs on others) opens
        its room for the command, and follows it from then on, as it does a room its own
        members have left: letting it go again would race with members joining through it."""
        if not accounts:
            return
        room = self.hub.get(meeting_id)
        if room is None:
            if await self.log.last_seq(meeting_id) == 0:
                return  # not running anywhere: the next ticket gives the role the team says
            room = await self.room(meeting_id)
        if room is not None and not room.ended:
            await room.submit(None, LeftTeam(accounts=frozenset(accounts)))

    async def open_live(self, meeting_id: MeetingId) -> None:
        """Open a room with its doors open and nobody in it yet (the demo meeting)."""
        room = await self.room(meeting_id)
        if room is not None and room.state.phase == "waiting":
            events = (PhaseChanged(p="live", aud=ROOM_AND_LOBBY),)
            envelopes = await self.log.append(meeting_id, events, self.hub.clock())
            await room.caught_up(envelopes[-1].seq)

    # -- moderation ------------------------------------------------------------------------

    def screen(
        self, room: RoomChannel, me: Member, cmd: p.Say | p.Dm, recent: list[str]
    ) -> tuple[Post | dict[str, Any], str | None, Concern | None]:
        """Run the pipeline on a ``say`` or a ``dm``: a Post to decide, or a direct reply
        (warn, error); with the text's matching form for the sender's recent messages (None:
        no pipeline); and, for a message in crisis language, the care to submit should it not
        reach the room (a direct reply, or a Post the room refuses): a ``Concern`` with
        ``delivered=False``.

        A private message is screened as a chat message is, with one difference: it is never
        held for review, as its readers are the facilitators who would review it. A member's
        is judged again without what would have held it; a facilitator's that would be held is
        refused, as their message to the lobby is."""
        private = isinstance(cmd, p.Dm)
        to = cmd.m if isinstance(cmd, p.Dm) else None
        if self.pipeline is None:
            return Post(cid=cmd.cid, text=cmd.x, private=private, to=to), None, None
        ctx = self._context(room, me, recent, confirmed=cmd.ok)
        policy = ctx.policy
        started = time.perf_counter()
        verdict = self.pipeline.screen(cmd.x, ctx)
        if self.on_verdict is not None:
            self.on_verdict(verdict, time.perf_counter() - started)
        if private and verdict.action == "hold":
            # A facilitator's is refused; a member's is judged again without what would hold
            # it (a newcomer's first messages, say), so a privacy warning still comes first.
            verdict = (
                replace(verdict, action="block")
                if me.is_facilitator
                else self.pipeline.screen(cmd.x, ctx, hold=False)
            )
        crisis = crisis_kind(verdict)
        care = self.care_off_the_room(crisis, cmd.cid)
        warned = verdict.action == "warn" and "pii" in verdict.categories and not cmd.ok
        if self.semantic is not None and screens_semantically(verdict) and not warned:
            # Crisis language the rules missed gets its care whatever happens to the message;
            # one answered with a privacy warning is read when its sender sends it anyway, so
            # that personal data they did not agree to send is not kept for the screen.
            self.semantic.submit(
                verdict.text,
                Delivered(room, me.id, cmd.cid, me.name, in_room=reaches_the_room(verdict)),
            )
        if not verdict.text.strip():
            # Nothing but control or invisible characters, which the display form drops.
            return {"t": "error", "code": "invalid", "msg": EMPTY_TEXT, "cid": cmd.cid}, None, care
        if verdict.action == "block":
            return (
                {
                    "t": "error",
                    "code": "blocked",
                    "msg": "This message was not sent: it goes against this meeting's guidelines.",
                    "cid": cmd.cid,
                    "why": list(verdict.reasons),
                },
                None,
                care,
            )
        if warned:
            return (
                {
                    "t": "warn",
                    "cid": cmd.cid,
                    "code": "pii",
                    "spans": [[s.start, s.end, s.category] for s in verdict.spans],
                },
                None,
                care,
            )
        return (
            Post(
                cid=cmd.cid,
                text=verdict.text,
                redacted=verdict.action == "redact",
                hold=verdict.action == "hold",
                hold_id=HoldId(secrets.token_urlsafe(6)) if verdict.action == "hold" else None,
                why=tuple(verdict.reasons),
                fallback=getattr(policy, "review_fallback", "allow"),
                crisis=crisis,
                hint=crisis_hint(crisis) if crisis else "",
                card=self.care_card if crisis else None,
                private=private,
                to=to,
            ),
            verdict.matching,
            care,
        )

    def _context(
        self, room: RoomChannel, me: Member, recent: list[str], *, confirmed: bool
    ) -> ScreenContext:
        meta = self.meta.get(room.meeting_id, RoomMeta())
        return ScreenContext(
            role=me.role,
            policy=meta.policy if meta.policy is not None else self.default_policy,
            recent=tuple(recent),
            facilitator_names=meta.facilitator_names,
            confirmed=confirmed,
            joined_s_ago=max(0.0, (self.hub.clock() - me.joined_at) / 1000),
            sent_count=me.sent,
            trusted=me.trusted,
        )

    def screen_text(self, room: RoomChannel, me: Member, text: str) -> Verdict | None:
        """The pipeline's verdict on a text that is not a chat message (a facilitator's
        message to the lobby), or None with moderation off."""
        if self.pipeline is None:
            return None
        verdict: Verdict = self.pipeline.screen(text, self._context(room, me, [], confirmed=True))
        return verdict

    def crisis_care(
        self, room: RoomChannel, me: Member, text: str, cid: str, *, alert: bool = True
    ) -> Concern | None:
        """The care for crisis language in ``text`` that is not screened as a message (refused
        before screening, or a report's reason): a ``Concern`` with ``delivered=False``, or
        None. The crisis rules only, on at most the longest message the protocol carries (a
        refused frame may be 16 KiB; reading it all would cost more than any message does):
        the rest of the pipeline judges what reaches a room."""
        if self.pipeline is None:
            return None
        ctx = self._context(room, me, [], confirmed=False)
        kind = self.pipeline.crisis(text[:MAX_TEXT_CHARS], ctx)
        return self.care_off_the_room(kind, cid, alert=alert)

    def care_off_the_room(
        self, kind: CrisisKind | None, cid: str, *, alert: bool = True
    ) -> Concern | None:
        """The care for crisis language of ``kind`` in text that is not (or not yet) in the
        room: a ``Concern`` with ``delivered=False``, or None for no crisis."""
        if kind is None:
            return None
        return Concern(
            cid=cid,
            crisis=kind,
            hint=crisis_hint(kind),
            card=self.care_card,
            delivered=False,
            alert=alert,
        )

    def first_care(self, room: RoomChannel, member: MemberId, cid: str) -> bool:
        """Whether the message ``cid`` of ``member`` has not had its crisis care yet, and
        from now on it has: a message refused before screening (sent too fast) gets its care
        then, and not again when it is sent again, on this connection or after a resume. Kept
        per room, for the last 16 such messages of each member, and dropped with the room."""
        cared = self._cared.setdefault(room.meeting_id, {}).setdefault(member, deque(maxlen=16))
        if cid in cared:
            return False
        cared.append(cid)
        return True

    def already_cared(self, room: RoomChannel, member: MemberId, cid: str) -> bool:
        found = self._cared.get(room.meeting_id, {}).get(member)
        return found is not None and cid in found

    def name_care(self, name: str) -> Concern | None:
        """The care for crisis language in a member's name (``name_crisis``), or None."""
        if self.pipeline is None:
            return None
        return self.care_off_the_room(name_crisis(name, self.pipeline), "")

    def _late_crisis(self, delivered: Delivered, kind: CrisisKind) -> None:
        """On the event loop: the semantic screen found a crisis in a delivered message."""
        task = asyncio.get_running_loop().create_task(self._care_after(delivered, kind))
        self._care_tasks.add(task)
        task.add_done_callback(self._care_tasks.discard)

    async def _care_after(self, delivered: Delivered, kind: CrisisKind) -> None:
        """Send the card and the alert the rules path would have sent (``Concern`` yields the
        same events). The screen usually finishes after the message is in the room; when it
        is not there yet, wait for the room's next event and try again (twice). A message
        still not there was refused or held for review: it gets its care all the same, as does
        one that was never to be posted at once. A sender who has left by then gets no card,
        but the facilitators get the alert."""
        room = delivered.room
        cmd = Concern(
            cid=delivered.cid,
            crisis=kind,
            hint=crisis_hint(kind),
            card=self.care_card,
            delivered=delivered.in_room,
            name=delivered.name,
        )
        for attempt in range(4):
            if attempt == 3:
                cmd = replace(cmd, delivered=False)
            if room.ended:
                return
            try:
                result = await room.submit(delivered.member, cmd)
            except Exception as exc:  # noqa: BLE001 - the room may be closing under us
                logger.warning("crisis care after delivery not sent: %s", type(exc).__name__)
                return
            if not (isinstance(result, Rejection) and result.code == "not_delivered"):
                return
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(1.0):
                    await room.caught_up(room.state.seq + 1)

    def on_control(self, room: RoomChannel, actor: MemberId, cmd: p.Command) -> None:
        for hook in self.control_hooks:
            hook(room, actor, cmd)

    def address_key(self, address: str | None) -> str:
        """The stand-in for a client address in rate-limit keys and connection counts.

        A keyed hash with a per-process random key: the limiter keeps a key for its whole
        window (ten minutes for passcode tries), long after the connection, and a raw address
        there would tie an address to the meeting it joined (docs/privacy.md). IPv6 addresses
        count by their /64 (``app.addresses``).
        """
        raw = address_bucket(address).encode()
        return hashlib.blake2b(raw, key=self._address_secret, digest_size=16).hexdigest()

    async def allow(self, item: RateLimitItem, *keys: str) -> bool:
        return await self._limiter.hit(item, *keys)

    async def within(self, item: RateLimitItem, *keys: str) -> bool:
        """Whether one more hit would be allowed, without counting one."""
        return await self._limiter.test(item, *keys)

    async def retry_after(self, item: RateLimitItem, *keys: str) -> float:
        stats = await self._limiter.get_window_stats(item, *keys)
        now = datetime.now(UTC).timestamp()
        return max(0.0, round(stats.reset_time - now, 1))

    def name_in_use(self, room: RoomChannel, name: str, device: str | None = None) -> bool:
        """Whether ``name``, or a look-alike of it ("Рор" in Cyrillic for "Pop", "P0p"), is
        the name of someone in ``room``; not when it is that member's own browser (``device``)
        asking again under the same name, which replaces its member (``state.replaceable``)."""
        key = name_key(name)
        mine = skeleton(name)
        known = self._skeletons.setdefault(room.meeting_id, {})
        members = room.state.members.values()
        if len(known) > 2 * len(members) + 64:
            known.clear()  # names of people long gone
        for m in members:
            if m.key == key:
                return device is None or room.state.replaceable(key, device) is None
            theirs = known.get(m.name)
            if theirs is None:
                theirs = known[m.name] = skeleton(m.name)
            if mine and theirs == mine:
                return True
        return False

    async def _room_ended(self, meeting_id: MeetingId, state: RoomState) -> None:
        self._forget_room(meeting_id)
        for hook in self.ended_hooks:
            await hook(meeting_id, state)

    async def _room_lost(self, meeting_id: MeetingId) -> None:
        """The room's log went away under this worker: flushed, or dropped at an end whose
        event this worker's follower did not read in time. The worker that decided the end
        ran the ended hooks (the occurrence, the audit); here, what this process kept."""
        self._forget_room(meeting_id)

    def _forget_room(self, meeting_id: MeetingId) -> None:
        """Drop what this process keeps for a room beside its replica: the look-alike forms of
        its members' names, and its messages still waiting for the semantic screen."""
        self._skeletons.pop(meeting_id, None)
        self._cared.pop(meeting_id, None)
        if self.semantic is not None:
            self.semantic.forget(lambda delivered: delivered.room.meeting_id == meeting_id)
