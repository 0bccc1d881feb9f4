"""Retention: past the retention period, metadata is gone from the rows *and* from the bytes.

tests/integration/test_audit_purge.py checks which rows a purge deletes and that the WAL is
truncated. This adds what an investigator with a copy of the disk would check: after a purge,
no distinctive value of a deleted row (audit member ids, an occurrence's exact timestamps, a
session's or invite's token digest) is left anywhere in ``haven.db``, ``haven.db-wal`` or
``haven.db-shm``, while the values of rows inside the retention period still are. SQLite
keeps deleted values in free pages unless ``secure_delete`` is on, and in the WAL until a
checkpoint (/work/shared/ECOSYSTEM.md); both paths are covered: the server's own purge (with
a fake clock) and ``haven purge`` run by an operator.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from typer.testing import CliRunner

from app.auth.models import Facilitator, Invite
from app.auth.sessions import issue, token_digest
from app.config import Settings
from app.meetings import audit
from app.meetings.occurrences import end_occurrence, start_occurrence
from app.meetings.purge import purge
from app.store.engine import create_engine, create_sessionmaker
from tests.privacy.canaries import in_sqlite_files, token
from tests.support.accounts import haven_server
from tests.support.server import migrate_database

DAY = timedelta(days=1)


async def _stored_text(maker: async_sessionmaker[AsyncSession], sql: str, **params: object) -> str:
    """A value exactly as SQLite stores it (datetimes are text there)."""
    async with maker() as db:
        return str((await db.execute(text(sql), params)).scalar_one())


async def seed(
    maker: async_sessionmaker[AsyncSession], owner: str, meeting: str, now: datetime
) -> tuple[dict[str, str], dict[str, str]]:
    """Rows on both sides of a 30-day retention; returns (old values, new values) by label.

    The old occurrence's times carry odd microseconds so their stored text is unique.
    """
    old, new = {}, {}
    async with maker() as db:
        started = now - 40 * DAY + timedelta(microseconds=123_457)
        gone = await start_occurrence(db, meeting, started)
        await end_occurrence(db, gone, started + timedelta(minutes=61, microseconds=98_765), 7)
        kept = await start_occurrence(db, meeting, now - 29 * DAY)
        await end_occurrence(db, kept, now - 29 * DAY + timedelta(hours=1), 5)
        for label, occurrence, at, values in (
            ("old", gone, started, old),
            ("new", kept, now - 29 * DAY, new),
        ):
            actor, target = token(), token()
            await audit.record(db, meeting, occurrence, owner, actor, "remove.ban", target, at)
            values[f"audit actor ({label})"] = actor
            values[f"audit target ({label})"] = target
        expired = await issue(db, owner, now - 2 * DAY, 3600)
        valid = await issue(db, owner, now, 3600)
        old["expired session digest"] = token_digest(expired.token)
        new["valid session digest"] = token_digest(valid.token)
        for label, created, used, values in (
            ("expired invite digest", now - 4 * DAY, None, old),
            ("used invite digest", now - DAY, now, old),
            ("open invite digest", now, None, new),
        ):
            digest = token_digest(token())
            db.add(
                Invite(
                    token_hash=digest,
                    created_by=owner,
                    created_at=created,
                    expires_at=created + timedelta(hours=72),
                    used_at=used,
                )
            )
            values[label] = digest
        await db.commit()
    query = "SELECT {} FROM occurrences WHERE id = :id"
    old["occurrence start"] = await _stored_text(maker, query.format("started_at"), id=gone)
    old["occurrence end"] = await _stored_text(maker, query.format("ended_at"), id=gone)
    return old, new


async def test_server_purge_erases_old_metadata_from_the_file_and_wal(settings: Settings) -> None:
    async with haven_server(settings) as haven:
        owner = await haven.add_facilitator("owner")
        meeting = await haven.add_meeting(owner)
        now = haven.clock.now
        maker = haven.server.app.state.sessionmaker
        old, new = await seed(maker, owner, meeting, now)
        # Positive control: before the purge, every value is readable in the files.
        assert in_sqlite_files(settings.data_dir, old) == set(old)

        report = await purge(maker, now, settings.retention_days)

        assert (report.audit, report.occurrences, report.sessions, report.invites) == (1, 1, 1, 2)
        assert report.checkpoint is not None and report.checkpoint[0] == 0  # not busy
        assert in_sqlite_files(settings.data_dir, old) == set()
        assert in_sqlite_files(settings.data_dir, new) == set(new)


def test_haven_purge_erases_old_metadata_from_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The operator's command, on the real clock, against a database no server has open."""
    settings = Settings(data_dir=tmp_path / "data")
    asyncio.run(migrate_database(settings))

    async def prepare() -> tuple[dict[str, str], dict[str, str]]:
        engine = create_engine(settings)
        try:
            maker = create_sessionmaker(engine)
            async with maker() as db:
                owner = Facilitator(username="owner", display_name="Owner", password_hash="x")
                db.add(owner)
                await db.flush()
                await db.execute(
                    text(
                        "INSERT INTO meetings (id, owner_id, title, description, format, "
                        "language, timezone, weekdays, start_time, duration_min, capacity, "
                        "lobby, chat_mode, members_visible, share_limit_s, readings, listed, "
                        "policy, created_at, updated_at) VALUES ('meetingAAAAA', :owner, 't', "
                        "'', 'open-share', 'en', 'UTC', '', '19:00', 60, 10, 0, 'open', 1, 0, "
                        "'[]', 1, '{}', :now, :now)"
                    ),
                    {"owner": owner.id, "now": datetime.now(UTC).replace(tzinfo=None)},
                )
                await db.commit()
                owner_id = owner.id
            return await seed(maker, owner_id, "meetingAAAAA", datetime.now(UTC))
        finally:
            await engine.dispose()

    old, new = asyncio.run(prepare())
    assert in_sqlite_files(settings.data_dir, old) == set(old)
    monkeypatch.setenv("HAVEN_DATA_DIR", str(settings.data_dir))
    from app.cli import app as cli

    result = CliRunner().invoke(cli, ["purge"])

    assert result.exit_code == 0, result.output
    assert result.output.startswith("removed 1 audit entries, 1 occurrences, 1 expired sessions")
    assert in_sqlite_files(settings.data_dir, old) == set()
    assert in_sqlite_files(settings.data_dir, new) == set(new)
