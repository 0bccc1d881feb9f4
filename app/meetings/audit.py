"""The moderation audit: who did what, to which meeting-scoped member, when. Never any text.

``record`` is called by the room core for each facilitator action. It refuses anything that
is not shaped like a stable action code or a random member id, so a bug upstream cannot turn
the audit into a store of pseudonyms or message text: such a value raises ``ValueError``
instead of being written.
"""

import re
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.models import Facilitator
from app.meetings.models import MEMBER_ID_CHARS, AuditEntry
from app.meetings.schemas import AuditEntry as AuditEntryOut

# Action codes are the protocol's command names (e.g. "mute", "remove", "admit_all") or
# similar stable codes, lower-case.
_ACTION = re.compile(r"^[a-z][a-z0-9_.]{0,31}$")
# Member ids are random URL-safe tokens minted by the room core.
_MEMBER = re.compile(rf"^[A-Za-z0-9_-]{{1,{MEMBER_ID_CHARS}}}$")


def _check(action: str, actor_member: str, target_member: str | None, at: datetime) -> None:
    if not _ACTION.match(action):
        raise ValueError("audit action must be a short lower-case code")
    if not _MEMBER.match(actor_member):
        raise ValueError("actor_member must be a meeting-scoped member id")
    if target_member is not None and not _MEMBER.match(target_member):
        raise ValueError("target_member must be a meeting-scoped member id")
    if at.tzinfo is None:
        raise ValueError("at must be timezone-aware")


async def record(
    session: AsyncSession,
    meeting_id: str,
    occurrence_id: int | None,
    facilitator_id: str | None,
    actor_member: str,
    action: str,
    target_member: str | None,
    at: datetime,
) -> None:
    """Add one audit row and flush; the caller commits.

    ``facilitator_id`` is the account behind the actor, or None for a member promoted to
    co-facilitator for this meeting only. Raises ValueError for a malformed action or member id.
    """
    _check(action, actor_member, target_member, at)
    session.add(
        AuditEntry(
            meeting_id=meeting_id,
            occurrence_id=occurrence_id,
            facilitator_id=facilitator_id,
            actor_member=actor_member,
            action=action,
            target_member=target_member,
            at=at,
        )
    )
    await session.flush()


async def entries(
    session: AsyncSession, meeting_id: str, occurrence_id: int | None = None, limit: int = 1000
) -> list[AuditEntryOut]:
    """The audit of a meeting (optionally one occurrence), oldest first: its newest ``limit``
    entries, so that the latest actions are never the ones left out."""
    query = (
        select(AuditEntry, Facilitator.display_name)
        .outerjoin(Facilitator, Facilitator.id == AuditEntry.facilitator_id)
        .where(AuditEntry.meeting_id == meeting_id)
        .order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
        .limit(limit)
    )
    if occurrence_id is not None:
        query = query.where(AuditEntry.occurrence_id == occurrence_id)
    rows = list((await session.execute(query)).all())
    rows.reverse()
    return [
        AuditEntryOut(
            at=row.at,
            occurrence_id=row.occurrence_id,
            action=row.action,
            actor_member=row.actor_member,
            target_member=row.target_member,
            facilitator=name,
        )
        for row, name in rows
    ]
