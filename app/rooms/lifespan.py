"""Start-up and shut-down of the rooms: log backend, hub, moderation, metadata writes.

The room core never touches the database on the message path. The database is read when a
worker first opens a room (the meeting's definition) and written off the path, through the
metadata sink: an occurrence when a meeting starts and ends, and a content-free audit line for
each facilitator action.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI
from limits import parse
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.models import Facilitator
from app.auth.tickets import TicketSigner
from app.config import Settings
from app.meetings import audit, occurrences
from app.meetings.service import meeting_access
from app.memory import settle_heap, trimming
from app.moderation.pipeline import default_pipeline
from app.moderation.policy import Policy
from app.moderation.resources import load_resources
from app.rooms import protocol as p
from app.rooms.attendance import SlipSigner
from app.rooms.commands import Revoked
from app.rooms.hub import Counters, RoomChannel
from app.rooms.log import LogLimits
from app.rooms.service import RoomLimits, RoomMeta, Rooms
from app.rooms.state import RoomConfig, RoomState
from app.rooms.types import MeetingId, MemberId
from app.tasks import running

logger = logging.getLogger("haven.rooms")

ACCOUNT_CHECK_S = 5.0
"""How often the facilitators in running rooms are checked against their accounts."""

AUDITED: dict[str, str] = {
    "start": "start",
    "end": "end",
    "admit": "admit",
    "deny": "deny",
    "admit_all": "admit_all",
    "mute": "mute",
    "mute_all": "mute_all",
    "remove": "remove",
    "to_lobby": "to_lobby",
    "lobby_say": "lobby_message",
    "dm": "private_message",
    "lock": "lock",
    "slow": "slow_mode",
    "floor": "grant_floor",
    "floor_end": "end_floor",
    "pin": "pin",
    "role": "set_role",
    "host": "hand_over",
    "review": "review",
    "trust": "trust",
}


def _utc(ms: int | None = None) -> datetime:
    return datetime.now(UTC) if ms is None else datetime.fromtimestamp(ms / 1000, UTC)


def log_limits(settings: Settings) -> LogLimits:
    """The room log's retention, from the settings."""
    return LogLimits(
        max_events=settings.log_max_events,
        max_age_ms=settings.log_max_age_s * 1000,
        # What was said goes with the age limit even in a room no worker follows any more; but
        # a room must outlast a resume window with nobody following it (its only worker died
        # and its members come back through another).
        ttl_s=max(settings.log_max_age_s, settings.resume_window_s + 60),
    )


def build_rooms(app: FastAPI) -> Rooms:
    settings = app.state.settings
    metrics = app.state.metrics
    sessionmaker = app.state.sessionmaker

    async def load_config(meeting_id: MeetingId) -> tuple[RoomConfig, RoomMeta] | None:
        async with sessionmaker() as session:
            meeting = await meeting_access(session, meeting_id, None)
        if meeting is None:
            return None
        config = RoomConfig(
            meeting_id=MeetingId(meeting.id),
            title=meeting.title,
            capacity=meeting.capacity,
            lobby=meeting.lobby,
            chat_mode=meeting.chat_mode,
            members_visible=meeting.members_visible,
            share_limit_s=meeting.share_limit_s,
            readings=len(meeting.readings),
            resume_window_ms=settings.resume_window_s * 1000,
            owner=next((f.id for f in meeting.facilitators if f.role == "owner"), None),
        )
        meta = RoomMeta(
            policy=Policy.from_overrides(dict(meeting.policy or {})),
            facilitator_names=meeting.facilitator_names,
            facilitator_accounts=meeting.facilitator_ids,
        )
        return config, meta

    counters = Counters(
        on_deliveries=metrics.events_out.inc,
        on_overflow=metrics.send_overflows.inc,
    )
    moderation_on = settings.moderation

    def on_verdict(verdict: Any, seconds: float) -> None:
        metrics.screened(seconds)
        for category in sorted(verdict.categories) or ["ok"]:
            metrics.verdict(verdict.action, category)

    card = load_resources(settings.crisis_resources_file)
    pipeline = default_pipeline(card.numbers()) if moderation_on else None
    rooms = Rooms.from_url(
        settings.room_log_url,
        log_limits(settings),
        TicketSigner(settings.secret_key.get_secret_value(), settings.ticket_ttl_s),
        RoomLimits(
            max_text_chars=settings.max_text_chars,
            messages=parse(
                f"{settings.rate_burst}/{max(1, round(settings.rate_burst / settings.rate_per_s))}"
                "second"
            ),
            max_conns_per_ip=settings.max_conns_per_ip,
            handshake_timeout_s=settings.handshake_timeout_s,
            send_queue_max_frames=settings.send_queue_max_frames,
            send_queue_max_bytes=settings.send_queue_max_bytes,
        ),
        load_config,
        counters=counters,
        pipeline=pipeline,
        default_policy=Policy(),
        care_card=card.to_wire(),
        on_verdict=on_verdict,
        semantic_crisis=settings.semantic_crisis,
        semantic_share=settings.semantic_crisis_share,
        on_semantic=metrics.semantic,
    )

    open_occurrences: dict[MeetingId, int] = {}

    def on_control(room: RoomChannel, actor: MemberId, cmd: p.Command) -> None:
        """Queue the content-free audit line (and occurrence bookkeeping) for a control."""
        me = room.state.members.get(actor)
        account = me.account if me is not None else None
        target = getattr(cmd, "m", None)
        meeting_id = room.meeting_id
        action = AUDITED.get(cmd.t, cmd.t)
        if isinstance(cmd, p.Mute | p.MuteAll | p.Lock):
            action += ".on" if cmd.on else ".off"
        elif isinstance(cmd, p.Remove) and cmd.ban:
            action = "remove.ban"
        elif isinstance(cmd, p.Review):
            action += ".approve" if cmd.ok else ".reject"
        at = _utc()

        async def write() -> None:
            async with sessionmaker() as session:
                if isinstance(cmd, p.Start) and meeting_id not in open_occurrences:
                    open_occurrences[meeting_id] = await occurrences.start_occurrence(
                        session, meeting_id, at
                    )
                await audit.record(
                    session,
                    meeting_id=meeting_id,
                    occurrence_id=open_occurrences.get(meeting_id),
                    facilitator_id=account,
                    actor_member=actor,
                    action=action,
                    target_member=target,
                    at=at,
                )
                await session.commit()

        rooms.sink.put(write)

    async def on_ended(meeting_id: MeetingId, state: RoomState) -> None:
        occurrence = open_occurrences.pop(meeting_id, None)
        rooms.meta.pop(meeting_id, None)
        metrics.rooms.set(len(rooms.hub.rooms))
        if occurrence is None:
            return
        # Only the count: a closure over ``state`` would keep every name and held message of
        # the ended meeting in memory for as long as the job is referenced.
        peak = state.peak

        async def write() -> None:
            async with sessionmaker() as session:
                await occurrences.end_occurrence(session, occurrence, _utc(), peak)
                await session.commit()

        rooms.sink.put(write)

    rooms.control_hooks.append(on_control)
    rooms.ended_hooks.append(on_ended)
    rooms.slips = SlipSigner(settings.secret_key.get_secret_value())
    return rooms


async def revoked_facilitators(
    rooms: Rooms, sessionmaker: Callable[[], AsyncSession]
) -> dict[MeetingId, frozenset[MemberId]]:
    """The facilitators in this worker's rooms whose account was disabled, deleted or had its
    password reset (``haven facilitator disable`` / ``passwd``) since their ticket was issued:
    the ticket's grant no longer matches the account's. One query for all of them."""
    held: list[tuple[MeetingId, MemberId, str, str | None]] = [
        (room.meeting_id, m.id, m.account, m.grant)
        for room in list(rooms.hub.rooms.values())
        if not room.ended
        for m in room.state.members.values()
        if m.is_facilitator and m.account is not None
    ]
    if not held:
        return {}
    accounts = {account for _, _, account, _ in held}
    async with sessionmaker() as session:
        rows = await session.execute(
            select(Facilitator.id, Facilitator.password_hash, Facilitator.disabled).where(
                Facilitator.id.in_(accounts)
            )
        )
        current = {
            account: None if disabled else rooms.signer.grant(account, password_hash)
            for account, password_hash, disabled in rows.all()
        }
    revoked: dict[MeetingId, set[MemberId]] = {}
    for room, member, account, grant in held:
        now = current.get(account)
        # A member without a grant joined on a ticket from before grants: checked for a
        # disabled or deleted account only.
        if now is None or (grant is not None and grant != now):
            revoked.setdefault(room, set()).add(member)
    return {room: frozenset(members) for room, members in revoked.items()}


async def watch_accounts(
    rooms: Rooms, sessionmaker: Callable[[], AsyncSession], every_s: float = ACCOUNT_CHECK_S
) -> None:
    """Every ``every_s``: facilitators whose account was revoked leave their rooms
    (:class:`~app.rooms.commands.Revoked`). Recovering a stolen account from the server's shell
    ends the sessions (HTTP) and, within seconds, the room powers they gave; with several
    workers each checks the rooms it follows (a repeat is decided as nothing)."""
    while True:
        await asyncio.sleep(every_s)
        try:
            found = await revoked_facilitators(rooms, sessionmaker)
        except Exception as exc:  # noqa: BLE001 - the next round tries again
            logger.warning("facilitator account check failed: %s", type(exc).__name__)
            continue
        for meeting_id, members in found.items():
            room = rooms.hub.get(meeting_id)
            if room is None or room.ended:
                continue
            try:
                await room.submit(None, Revoked(members=members))
            except Exception as exc:  # noqa: BLE001 - one room's failure is not the others'
                logger.warning("revoking in a room failed: %s", type(exc).__name__)


@asynccontextmanager
async def rooms_lifespan(app: FastAPI) -> AsyncIterator[None]:
    rooms = build_rooms(app)
    app.state.rooms = rooms
    rooms.start()
    demo = getattr(app.state, "demo_meeting_id", None)
    if demo is not None:
        await rooms.open_live(MeetingId(demo))
    settle_heap()
    watch = watch_accounts(rooms, app.state.sessionmaker, app.state.settings.account_check_s)
    try:
        async with trimming(), running(watch, name="haven-account-watch"):
            yield
    finally:
        await rooms.close()
