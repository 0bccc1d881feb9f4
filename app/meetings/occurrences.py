"""Occurrences: one row per run of a meeting, holding its start, end and peak head count only.

The room core calls ``start_occurrence`` when a facilitator starts the meeting (doors open)
and ``end_occurrence`` when it ends. An open row (no end) is what makes a meeting "live" in
the directory; one left open by a crash stops counting after
``app.meetings.service.STALE_OCCURRENCE`` and is purged with the rest after the retention
period. Both functions flush and never commit; the caller commits.
"""

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from app.meetings.models import Occurrence


async def start_occurrence(session: AsyncSession, meeting_id: str, at: datetime) -> int:
    """Insert an occurrence started at ``at``; return its id (for audit rows and the end)."""
    if at.tzinfo is None:
        raise ValueError("at must be timezone-aware")
    occurrence = Occurrence(meeting_id=meeting_id, started_at=at, ended_at=None, peak_members=0)
    session.add(occurrence)
    await session.flush()
    return occurrence.id


async def end_occurrence(
    session: AsyncSession, occurrence_id: int, at: datetime, peak: int
) -> None:
    """Close an occurrence with its end time and peak member count.

    Idempotent for the end time: a second call keeps the first end and the larger peak. An
    unknown id (already purged) is ignored.
    """
    if at.tzinfo is None:
        raise ValueError("at must be timezone-aware")
    occurrence = await session.get(Occurrence, occurrence_id)
    if occurrence is None:
        return
    if occurrence.ended_at is None:
        occurrence.ended_at = at
    occurrence.peak_members = max(occurrence.peak_members, max(0, peak))
    await session.flush()
