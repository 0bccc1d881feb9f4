"""Retention purge: metadata older than the retention period is deleted, for good.

What goes, at ``now``:
- audit rows whose ``at`` is older than ``retention_days``;
- occurrences that ended (or, never ended, started) before that cutoff;
- facilitator sessions that have expired, and invites that expired or were used.

"For good" on SQLite takes two things besides DELETE: ``secure_delete`` (set on every
connection by ``app.store.engine``) overwrites the freed pages in the main file, and a
``wal_checkpoint(TRUNCATE)`` afterwards copies the WAL back and truncates it, so the old
pages do not linger in ``haven.db-wal`` either. PostgreSQL's storage is the operator's to
manage (VACUUM); docs/privacy.md says so.

``purge`` is run by ``haven purge`` and hourly by ``run_periodically`` from the app lifespan.
"""

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import and_, delete, or_, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.auth.models import FacilitatorSession, Invite
from app.meetings.models import AuditEntry, Occurrence

PURGE_INTERVAL_S = 3600.0

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PurgeReport:
    audit: int
    occurrences: int
    sessions: int
    invites: int
    # SQLite's (busy, wal pages, checkpointed pages); None on other databases.
    checkpoint: tuple[int, int, int] | None


CHECKPOINT_ATTEMPTS = 5
"""Tries at the WAL checkpoint when another one is running (about 1.5 s in all)."""


def _count(result: object) -> int:
    return int(getattr(result, "rowcount", 0) or 0)


async def purge(
    session_maker: async_sessionmaker[AsyncSession], now: datetime, retention_days: int
) -> PurgeReport:
    """Delete what is past retention (see the module docstring) in one transaction, then
    checkpoint SQLite's WAL. ``now`` is passed in so tests can move the clock."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    cutoff = now - timedelta(days=retention_days)
    async with session_maker() as session, session.begin():
        audit = await session.execute(delete(AuditEntry).where(AuditEntry.at < cutoff))
        occurrences = await session.execute(
            delete(Occurrence).where(
                or_(
                    and_(Occurrence.ended_at.is_not(None), Occurrence.ended_at < cutoff),
                    and_(Occurrence.ended_at.is_(None), Occurrence.started_at < cutoff),
                )
            )
        )
        sessions = await session.execute(
            delete(FacilitatorSession).where(FacilitatorSession.expires_at <= now)
        )
        invites = await session.execute(
            delete(Invite).where(or_(Invite.expires_at <= now, Invite.used_at.is_not(None)))
        )
    checkpoint = await _checkpoint(session_maker)
    return PurgeReport(
        audit=_count(audit),
        occurrences=_count(occurrences),
        sessions=_count(sessions),
        invites=_count(invites),
        checkpoint=checkpoint,
    )


async def _checkpoint(
    session_maker: async_sessionmaker[AsyncSession],
) -> tuple[int, int, int] | None:
    engine = session_maker.kw.get("bind")
    if not isinstance(engine, AsyncEngine) or engine.dialect.name != "sqlite":
        return None
    # Outside any transaction: a checkpoint cannot run inside one. Another checkpoint running
    # at the same moment (the hourly purge and `haven purge`, or two workers) makes SQLite
    # answer busy at once, without waiting: try again shortly, or the deleted rows stay in
    # the WAL until the next purge.
    async with engine.connect() as connection:
        autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
        for attempt in range(CHECKPOINT_ATTEMPTS):
            if attempt:
                await asyncio.sleep(0.05 * 2**attempt)
            row = (await autocommit.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))).one()
            if row[0] == 0:
                break
    return int(row[0]), int(row[1]), int(row[2])


def _system_now() -> datetime:
    return datetime.now(UTC)


async def run_periodically(
    session_maker: async_sessionmaker[AsyncSession],
    retention_days: int,
    clock: Callable[[], datetime] = _system_now,
    interval_s: float = PURGE_INTERVAL_S,
) -> None:
    """Purge now, then every ``interval_s`` seconds, until cancelled (the lifespan cancels it
    at shutdown). A database error is logged (counts only, no content) and retried next time."""
    while True:
        try:
            report = await purge(session_maker, clock(), retention_days)
        except SQLAlchemyError as exc:
            logger.warning("retention purge failed: %s", type(exc).__name__)
        else:
            logger.info(
                "retention purge: %d audit, %d occurrences, %d sessions, %d invites removed",
                report.audit,
                report.occurrences,
                report.sessions,
                report.invites,
            )
        await asyncio.sleep(interval_s)
