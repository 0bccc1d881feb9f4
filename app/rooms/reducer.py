"""apply(state, envelope) -> state: fold one logged event into a room's state.

What must live here: how each event changes the state, and nothing else. What must not: I/O,
clocks, randomness, permission checks that depend on who sent a command (that is
:mod:`app.rooms.decide`).

Rule 1: ``apply`` is total. It never raises for an event that made it into the log, whatever
state it meets: a stale or duplicated event (decided on a lagging replica, or appended twice by
two workers' timers) turns into a no-op or the nearest valid change.

Rule 2: ``apply`` re-validates the invariants it owns, so they hold on every replica whatever
the log contains: a member who left or was removed cannot hold the floor, raise a hand or be
granted a role; the hand queue has no duplicates; banned members and devices stay banned for
the rest of the meeting; nothing but ``join`` adds a member.

Rule 3: ``state.seq`` becomes the envelope's seq. The log hands out gapless seqs, so every
replica that applies the same log reaches the same state.
"""

from __future__ import annotations

from dataclasses import replace
from typing import assert_never

from app.rooms import events as ev
from app.rooms.events import Envelope
from app.rooms.state import RECENT_CIDS, Member, RoomState, name_key
from app.rooms.types import MemberId, Seq


def apply(state: RoomState, envelope: Envelope) -> RoomState:
    """The state after ``envelope``; ``state`` itself is left untouched."""
    return applied(state, envelope)[0]


_TOLD_AS_IS = (
    ev.Reacted,
    ev.Reported,
    ev.Counted,
    ev.LobbySaid,
    ev.CareOffered,
    ev.Alerted,
    ev.Noticed,
    ev.HoldResolved,
)
"""Events that change no state and are told whenever they are logged (crisis care among
them: it is never held back, also for a member who has left), or whose change another event
already made: a held message of someone who left was dropped with them, and the ``resolved``
that follows their ``leave`` still takes it off the facilitators' review lists."""


def applied(state: RoomState, envelope: Envelope) -> tuple[RoomState, bool]:
    """The state after ``envelope``, and whether the event took effect: False for a stale
    event that the reducer folded as nothing (rule 1: the floor given to someone removed a
    moment before on another worker, an ``admit`` after a ``deny``, a message from someone
    who has left). Replicas deliver only events that took effect, so what the clients are
    told matches the state every replica holds."""
    event = envelope.event
    if (
        type(event) is ev.Said
        and (sender := state.members.get(event.m)) is not None
        and event.cid not in sender.recent_cids
        and not sender.muted
        and (sender.is_facilitator or not state.chat_closed)
    ):
        # The hot path (most events are messages): one state copy instead of two.
        members = dict(state.members)
        members[event.m] = sender.after_message(envelope.at, event.cid)
        return replace(state, seq=envelope.seq, members=members), True
    base = replace(state, seq=envelope.seq)
    state = _apply(base, event, envelope.at, envelope.seq)
    # Every branch of ``_apply`` hands back the very state it was given when it changes
    # nothing.
    took = state is not base or isinstance(event, _TOLD_AS_IS)
    if state.members:
        return (state if state.empty_since is None else replace(state, empty_since=None)), took
    if state.empty_since is None:
        state = replace(state, empty_since=envelope.at)
    return state, took


def _put(state: RoomState, member: Member) -> RoomState:
    members = dict(state.members)
    members[member.id] = member
    return replace(state, members=members)


def _update(state: RoomState, member_id: MemberId, **changes: object) -> RoomState:
    member = state.members.get(member_id)
    if member is None:
        return state
    return _put(state, replace(member, **changes))  # type: ignore[arg-type]  # typed by callers


def _drop(state: RoomState, member_id: MemberId) -> RoomState:
    members = dict(state.members)
    members.pop(member_id, None)
    holds = state.holds
    if any(held.m == member_id for held in holds.values()):
        # Their ``leave`` resolved them (decide); a log written before that still drops them.
        holds = {h: held for h, held in holds.items() if held.m != member_id}
    return replace(
        state,
        members=members,
        holds=holds,
        hands=tuple(h for h in state.hands if h != member_id),
        floor=None if state.floor == member_id else state.floor,
        floor_until=None if state.floor == member_id else state.floor_until,
    )


def _apply(state: RoomState, event: ev.RoomEvent, at: int, seq: Seq) -> RoomState:  # noqa: C901
    match event:
        case ev.Joined():
            key = event.key or name_key(event.n)
            if (
                event.m in state.members
                or event.m in state.banned
                or (event.device is not None and event.device in state.banned_devices)
                or (event.account is not None and event.account in state.banned_accounts)
                or state.name_taken(key, event.account)
                or (event.r == "member" and state.seats_taken() >= state.config.capacity)
            ):
                # Decided on a lagging replica against a name or seat taken meanwhile.
                return state
            # Decided for the lobby on a worker that had not applied the start yet: a live
            # meeting without a lobby takes its members straight in.
            lobby = event.lob and (state.phase != "live" or state.config.lobby)
            # Decided on a replica that had not applied a role change of the same account, or
            # a hand-over (another worker): the same rule again, on this state.
            role = state.joining_role(event.r, event.account)
            new = Member(
                id=event.m,
                name=event.n,
                key=key,
                role=role,
                lobby=lobby,
                conn=event.conn,
                joined_at=event.joined_at,
                admitted_at=None if lobby else seq,
                device=event.device,
                account=event.account,
                grant=event.grant,
                muted=state.joins_muted(event.device, event.account, role),
                entered_at=event.entered if event.entered is not None else (None if lobby else at),
            )
            state = _put(state, new)
            if event.account is not None and role != "member":
                roles = {**state.account_roles, event.account: role}
                state = replace(state, account_roles=roles)
            return replace(state, peak=max(state.peak, state.count()))
        case ev.Admitted(m=m):
            member = state.members.get(m)
            if member is None or not member.lobby:
                return state
            # Carried over by a replacing join, if there was one.
            entered = member.entered_at if member.entered_at is not None else at
            state = _put(state, replace(member, lobby=False, admitted_at=seq, entered_at=entered))
            return replace(state, peak=max(state.peak, state.count()))
        case ev.SentToLobby(m=m):
            if m not in state.members:
                return state
            state = _drop_floor(state, m)
            return _update(state, m, lobby=True, admitted_at=None, entered_at=None)
        case ev.Left(m=m, why=why):
            member = state.members.get(m)
            if member is None:
                return state
            if why == "banned":
                devices = state.banned_devices
                if member.device is not None:
                    devices = devices | {member.device}
                accounts = state.banned_accounts
                if member.account is not None and member.is_facilitator:
                    accounts = accounts | {member.account}
                state = replace(
                    state,
                    banned=state.banned | {m},
                    banned_devices=devices,
                    banned_accounts=accounts,
                )
            elif why == "removed" and member.account is not None and member.is_facilitator:
                # A co-facilitator removed comes back, if at all, as a participant.
                roles = {**state.account_roles, member.account: "member"}
                state = replace(state, account_roles=roles)
            return _drop(state, m)
        case ev.Away(m=m, conn=conn):
            member = state.members.get(m)
            if member is None or member.conn != conn:
                return state
            return _put(state, replace(member, conn=None, away_since=at))
        case ev.Back(m=m, conn=conn):
            return _update(state, m, conn=conn, away_since=None)
        case ev.Said(m=m, cid=cid):
            member = state.members.get(m)
            if member is None:
                return state
            approved = any(held.m == m and held.cid == cid for held in state.holds.values())
            if cid in member.recent_cids and not approved:
                # A resend decided before the first copy was applied (two frames back to
                # back, or on two links): the member's message is in the room once.
                return state
            closed = state.chat_closed and not member.is_facilitator
            if (member.muted or closed) and not approved:
                # Decided on a replica that had not applied the mute (or the closed chat) yet:
                # another worker's, or a burst's. A facilitator's approval of a message held
                # before stands.
                return state
            return _put(state, member.after_message(at, cid))
        case ev.PrivateSaid(m=m, w=w, cid=cid):
            sender = state.members.get(w)
            if (
                sender is None
                or m not in state.members
                or cid in sender.recent_cids
                or (w != m and (not sender.is_facilitator or sender.muted))
                or (w == m and not any(x.is_facilitator for x in state.members.values()))
            ):
                # Decided on a lagging replica: its writer or reader left, it was sent twice,
                # the facilitator was muted or demoted meanwhile, or the last one left before
                # a member's message to them was applied (it would reach nobody).
                return state
            return _put(
                state, replace(sender, recent_cids=(*sender.recent_cids, cid)[-RECENT_CIDS:])
            )
        case ev.Reacted() | ev.Reported() | ev.Counted() | ev.LobbySaid():
            return state
        case ev.CareOffered() | ev.Alerted() | ev.Noticed():
            return state
        case ev.HandChanged(m=m, up=up):
            member = state.members.get(m)
            if member is None or member.lobby:
                return state
            hands = tuple(h for h in state.hands if h != m)
            if up and state.floor != m:
                hands = (*hands, m)
            return replace(state, hands=hands)
        case ev.FloorChanged(m=m, until=until):
            if m is None:
                return replace(state, floor=None, floor_until=None, floor_warned=False)
            member = state.members.get(m)
            if member is None or member.lobby:
                return state
            return replace(
                state,
                floor=m,
                floor_until=until,
                floor_warned=False,
                hands=tuple(h for h in state.hands if h != m),
            )
        case ev.FloorWarned(m=m):
            if state.floor != m:
                return state
            return replace(state, floor_warned=True)
        case ev.FloorTimeUp(m=m):
            if state.floor != m:
                return state
            return replace(state, floor_until=None, floor_warned=True)
        case ev.Muted(m=m, on=on):
            member = state.members.get(m)
            if member is None:
                return state
            # Kept for the device and the facilitator account too: a new ticket from either
            # joins muted.
            devices, accounts = state.muted_devices, state.muted_accounts
            if member.device is not None:
                devices = devices | {member.device} if on else devices - {member.device}
            if member.account is not None and member.is_facilitator:
                accounts = accounts | {member.account} if on else accounts - {member.account}
            state = replace(state, muted_devices=devices, muted_accounts=accounts)
            return _put(state, replace(member, muted=on))
        case ev.MutedAll(on=on):
            return replace(state, muted_all=on)
        case ev.RoleChanged(m=m, r=r):
            member = state.members.get(m)
            if member is None or member.lobby:
                return state
            if member.account is not None:
                state = replace(state, account_roles={**state.account_roles, member.account: r})
            # A mute outlives a demotion; only a host cannot be muted.
            muted = member.muted and r != "host"
            if not muted and member.muted:
                state = replace(
                    state,
                    muted_devices=state.muted_devices - {member.device or ""},
                    muted_accounts=state.muted_accounts - {member.account or ""},
                )
            return _put(state, replace(member, role=r, muted=muted))
        case ev.Locked(on=on):
            return replace(state, locked=on)
        case ev.SlowMode(secs=secs):
            return replace(state, slow_s=secs)
        case ev.Pinned(i=i):
            return replace(state, pinned=i)
        case ev.PhaseChanged(p=phase):
            if state.phase == "ended":
                return state
            state = replace(state, phase=phase)
            if phase == "live" and state.live_since is None:
                state = replace(state, live_since=at)
            if phase == "live" and not state.config.lobby:
                # ``start`` admits whoever waited (its ``admit`` events follow); a join another
                # worker appended before the start but after it was decided is admitted here.
                for member in state.lobby():
                    entered = member.entered_at if member.entered_at is not None else at
                    state = _put(
                        state, replace(member, lobby=False, admitted_at=seq, entered_at=entered)
                    )
            return state
        case ev.Held(h=h, m=m, cid=cid):
            holds = dict(state.holds)
            holds[h] = event
            state = replace(state, holds=holds)
            # A resend of the same message (a client that did not see its ``notice`` before
            # a reconnect) is a duplicate, not a second copy waiting for review.
            author = state.members.get(m)
            if author is None:
                return state
            return _put(
                state, replace(author, recent_cids=(*author.recent_cids, cid)[-RECENT_CIDS:])
            )
        case ev.HoldResolved(h=h):
            if h not in state.holds:
                return state
            holds = dict(state.holds)
            del holds[h]
            return replace(state, holds=holds)
        case ev.Blocked(by=by, m=m, on=on):
            member = state.members.get(by)
            if member is None:
                return state
            blocks = member.blocks | {m} if on else member.blocks - {m}
            return _put(state, replace(member, blocks=blocks))
        case ev.Trusted(m=m):
            return _update(state, m, trusted=True)
        case _:
            assert_never(event)


def _drop_floor(state: RoomState, m: MemberId) -> RoomState:
    return replace(
        state,
        hands=tuple(h for h in state.hands if h != m),
        floor=None if state.floor == m else state.floor,
        floor_until=None if state.floor == m else state.floor_until,
    )
