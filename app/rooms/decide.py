"""decide(state, actor, command, now) -> events | Rejection: the rules of a meeting.

What must live here: every permission check and meeting rule (who may speak, mute, admit, take
the floor...) and the choice of each event's audience. What must not: I/O, clocks, randomness,
moderation heuristics. Time (``now``, in ms) and ids arrive as data, so the same inputs always
give the same answer and tests need no event loop.

Theory of operation: a command is decided against one replica's state, which may lag the log by
a few events; the events it returns are appended to the log, and :func:`app.rooms.reducer.apply`
re-checks the facts it depends on when it folds them in. ``decide`` is the gate for clients,
``apply`` the guarantee for every replica.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from app.rooms import commands as sys
from app.rooms import events as ev
from app.rooms import protocol as p
from app.rooms.events import FAC, ROOM, Audience, to_member
from app.rooms.state import MAX_HOLDS, MAX_HOLDS_PER_MEMBER, Member, RoomState
from app.rooms.types import LeaveReason, MemberId, Role, worker_of


@dataclass(frozen=True, slots=True)
class Rejection:
    """A command refused; ``code`` is stable and listed in docs/protocol.md."""

    code: str
    msg: str
    retry: float | None = None


Decision = tuple[ev.RoomEvent, ...] | Rejection
AnyCommand = p.Command | sys.SystemCommand

NOT_ALLOWED = Rejection("not_allowed", "Only facilitators can do that.")
NOT_HERE = Rejection("not_member", "You are not in this meeting.")
IN_LOBBY = Rejection("in_lobby", "Please wait until a facilitator admits you.")
NO_SUCH_MEMBER = Rejection("no_such_member", "That member is not in this meeting.")
ENDED = Rejection("ended", "This meeting has ended.")
NOT_DELIVERED = Rejection("not_delivered", "That message is not in the room.")
MUTED = Rejection("muted", "A facilitator has muted you for now.")
NO_FACILITATOR = Rejection("no_facilitator", "No facilitator is in this meeting right now.")
CHAT_CLOSED = Rejection("chat_closed", "Only facilitators can post right now.")


def decide(state: RoomState, actor: MemberId | None, cmd: AnyCommand, now: int) -> Decision:
    """Check ``cmd`` from ``actor`` against ``state``; return the events to append or why not.

    ``actor`` is None only for system commands (:class:`~app.rooms.commands.Join`,
    :class:`~app.rooms.commands.Tick`). Never raises for any input.
    """
    if isinstance(cmd, sys.Tick):
        return _tick(state, now)
    if state.phase == "ended":
        return ENDED
    if isinstance(cmd, sys.Join):
        return _join(state, cmd, now)
    if isinstance(cmd, sys.LeftTeam):
        # A host too (handed the meeting, then taken off its team): the owner hosts again.
        off = [
            m
            for m in state.members.values()
            if m.account in cmd.accounts and m.is_facilitator and not m.lobby
        ]
        after = {**state.members, **{m.id: replace(m, role="member") for m in off}}
        return (
            *(ev.RoleChanged(m=m.id, r="member", aud=ROOM) for m in off),
            *_host_back_to_owner(replace(state, members=after)),
        )
    if isinstance(cmd, sys.Revoked):
        out: list[ev.RoomEvent] = []
        for member in cmd.members:
            found = state.members.get(member)
            if found is None or not found.is_facilitator:
                continue
            left = _leave(state, member, "revoked", hand_back=False)
            assert not isinstance(left, Rejection)
            out.extend(left)
            state = _without(state, member)
        return (*out, *_host_back_to_owner(state)) if out else ()
    if isinstance(cmd, sys.WorkersGone):
        return tuple(
            ev.Away(m=m.id, conn=m.conn, aud=_presence(state, m.id))
            for m in state.members.values()
            if m.conn is not None and worker_of(m.conn) in cmd.workers
        )
    me = state.member(actor)
    if me is None:
        if isinstance(cmd, sys.Concern) and cmd.name and actor is not None:
            # The sender left before their care was decided: no card to give, but the
            # facilitators still learn that someone may be in danger.
            return (
                ev.Alerted(
                    kind=cmd.crisis, m=actor, n=cmd.name, cid=cmd.cid, hint=cmd.hint, aud=FAC
                ),
            )
        return NOT_HERE
    if isinstance(cmd, sys.Reconnect):
        return (ev.Back(m=me.id, conn=cmd.conn, aud=_presence(state, me.id)),)
    if isinstance(cmd, sys.Disconnect):
        if me.conn != cmd.conn:
            return ()
        return (ev.Away(m=me.id, conn=cmd.conn, aud=_presence(state, me.id)),)
    if isinstance(cmd, p.Leave):
        return _leave(state, me.id, "left")
    if isinstance(cmd, p.Ping):
        return ()
    if isinstance(cmd, sys.Concern):
        if cmd.delivered and cmd.cid not in me.recent_cids:
            return NOT_DELIVERED
        care = _care(me, cmd.cid, cmd.crisis, cmd.hint, cmd.card)
        return care if cmd.alert else care[:1]  # the card alone
    if _is_facilitator_command(cmd):
        if not me.is_facilitator:
            return NOT_ALLOWED
        return _facilitate(state, me, cmd, now)
    if isinstance(cmd, sys.Post) and cmd.private:
        return _private(state, me, cmd)  # the lobby too: a newcomer may ask before coming in
    if me.lobby:
        return IN_LOBBY
    return _participate(state, me, cmd, now)


def _is_facilitator_command(cmd: AnyCommand) -> bool:
    return isinstance(cmd, p.Frame) and getattr(cmd, "t", "") in p.FACILITATOR_COMMAND_TYPES


# -- audiences --------------------------------------------------------------------------------


def _presence(state: RoomState, member: MemberId) -> Audience:
    """Who learns that a member came, went or changed: everyone, or only facilitators."""
    m = state.members.get(member)
    if m is not None and m.lobby:
        return to_member(member, fac=True)
    if state.config.members_visible:
        return Audience(room=True, member=member)
    return to_member(member, fac=True)


def _count(state: RoomState, delta: int) -> tuple[ev.RoomEvent, ...]:
    """The member count for rooms whose list is hidden from participants."""
    if state.config.members_visible:
        return ()
    return (ev.Counted(c=state.count() + delta, aud=ROOM),)


# -- joining and leaving ----------------------------------------------------------------------


def _join(state: RoomState, cmd: sys.Join, now: int) -> Decision:
    if (
        cmd.member in state.banned
        or (cmd.device is not None and cmd.device in state.banned_devices)
        or (cmd.account is not None and cmd.account in state.banned_accounts)
    ):
        return Rejection("banned", "You cannot rejoin this meeting.")
    if cmd.member in state.members:
        return Rejection("already_joined", "This ticket's member is already here.")
    replaced: tuple[ev.RoomEvent, ...] = ()
    entered: int | None = None
    if cmd.role == "member" and (old := state.replaceable(cmd.key, cmd.device)) is not None:
        entered = old.entered_at
        # The same browser back under its name with a new ticket: its old member (away, or a
        # link the browser gave up on) leaves, so the person is not locked out of their name.
        left = _leave(state, old.id, "replaced")
        assert not isinstance(left, Rejection)
        replaced, state = left, _without(state, old.id)
    role = state.joining_role(cmd.role, cmd.account)
    facilitator = role != "member"
    if not facilitator:
        if state.locked:
            return Rejection("locked", "This meeting is not taking new members right now.")
        if state.seats_taken() >= state.config.capacity:
            return Rejection("full", "This meeting is full.")
    if state.name_taken(cmd.key, cmd.account):
        return Rejection("name_taken", "Someone here already uses that name.")
    lobby = not facilitator and (state.phase == "waiting" or state.config.lobby)
    joined = ev.Joined(
        m=cmd.member,
        n=cmd.name,
        r=role,
        lob=lobby,
        conn=cmd.conn,
        joined_at=now,
        key=cmd.key,
        device=cmd.device,
        account=cmd.account,
        grant=cmd.grant,
        entered=entered,
        aud=(
            to_member(cmd.member, fac=True)
            if lobby or not state.config.members_visible
            else Audience(room=True, member=cmd.member)
        ),
    )
    events: list[ev.RoomEvent] = [*replaced, joined]
    if state.joins_muted(cmd.device, cmd.account, role):
        events.append(ev.Muted(m=cmd.member, on=True, aud=joined.aud))
    return (*events, *(() if lobby else _count(state, +1)))


def _role_changes(state: RoomState, member: Member, role: Role) -> list[ev.RoomEvent]:
    """``member`` and every other member of the same facilitator account take ``role``."""
    return [
        ev.RoleChanged(m=m.id, r=role, aud=ROOM)
        for m in state.members.values()
        if (m.id == member.id or (member.account is not None and m.account == member.account))
        and not m.lobby
        and m.role != role
    ]


def _leave(
    state: RoomState, member: MemberId, why: LeaveReason, *, hand_back: bool = True
) -> Decision:
    m = state.members[member]
    events: list[ev.RoomEvent] = [ev.Left(m=member, why=why, aud=_presence(state, member))]
    # What they wrote that still waits for review leaves with them: nobody can approve a
    # message into the room under the name of someone removed or banned for it.
    events.extend(
        ev.HoldResolved(h=h, ok=False, cid=held.cid, aud=FAC)
        for h, held in state.holds.items()
        if held.m == member
    )
    if state.floor == member:
        events.append(ev.FloorChanged(m=None, n=None, until=None, aud=ROOM))
    if not m.lobby:
        events.extend(_count(state, -1))
    if m.role == "host" and hand_back:
        events.extend(_host_back_to_owner(_without(state, member)))
    return tuple(events)


def _host_back_to_owner(state: RoomState) -> list[ev.RoomEvent]:
    """When the last host goes (after a hand-over), the meeting's owner, if here, hosts again:
    a meeting with co-facilitators and no host could not demote or remove any of them."""
    if any(m.role == "host" for m in state.members.values()):
        return []
    owner = next(
        (
            m
            for m in state.members.values()
            if m.account is not None and m.account == state.config.owner and not m.lobby
        ),
        None,
    )
    return [] if owner is None else _role_changes(state, owner, "host")


# -- participants -----------------------------------------------------------------------------


def _participate(state: RoomState, me: Member, cmd: AnyCommand, now: int) -> Decision:
    match cmd:
        case sys.Post():
            return _post(state, me, cmd, now)
        case p.Say() | p.Dm():
            # A raw ``say`` must be screened first; the endpoint turns it into a Post.
            return Rejection("invalid", "Messages are screened before they are decided.")
        case p.React(to=to, r=r):
            if me.muted:  # a reaction speaks to the room too
                return MUTED
            if state.chat_closed and not me.is_facilitator:
                return CHAT_CLOSED
            if to > state.seq:
                return Rejection("invalid", "No such message.")
            return (ev.Reacted(m=me.id, to=to, r=r, aud=ROOM),)
        case p.Hand(up=up):
            if up == (me.id in state.hands) or (up and state.floor == me.id):
                return ()
            return (ev.HandChanged(m=me.id, up=up, aud=_presence(state, me.id)),)
        case p.Yield():
            if state.floor != me.id:
                return Rejection("no_floor", "You do not have the floor.")
            return (ev.FloorChanged(m=None, n=None, until=None, aud=ROOM),)
        case p.Report(m=target, to=to, why=why):
            if target == me.id or target not in state.members:
                return NO_SUCH_MEMBER
            if to is not None and to > state.seq:
                return Rejection("invalid", "No such message.")
            return (
                ev.Reported(m=target, to=to, why=why, by=me.id, aud=FAC),
                ev.Noticed(m=me.id, code="report_received", aud=to_member(me.id)),
            )
        case p.Block(m=target) | p.Unblock(m=target):
            if target == me.id or target not in state.members:
                return NO_SUCH_MEMBER
            on = isinstance(cmd, p.Block)
            if (target in me.blocks) == on:
                return ()
            return (ev.Blocked(by=me.id, m=target, on=on, aud=to_member(me.id)),)
        case _:
            return Rejection("invalid", "That command cannot be used here.")


def _post(state: RoomState, me: Member, cmd: sys.Post, now: int) -> Decision:
    if cmd.cid in me.recent_cids:
        return Rejection("duplicate", "This message was already sent.")
    if me.muted:  # a co-facilitator too: the host muted them (the host cannot be muted)
        return MUTED
    if not me.is_facilitator:
        if state.phase != "live":
            return Rejection("not_live", "The meeting has not started yet.")
        if state.chat_closed:
            return CHAT_CLOSED
        if state.slow_s and me.last_msg_at is not None:
            wait_ms = me.last_msg_at + state.slow_s * 1000 - now
            if wait_ms > 0:
                return Rejection("slow_mode", "Slow mode is on.", retry=wait_ms / 1000)
    if cmd.hold and cmd.hold_id is not None:
        if state.facilitators_present():
            waiting = sum(1 for held in state.holds.values() if held.m == me.id)
            if waiting >= MAX_HOLDS_PER_MEMBER or len(state.holds) >= MAX_HOLDS:
                return Rejection(
                    "review_full", "Your earlier messages are still waiting for a facilitator."
                )
            held = (
                ev.Held(
                    h=cmd.hold_id, m=me.id, n=me.name, x=cmd.text, cid=cmd.cid, why=cmd.why, aud=FAC
                ),
                ev.Noticed(m=me.id, code="held", cid=cmd.cid, aud=to_member(me.id)),
            )
            if cmd.crisis is not None:  # care now, not after the review
                return (*held, *_care(me, cmd.cid, cmd.crisis, cmd.hint, cmd.card))
            return held
        if cmd.fallback == "block":
            return Rejection("blocked", "This message cannot be posted right now.")
    events: list[ev.RoomEvent] = [
        ev.Said(m=me.id, n=me.name, x=cmd.text, cid=cmd.cid, red=cmd.redacted, aud=ROOM)
    ]
    if cmd.crisis is not None:
        events += _care(me, cmd.cid, cmd.crisis, cmd.hint, cmd.card)
    return tuple(events)


def _private(state: RoomState, me: Member, cmd: sys.Post) -> Decision:
    """A private message: a member's to the facilitators, a facilitator's to one member.

    Every facilitator in the meeting reads every private message, whoever wrote it: a member
    who reaches out reaches the team, not whoever happened to answer, and a co-facilitator
    sees what the host writes. Members cannot write to each other privately: in a room of strangers
    in early recovery, a private line between two of them is how predation and "let's meet
    up" start, out of the facilitators' sight. Neither slow mode, a closed chat nor a mute
    silences a member towards the facilitators: the line for "I am not OK" stays open.
    """
    if cmd.cid in me.recent_cids:
        return Rejection("duplicate", "This message was already sent.")
    if me.is_facilitator:
        if me.muted:  # muted by the host: not a way around it to each member in turn
            return MUTED
        if cmd.to is None:
            return Rejection("invalid", "Choose the member to write to.")
        target = state.members.get(cmd.to)
        if target is None:
            return NO_SUCH_MEMBER
        if target.id == me.id:
            return Rejection("self_target", "You cannot do that to yourself.")
        if target.is_facilitator:
            return Rejection("invalid", "Private messages are between a member and the team.")
        thread = target.id
    else:
        if cmd.to is not None and cmd.to != me.id:
            return Rejection("not_allowed", "You can write privately to the facilitators only.")
        if not any(m.is_facilitator for m in state.members.values()):
            return NO_FACILITATOR
        thread = me.id
    said = ev.PrivateSaid(
        m=thread,
        w=me.id,
        n=me.name,
        x=cmd.text,
        cid=cmd.cid,
        red=cmd.redacted,
        aud=to_member(thread, fac=True),
    )
    if cmd.crisis is not None:
        return (said, *_care(me, cmd.cid, cmd.crisis, cmd.hint, cmd.card))
    return (said,)


def refused_on_apply(state: RoomState, event: ev.Said | ev.PrivateSaid) -> Rejection | None:
    """Why a message decided on a lagging replica was folded as nothing (``reducer.applied``),
    for its writer, who is waiting for its own event: the mute, the closed chat or the
    facilitators' leaving that came first. ``state``: the replica that folded it.

    None when there is nobody to tell (the writer left) or nothing to tell: a second copy of a
    message already in the room, whose first copy was the answer."""
    if isinstance(event, ev.PrivateSaid):
        writer = state.members.get(event.w)
        if writer is None or event.cid in writer.recent_cids:
            return None
        if event.w == event.m:
            if not any(m.is_facilitator for m in state.members.values()):
                return NO_FACILITATOR
            return None
        if not writer.is_facilitator:
            return Rejection("not_allowed", "You are no longer a facilitator of this meeting.")
        if writer.muted:
            return MUTED
        return None if event.m in state.members else NO_SUCH_MEMBER
    writer = state.members.get(event.m)
    if writer is None or event.cid in writer.recent_cids:
        return None
    if writer.muted:
        return MUTED
    if state.chat_closed and not writer.is_facilitator:
        return CHAT_CLOSED
    return None


def _care(
    me: Member, cid: str, kind: str, hint: str, card: dict[str, Any] | None
) -> tuple[ev.RoomEvent, ...]:
    """Crisis care for a message: the card privately to its sender, the alert (kind,
    suggested response, no text) to the facilitators. The same for a crisis the rules found
    before delivery, one the semantic screen found after it, and one in a message that never
    reached the room (``sys.Concern``)."""
    return (
        ev.CareOffered(m=me.id, card=card or {}, aud=to_member(me.id)),
        ev.Alerted(kind=kind, m=me.id, n=me.name, cid=cid, hint=hint, aud=FAC),
    )


# -- facilitators -----------------------------------------------------------------------------


def _target(state: RoomState, me: Member, member: MemberId) -> Member | Rejection:
    """A member a facilitator may act on: not themselves, and a co-facilitator not the host."""
    target = state.members.get(member)
    if target is None:
        return NO_SUCH_MEMBER
    if target.id == me.id:
        return Rejection("self_target", "You cannot do that to yourself.")
    if target.is_facilitator and me.role != "host":
        return NOT_ALLOWED
    if target.role == "host" or _is_owner(state, target):
        return NOT_ALLOWED
    return target


def _is_owner(state: RoomState, member: Member) -> bool:
    return member.account is not None and member.account == state.config.owner


def _facilitate(state: RoomState, me: Member, cmd: AnyCommand, now: int) -> Decision:  # noqa: C901
    match cmd:
        case p.Start():
            if state.phase == "live":
                return ()
            events: list[ev.RoomEvent] = [ev.PhaseChanged(p="live", aud=ev.ROOM_AND_LOBBY)]
            if not state.config.lobby:
                waiting = state.lobby()
                events.extend(_admit(state, m) for m in waiting)
                events.extend(_count(state, len(waiting)))
            return tuple(events)
        case p.End():
            return (ev.PhaseChanged(p="ended", aud=ev.ROOM_AND_LOBBY),)
        case p.Admit(m=member):
            found = state.members.get(member)
            if found is None or not found.lobby:
                return NO_SUCH_MEMBER
            return (_admit(state, found), *_count(state, +1))
        case p.AdmitAll():
            waiting = state.lobby()
            return (*(_admit(state, m) for m in waiting), *_count(state, len(waiting)))
        case p.Deny(m=member):
            found = state.members.get(member)
            if found is None or not found.lobby:
                return NO_SUCH_MEMBER
            return (ev.Left(m=member, why="denied", aud=to_member(member, fac=True)),)
        case p.Mute(m=member, on=on):
            target = _target(state, me, member)
            if isinstance(target, Rejection):
                return target
            if target.muted == on:
                return ()
            return (ev.Muted(m=member, on=on, aud=_presence(state, member)),)
        case p.MuteAll(on=on):
            return () if state.muted_all == on else (ev.MutedAll(on=on, aud=ROOM),)
        case p.Remove(m=member, ban=ban):
            target = _target(state, me, member)
            if isinstance(target, Rejection):
                return target
            # A facilitator account goes from every device it is here on; a ban is also
            # bound to the device: every name that device holds here goes too.
            out: list[ev.RoomEvent] = []
            for other in list(state.members.values()):
                if (
                    other.id == member
                    or (target.account is not None and other.account == target.account)
                    or (
                        ban
                        and target.device is not None
                        and other.device == target.device
                        and not other.is_facilitator
                    )
                ):
                    left = _leave(state, other.id, "banned" if ban else "removed")
                    assert not isinstance(left, Rejection)
                    out.extend(left)
                    state = _without(state, other.id)
            return tuple(out)
        case p.ToLobby(m=member):
            target = _target(state, me, member)
            if isinstance(target, Rejection):
                return target
            if target.is_facilitator:
                return NOT_ALLOWED
            if target.lobby:
                return ()
            events = []
            if member in state.hands:  # the queue others see loses them too
                events.append(ev.HandChanged(m=member, up=False, aud=_presence(state, member)))
            events.append(ev.SentToLobby(m=member, aud=_presence(state, member)))
            if state.floor == member:
                events.append(ev.FloorChanged(m=None, n=None, until=None, aud=ROOM))
            return (*events, *_count(state, -1))
        case p.LobbySay(x=text):
            if me.muted:
                return MUTED
            return (ev.LobbySaid(m=me.id, n=me.name, x=text, aud=Audience(lobby=True, fac=True)),)
        case p.Lock(on=on):
            return () if state.locked == on else (ev.Locked(on=on, aud=ROOM),)
        case p.Slow(secs=secs):
            return () if state.slow_s == secs else (ev.SlowMode(secs=secs, aud=ROOM),)
        case p.Floor(m=member):
            return _grant_floor(state, member, now)
        case p.FloorEnd():
            if state.floor is None:
                return ()
            return (ev.FloorChanged(m=None, n=None, until=None, aud=ROOM),)
        case p.Pin(i=index):
            if index is not None and index >= state.config.readings:
                return Rejection("invalid", "This meeting has no such reading.")
            return () if state.pinned == index else (ev.Pinned(i=index, aud=ROOM),)
        case p.SetRole(m=member, r=role):
            found = state.members.get(member)
            if found is None or found.lobby:
                return NO_SUCH_MEMBER
            if (
                found.role == "host"
                or _is_owner(state, found)
                or (role == "member" and me.role != "host")
            ):
                return NOT_ALLOWED
            if found.account is not None and found.account == me.account:
                return Rejection("self_target", "You cannot do that to yourself.")
            return tuple(_role_changes(state, found, role))
        case p.HandOver(m=member):
            found = state.members.get(member)
            if me.role != "host":
                return NOT_ALLOWED
            if found is None or found.lobby or found.id == me.id:
                return NO_SUCH_MEMBER
            if found.account is not None and found.account == me.account:
                return NO_SUCH_MEMBER  # the same person on another device
            return (*_role_changes(state, found, "host"), *_role_changes(state, me, "cofac"))
        case p.Review(h=hold_id, ok=ok):
            held = state.holds.get(hold_id)
            if held is None:
                return Rejection("no_such_hold", "That message was already reviewed.")
            done = ev.HoldResolved(h=hold_id, ok=ok, cid=held.cid, aud=FAC)
            author = state.members.get(held.m)
            if ok and (author is None or author.lobby):
                return Rejection("invalid", "Its author is not in the room now.")
            if ok:
                said = ev.Said(m=held.m, n=held.n, x=held.x, cid=held.cid, aud=ROOM)
                return (said, done)
            return (
                done,
                ev.Noticed(m=held.m, code="rejected", cid=held.cid, aud=to_member(held.m)),
            )
        case p.Trust(m=member):
            found = state.members.get(member)
            if found is None:
                return NO_SUCH_MEMBER
            return () if found.trusted else (ev.Trusted(m=member, aud=FAC),)
        case _:
            return Rejection("invalid", "That command cannot be used here.")


def _admit(state: RoomState, member: Member) -> ev.RoomEvent:
    aud = Audience(room=True, member=member.id) if state.config.members_visible else None
    return ev.Admitted(m=member.id, n=member.name, aud=aud or to_member(member.id, fac=True))


def _grant_floor(state: RoomState, member: MemberId | None, now: int) -> Decision:
    if member is None:
        # The next raised hand of someone connected: a share does not start its clock for a
        # member whose link has dropped (their hand stays up for when they are back).
        present = [h for h in state.hands if (m := state.members.get(h)) is not None and m.present]
        if not present:
            return Rejection("no_hands", "Nobody here has a hand raised.")
        member = present[0]
    target = state.members.get(member)
    if target is None or target.lobby:
        return NO_SUCH_MEMBER
    limit = state.config.share_limit_s
    until = now + limit * 1000 if limit > 0 else None
    return (ev.FloorChanged(m=member, n=target.name, until=until, aud=ROOM),)


# -- time -------------------------------------------------------------------------------------


def timers_due(state: RoomState, now: int) -> bool:
    """Whether a :class:`~app.rooms.commands.Tick` at ``now`` would append anything: a look at
    the replica before taking the ordered path (a share timer running out, a resume window
    ended, the idle end). Most ticks find nothing due."""
    return bool(_tick(state, now))


def _tick(state: RoomState, now: int) -> Decision:
    events: list[ev.RoomEvent] = []
    if state.phase == "ended":
        return ()
    if state.empty_since is not None and now - state.empty_since >= state.config.idle_end_ms:
        return (ev.PhaseChanged(p="ended", aud=ev.ROOM_AND_LOBBY),)
    if state.floor is not None and state.floor_until is not None:
        if now >= state.floor_until:
            events.append(ev.FloorTimeUp(m=state.floor, aud=ROOM))
        elif not state.floor_warned and now >= state.floor_until - state.config.share_warning_ms:
            events.append(ev.FloorWarned(m=state.floor, aud=ROOM))
    window = state.config.resume_window_ms
    gone = [
        m
        for m in state.members.values()
        if m.away_since is not None and now - m.away_since >= window
    ]
    if gone:
        # Fold departures one by one so each Left sees the count the previous one left.
        interim = state
        for m in gone:
            left = _leave(interim, m.id, "timeout")
            assert not isinstance(left, Rejection)
            events.extend(left)
            interim = _without(interim, m.id)
    return tuple(events)


def _without(state: RoomState, member: MemberId) -> RoomState:
    members = dict(state.members)
    members.pop(member, None)
    return replace(state, members=members)
