"""The WebSocket endpoint: a thin loop of parse, screen, decide, append.

Per connection: check the Origin and the per-address cap before anything else; wait (bounded)
for the opening frame (``hello`` with a ticket, or ``resume`` with a token and the last seq);
answer ``welcome`` with a snapshot (and the missed events on resume); attach to the room's
fan-out; then read commands until the socket closes. Bad input gets a typed ``error`` frame and
the connection stays; repeated bad input closes it with 1008. Nothing here logs content, names
or addresses: the connection id is random and meaningless outside this process.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections import deque
from dataclasses import replace
from typing import Any
from urllib.parse import urlsplit

import orjson
from limits import parse
from pydantic import ValidationError
from starlette.datastructures import Headers
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from app.auth.tickets import TicketError, TicketExpired
from app.moderation.crisis import crisis_kind
from app.rooms import codec
from app.rooms import protocol as p
from app.rooms.attendance import printable_name
from app.rooms.commands import Concern, Disconnect, Join, Post, Reconnect
from app.rooms.connection import (
    TOO_SLOW,
    Connection,
    DirectConnection,
    Outgoing,
    QueuedConnection,
)
from app.rooms.decide import Rejection
from app.rooms.events import Envelope
from app.rooms.fastws import DIRECT_EXTENSION
from app.rooms.hub import SETTLE_S, RoomChannel, can_see
from app.rooms.service import EMPTY_TEXT, NAME_REFUSALS, Rooms
from app.rooms.snapshot import snapshot
from app.rooms.state import Member, name_key
from app.rooms.types import MemberId, Seq

logger = logging.getLogger("haven.rooms")

# Close codes: docs/protocol.md.
BAD_OPENING = 4000
BAD_TICKET = 4001
REPLAYED = 4002
RESUME_REFUSED = 4003
ENDED = 4004
HANDSHAKE_TIMEOUT = 4009
TOO_MANY = 4013
NORMAL = 1000
POLICY = 1008

RESUMES = parse("10/minute")
"""Resumes per member: a flaky link needs a few; a loop of them would flood the room."""

JOIN_CLOSE = {
    "banned": (4011, "banned from this meeting"),
    "full": (4012, "meeting full"),
    "locked": (4015, "meeting locked"),
    "name_taken": (4016, "name taken"),
    "ended": (ENDED, "meeting ended"),
}


MESSAGES = (p.Say, p.Dm)
"""The frames that carry text to screen: a chat message and a private one."""


def origin_allowed(websocket: WebSocket, allowed: list[str]) -> bool:
    """Refuse cross-site WebSocket hijacking: a browser always sends Origin.

    A frame without Origin does not come from a web page (no ambient cookies to abuse), so it
    is allowed; with one, it must be listed or be this server's own origin.
    """
    # Not ``websocket.headers``: that would keep a parsed copy for the connection's lifetime.
    headers = Headers(scope=websocket.scope)
    origin = headers.get("origin")
    if origin is None:
        return True
    if origin in allowed:
        return True
    host = headers.get("host", "")
    parts = urlsplit(origin)
    return parts.scheme in ("http", "https") and parts.netloc == host


class Session:
    """One connection's state on this worker."""

    def __init__(self, rooms: Rooms, websocket: WebSocket, metrics: Any, address: str = "") -> None:
        self.rooms = rooms
        self.address = address
        self.ws = websocket
        self.metrics = metrics
        # Named by its worker: another worker that finds this one gone sends its members
        # away (app.rooms.hub.Workers).
        self.id = f"{rooms.hub.workers.me}.{secrets.token_hex(6)}"
        rooms.hub.workers.sessions.add(self.id)
        self.room: RoomChannel | None = None
        self.member: MemberId | None = None
        self.conn: Connection | None = None
        # Made on first use: most members of a meeting never send a message.
        self.recent: deque[str] | None = None
        self.violations: deque[float] | None = None

    # -- sending ---------------------------------------------------------------------------

    def reply(self, payload: dict[str, Any]) -> None:
        """An unsequenced frame to this connection only, in order with its events."""
        if self.conn is not None:
            self.conn.push([Outgoing(codec.direct(payload))])

    def error(
        self,
        code: str,
        msg: str,
        cid: str | None = None,
        retry: float | None = None,
        why: list[str] | None = None,
    ) -> None:
        frame: dict[str, Any] = {"t": "error", "code": code, "msg": msg}
        if cid is not None:
            frame["cid"] = cid
        if retry is not None:
            frame["retry"] = retry
        if why is not None:
            frame["why"] = why
        if self.metrics is not None:
            self.metrics.error(code)
        self.reply(frame)

    def make_conn(self, member: MemberId) -> Connection:
        limits = self.rooms.limits
        proto = self.ws.scope.get("extensions", {}).get(DIRECT_EXTENSION)
        on_overflow = self.metrics.send_overflows.inc if self.metrics is not None else _noop
        if proto is not None:
            return DirectConnection(
                self.id, member, proto, limits.send_queue_max_bytes, on_overflow
            )
        return QueuedConnection(
            self.id,
            member,
            self.ws.send_text,
            self._close_ws,
            limits.send_queue_max_frames,
            on_overflow,
        )

    async def _close_ws(self, code: int, reason: str) -> None:
        if self.ws.application_state != WebSocketState.DISCONNECTED:
            await self.ws.close(code, reason)

    # -- opening ---------------------------------------------------------------------------

    async def open(self) -> bool:
        """Handle the opening frame; True once the connection is attached to a room."""
        try:
            async with asyncio.timeout(self.rooms.limits.handshake_timeout_s):
                raw = await self.ws.receive_text()
        except TimeoutError:
            await self.ws.close(HANDSHAKE_TIMEOUT, "no opening frame")
            return False
        except KeyError:  # a binary frame: Starlette's receive_text finds no "text"
            await self.ws.close(BAD_OPENING, "expected a text frame")
            return False
        try:
            opening = p.OPENINGS.validate_json(raw)
        except ValidationError:
            await self.ws.close(BAD_OPENING, "expected hello or resume")
            return False
        if isinstance(opening, p.Hello):
            return await self._hello(opening)
        return await self._resume(opening)

    async def _hello(self, hello: p.Hello) -> bool:
        rooms = self.rooms
        try:
            ticket = rooms.signer.verify(hello.ticket)
        except TicketExpired:
            await self.ws.close(BAD_TICKET, "ticket expired")
            return False
        except TicketError:
            await self.ws.close(BAD_TICKET, "ticket invalid")
            return False
        if not await rooms.log.claim(f"ticket:{ticket.nonce}", rooms.signer.ttl_s + 5):
            await self.ws.close(REPLAYED, "ticket already used")
            return False
        room = await rooms.room(ticket.meeting)
        if room is None:
            await self.ws.close(BAD_TICKET, "unknown meeting")
            return False
        names = (NAME_REFUSALS, "name", ticket.meeting, self.address)
        if ticket.role == "member" and not await rooms.within(*names):
            await self.ws.close(TOO_MANY, "too many names tried; wait a few minutes")
            return False
        join = Join(
            member=ticket.member,
            name=ticket.name,
            key=name_key(ticket.name),
            role=ticket.role,
            conn=self.id,
            device=ticket.device,
            account=ticket.account,
            grant=ticket.grant,
        )
        result = await room.submit(None, join)
        if isinstance(result, Rejection):
            if result.code == "name_taken":
                await rooms.allow(*names)
            code, reason = JOIN_CLOSE.get(result.code, (BAD_OPENING, result.code))
            await self.ws.close(code, reason)
            return False
        await room.caught_up(result[-1].seq)
        if await self._room_gone(room):
            return False
        me = room.state.members.get(ticket.member)
        if me is None:  # apply refused it: a name or seat was taken meanwhile
            await rooms.allow(*names)
            await self.ws.close(*JOIN_CLOSE["name_taken"])
            return False
        self._attach(room, me, replay=None)
        if me.role == "member" and (care := rooms.name_care(me.name)) is not None:
            # A name that is a cry for help is not refused (app.moderation.names): the member
            # gets the card, and the facilitators the alert, as for such a message.
            await room.submit(me.id, care)
        return True

    async def _room_gone(self, room: RoomChannel) -> bool:
        """After a wait for the replica: a room that ended or stopped meanwhile (its wait was
        released, not fulfilled) closes this connection as it closed its members."""
        if room.ended:
            await self.ws.close(*JOIN_CLOSE["ended"])
            return True
        if room.stopped:
            await self.ws.close(TOO_SLOW, "room restarted: try again")
            return True
        return False

    async def _resume(self, resume: p.Resume) -> bool:
        rooms = self.rooms
        try:
            claim = rooms.signer.verify_resume(resume.token)
        except TicketError:
            await self.ws.close(RESUME_REFUSED, "resume token invalid")
            return False
        # Each resume announces ``back`` to the room: unbounded, one ticket would flood it.
        if not await rooms.allow(RESUMES, "resume", claim.meeting, claim.member):
            await self.ws.close(TOO_MANY, "too many reconnects; wait a minute")
            return False
        room = rooms.hub.get(claim.meeting)
        if room is None and resume.epoch and await rooms.log.epoch(claim.meeting) == resume.epoch:
            # With several workers, the member may come back to one that does not follow
            # this meeting yet: the same log (its epoch) is still there, so follow it here.
            room = await rooms.room(claim.meeting)
        if room is None:
            if await rooms.log.dropped(claim.meeting):
                # It ended while the member's link was down: they are told so, not sent to
                # join again (a new ticket would open the meeting's next run, not yet live).
                await self.ws.close(*JOIN_CLOSE["ended"])
            else:
                await self.ws.close(RESUME_REFUSED, "meeting not running")
            return False
        if claim.member not in room.state.members:
            await self.ws.close(RESUME_REFUSED, "no longer a member")
            return False
        result = await room.submit(claim.member, Reconnect(member=claim.member, conn=self.id))
        if isinstance(result, Rejection):
            await self.ws.close(RESUME_REFUSED, result.code)
            return False
        if result:
            await room.caught_up(result[-1].seq)
            if await self._room_gone(room):
                return False
        replay = await self._missed(room, resume.epoch, Seq(resume.after))
        if self.metrics is not None:
            kind = "resume" if replay is not None else "snapshot"
            self.metrics.reconnect(kind)
        me = room.state.members.get(claim.member)
        if me is None:
            await self.ws.close(RESUME_REFUSED, "no longer a member")
            return False
        self._attach(room, me, replay=replay)
        return True

    async def _missed(self, room: RoomChannel, epoch: str, after: Seq) -> list[Envelope] | None:
        """What the member missed after ``after``, up to what the replica has applied once
        this returns (no await follows before ``_attach``): None when the log no longer holds
        all of it (the member gets a snapshot). The replica may apply more while a read is
        in flight (a Redis round trip): those events are read too, or they would reach the
        member neither in the replay nor live."""
        if epoch != room.epoch or after > room.state.seq:
            return None
        events: list[Envelope] = []
        for _ in range(8):
            read = await self.rooms.log.read(room.meeting_id, after)
            if not read.complete or read.epoch != room.epoch:
                return None
            events.extend(read.events)
            if events:
                after = max(after, events[-1].seq)
            if after >= room.state.seq:
                return events
        return None  # a room busier than the reads: a snapshot is exact

    def _attach(self, room: RoomChannel, me: Member, replay: list[Any] | None) -> None:
        """Welcome, replay, attach: no await in between, so nothing is missed or doubled."""
        self.room, self.member = room, me.id
        self.conn = conn = self.make_conn(me.id)
        state = room.state
        welcome = {
            "t": "welcome",
            "v": p.PROTOCOL_VERSION,
            "me": me.id,
            "role": me.role,
            "token": self.rooms.signer.resume_token(room.meeting_id, me.id),
            "epoch": room.epoch,
            "seq": state.seq,
            "replay": replay is not None,
            "room": snapshot(state, me),
            "max_text": self.rooms.limits.max_text_chars,
            # The messages' limit, so that a client paces a queue it resends rather than have
            # it refused (refusals count towards closing the link).
            "rate": [self.rooms.limits.messages.amount, self.rooms.limits.messages.get_expiry()],
        }
        items = [Outgoing(codec.direct(welcome))]
        stale = room.stale
        for envelope in replay or ():
            if (
                envelope.seq <= state.seq
                and envelope.seq not in stale
                and can_see(envelope.event, envelope.seq, me)
            ):
                items.append(Outgoing(codec.wire(envelope)))
        conn.push(items)
        room.attach(conn)

    # -- commands --------------------------------------------------------------------------

    def violation(self) -> bool:
        """Count a refused frame; True when the connection has had too many and must close."""
        loop_time = asyncio.get_running_loop().time()
        if self.violations is None:
            self.violations = deque()
        self.violations.append(loop_time)
        while self.violations and self.violations[0] < loop_time - 60:
            self.violations.popleft()
        return len(self.violations) > self.rooms.limits.max_violations

    async def serve(self) -> None:
        assert self.room is not None and self.member is not None
        while True:
            message = await self.ws.receive()
            if message["type"] == "websocket.disconnect":
                return
            text = message.get("text")
            if text is None:
                self.error("binary_frame", "Frames must be JSON text.")
                if self.violation():
                    await self._policy_close()
                    return
                continue
            if self.metrics is not None:
                self.metrics.messages_in.inc()
            if not await self.handle(text):
                return

    async def _policy_close(self) -> None:
        if self.conn is not None:
            self.conn.close(POLICY, "too many invalid frames")

    async def handle(self, text: str) -> bool:
        """One client frame. False when the connection must stop reading."""
        room, member = self.room, self.member
        assert room is not None and member is not None
        try:
            cmd = p.COMMANDS.validate_json(text)
        except ValidationError as exc:
            code = _frame_error_code(exc)
            refused = _refused_say(text) if code == "too_long" else None
            self.error(code, "That frame is not a valid command.", cid=refused and refused[1])
            if refused is not None:
                await self._care_for_refused(*refused)
            if self.violation():
                await self._policy_close()
                return False
            return True
        say = isinstance(cmd, MESSAGES)  # private messages share the messages' limit
        limits = self.rooms.limits
        keys = ("say" if say else "cmd", room.meeting_id, member)
        item = limits.messages if say else limits.commands
        if not await self.rooms.allow(item, *keys):
            cid = cmd.cid if isinstance(cmd, MESSAGES) else None
            retry = await self.rooms.retry_after(item, *keys)
            self.error("rate_limited", "Slow down a little.", cid=cid, retry=retry)
            if isinstance(cmd, MESSAGES):
                await self._care_for_refused(cmd.x, cmd.cid)
            if self.violation():
                await self._policy_close()
                return False
            return True
        if isinstance(cmd, p.Ping):
            # Under the commands' limit like the rest: a client that pings as fast as it reads
            # its pongs would otherwise cost the server without bound.
            self.reply({"t": "pong"})
            return True
        if isinstance(cmd, MESSAGES):
            return await self._say(cmd)
        if isinstance(cmd, p.SlipAsk):
            self._slip(cmd)
            return True
        if isinstance(cmd, p.Report) and cmd.why:
            # A reason can be a cry for help of its own. The facilitators read it with the
            # report, which is anonymous: the card goes to its sender, and no alert names them.
            await self._care_for_refused(cmd.why, "", alert=False)
        if isinstance(cmd, p.LobbySay):
            screened = await self._screen_lobby_say(cmd)
            if screened is None:
                return True
            cmd = screened
        result = await room.submit(member, cmd)
        if isinstance(result, Rejection):
            self.error(result.code, result.msg, retry=result.retry)
            return True
        if isinstance(cmd, p.Leave):
            if self.conn is not None:
                self.conn.close(NORMAL, "left")
            return False
        if cmd.t in p.FACILITATOR_COMMAND_TYPES:
            self.rooms.on_control(room, member, cmd)
        return True

    async def _say(self, cmd: p.Say | p.Dm) -> bool:
        room, member_id = self.room, self.member
        assert room is not None and member_id is not None
        if len(cmd.x) > self.rooms.limits.max_text_chars:
            self.error("too_long", "That message is too long.", cid=cmd.cid)
            await self._care_for_refused(cmd.x, cmd.cid)
            if self.violation():
                await self._policy_close()
                return False
            return True
        me = room.state.members.get(member_id)
        if me is None:
            return False
        if cmd.cid in me.recent_cids:
            self.reply({"t": "dup", "cid": cmd.cid})
            return True
        post, matching, care = self.rooms.screen(room, me, cmd, list(self.recent or ()))
        if care is not None and self.rooms.already_cared(room, member_id, cmd.cid):
            # Its care went out when it was first refused (sent too fast): not twice.
            care = None
            if isinstance(post, Post):
                post = replace(post, crisis=None, hint="", card=None)
        if isinstance(post, dict):
            self.reply(post)
            await self._give_care(care)
            return True
        if matching is not None:
            # The flood stage compares against the sender's recent messages in matching form.
            if self.recent is None:
                self.recent = deque(maxlen=10)
            self.recent.append(matching)
        result = await room.submit(member_id, post)
        if isinstance(result, Rejection):
            if result.code == "duplicate":
                self.reply({"t": "dup", "cid": cmd.cid})
            elif result.code == "blocked":
                # Held for review with nobody to review it (the policy's fallback): the
                # pipeline's reasons, as for any other blocked message, and why it was not held.
                why = [*post.why, "review.no_facilitator"]
                self.error(result.code, result.msg, cid=cmd.cid, why=why)
            else:
                self.error(result.code, result.msg, cid=cmd.cid, retry=result.retry)
            if result.code != "duplicate":
                # Refused (muted, in the lobby, chat closed, slow mode, nobody to review it):
                # the message stays out of the room; the care and the alert do not.
                await self._give_care(care)
        elif isinstance(cmd, p.Dm) and me.is_facilitator and result:
            # A facilitator's private message to a member is in the audit (who, to whom,
            # when; never the text), as their other actions on members are: once it is in
            # (not when the reducer folds it as nothing, the writer muted or demoted first).
            # The wait is bounded as deciding's is: a replica that lags past it is taken to
            # have applied the message (the audit overstates rather than misses).
            seq = result[0].seq
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(SETTLE_S):
                    await room.caught_up(seq)
            if seq not in room.stale and not (room.ended or room.stopped):
                self.rooms.on_control(room, member_id, cmd)
        return True

    def _slip(self, cmd: p.SlipAsk) -> None:
        """A proof of attendance from when the member came into the room until now: a direct
        reply, in no log (app/rooms/attendance.py)."""
        room, member_id = self.room, self.member
        assert room is not None and member_id is not None
        me = room.state.members.get(member_id)
        slips = self.rooms.slips
        if me is None or slips is None:
            self.error("not_member", "You are not in this meeting.")
            return
        if me.lobby:
            self.error("in_lobby", "A slip starts when you come into the room.")
            return
        if room.state.phase != "live":
            self.error("not_live", "The meeting has not started yet.")
            return
        # Admitted before the start, it counts from the start; a replica restored from an
        # older snapshot (no ``entered_at``, no ``live_since``) counts from the join.
        entered = max(
            room.state.live_since or 0,
            me.entered_at if me.entered_at is not None else me.joined_at,
        )
        name = printable_name(cmd.name) if cmd.name.strip() else me.name
        if not name:
            self.error("invalid", "That name cannot be printed on a slip.")
            return
        try:
            slip = slips.issue(room.meeting_id, name, entered, self.rooms.hub.clock())
        except ValueError:
            self.error("invalid", "This meeting cannot issue slips.")
            return
        self.reply(
            {
                "t": "slip",
                "code": slip.code,
                "name": name,
                "title": room.state.config.title,
                "entered": slip.entered_ms,
                "until": slip.until_ms,
                "minutes": slip.minutes,
            }
        )

    async def _screen_lobby_say(self, cmd: p.LobbySay) -> p.LobbySay | None:
        """A facilitator's message to the lobby, through the pipeline like their chat: what it
        holds back or blocks is not sent (``blocked``, with the reasons), what it redacts goes
        out redacted, and crisis language brings the card and the alert. None: not sent."""
        room, member_id = self.room, self.member
        assert room is not None and member_id is not None
        me = room.state.members.get(member_id)
        if me is None:
            return cmd
        verdict = self.rooms.screen_text(room, me, cmd.x)
        if verdict is None:
            return cmd
        await self._give_care(self.rooms.care_off_the_room(crisis_kind(verdict), ""))
        if verdict.action in ("block", "hold"):
            self.error("blocked", "This message was not sent.", why=list(verdict.reasons))
            return None
        if not verdict.text.strip():
            # Nothing but control or invisible characters, which the display form drops.
            self.error("invalid", EMPTY_TEXT)
            return None
        return p.LobbySay(t="lobby_say", x=verdict.text)

    async def _care_for_refused(self, text: str, cid: str, *, alert: bool = True) -> None:
        """Crisis language in text refused before it was screened (too long, sent too fast)
        or that reaches only facilitators (a report's reason): the sender gets the care card
        and (``alert``) the facilitators the alert all the same. Such frames are few: past 10
        refused ones a minute the connection closes (reports count against the commands'
        limit), and the crisis rules read at most the longest message there is."""
        room, member_id = self.room, self.member
        assert room is not None and member_id is not None
        me = room.state.members.get(member_id)
        if me is None:
            return
        await self._give_care(self.rooms.crisis_care(room, me, text, cid, alert=alert))

    async def _give_care(self, care: Concern | None) -> None:
        """Submit ``care`` for a message that is not posted, once per message (cid)."""
        room, member_id = self.room, self.member
        assert room is not None and member_id is not None
        if care is None or (care.cid and not self.rooms.first_care(room, member_id, care.cid)):
            return
        await room.submit(member_id, care)

    # -- closing ---------------------------------------------------------------------------

    async def finish(self) -> None:
        self.rooms.hub.workers.sessions.discard(self.id)
        room, member, conn = self.room, self.member, self.conn
        if conn is not None and room is not None:
            room.detach(conn)
            if isinstance(conn, QueuedConnection):
                await conn.aclose()
        if room is not None and member is not None and not room.ended:
            with contextlib.suppress(Exception):  # the room may be ending under us
                await room.submit(member, Disconnect(member=member, conn=self.id))


def _noop() -> None:
    return None


def _refused_say(text: str) -> tuple[str, str] | None:
    """The text and cid of a ``say`` or ``dm`` frame refused as too long by the schema, if it
    is one."""
    try:
        frame = orjson.loads(text)
    except orjson.JSONDecodeError:
        return None
    if (
        not isinstance(frame, dict)
        or frame.get("t") not in ("say", "dm")
        or not isinstance(frame.get("x"), str)
    ):
        return None
    cid = frame.get("cid")
    return frame["x"], cid if isinstance(cid, str) and 0 < len(cid) <= 40 else ""


def _frame_error_code(exc: ValidationError) -> str:
    for err in exc.errors():
        if err["type"] == "union_tag_invalid":
            return "unknown_type"
        if err["type"] == "union_tag_not_found":
            return "bad_frame"
        if err["type"] == "json_invalid":
            return "bad_json"
        if err["type"] in ("string_too_long",) and err["loc"][-1:] == ("x",):
            return "too_long"
    return "bad_frame"


async def room_socket(websocket: WebSocket) -> None:
    """``GET /ws``: the room protocol (docs/protocol.md)."""
    app = websocket.app
    rooms: Rooms = app.state.rooms
    metrics = getattr(app.state, "metrics", None)
    settings = app.state.settings
    if not origin_allowed(websocket, list(settings.allowed_origins)):
        await websocket.close(POLICY)  # before accept: an HTTP 403
        return
    address = rooms.address_key(websocket.client.host if websocket.client else None)
    await websocket.accept()
    if not rooms.conn_counts.acquire(address, rooms.limits.max_conns_per_ip):
        await websocket.close(TOO_MANY, "too many connections")
        return
    session = Session(rooms, websocket, metrics, address)
    if metrics is not None:
        metrics.connections.inc()
    try:
        if await session.open():
            await session.serve()
    except WebSocketDisconnect:
        pass
    finally:
        rooms.conn_counts.release(address)
        if metrics is not None:
            metrics.connections.dec()
        await session.finish()
