"""The content-free audit, occurrences and the retention purge, with a fake clock."""

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from app.auth.models import FacilitatorSession, Invite
from app.auth.sessions import issue, token_digest
from app.config import Settings
from app.meetings import audit
from app.meetings.models import AuditEntry, Occurrence
from app.meetings.occurrences import end_occurrence, start_occurrence
from app.meetings.purge import purge
from tests.support.accounts import Haven, haven_server


def _file_size(path: Path) -> int:
    return path.stat().st_size if path.exists() else 0


@pytest.fixture
async def haven(settings: Settings) -> AsyncIterator[Haven]:
    async with haven_server(settings) as running:
        yield running


async def test_audit_is_for_the_meetings_facilitators_only(haven: Haven) -> None:
    owner = await haven.add_facilitator("owner", display_name="Olive")
    await haven.add_facilitator("cofac", display_name="Cas")
    await haven.add_facilitator("other")
    await haven.add_facilitator("root", admin=True)
    meeting_id = await haven.add_meeting(owner, co_facilitators=["cofac"])
    at = haven.clock.now
    async with haven.server.app.state.sessionmaker() as db:
        occurrence = await start_occurrence(db, meeting_id, at)
        await audit.record(db, meeting_id, occurrence, owner, "m1", "start", None, at)
        await audit.record(
            db, meeting_id, occurrence, owner, "m1", "mute", "m2", at + timedelta(seconds=5)
        )
        # A member promoted for this meeting only has no account.
        await audit.record(
            db, meeting_id, occurrence, None, "m3", "remove", "m2", at + timedelta(seconds=9)
        )
        await end_occurrence(db, occurrence, at + timedelta(hours=1), peak=4)
        await db.commit()
    path = f"/api/meetings/{meeting_id}/audit"

    async with (
        haven.logged_in("owner") as by_owner,
        haven.logged_in("cofac") as by_cofac,
        haven.logged_in("root") as by_admin,
        haven.logged_in("other") as by_other,
        haven.client() as anonymous,
    ):
        entries = (await by_owner.get(path)).json()
        assert (await by_cofac.get(path)).json() == entries
        assert (await by_admin.get(path)).json() == entries
        assert (await by_owner.get(path, params={"occurrence": occurrence})).json() == entries
        assert (await by_owner.get(path, params={"occurrence": occurrence + 1})).json() == []
        assert (await by_other.get(path)).status_code == 403
        assert (await anonymous.get(path)).status_code == 401
        assert (await by_owner.get("/api/meetings/AAAAAAAAAAAA/audit")).status_code == 404
        huge = await by_owner.get(path, params={"occurrence": 2**63})
        assert huge.status_code == 422

    assert [(e["action"], e["actor_member"], e["target_member"]) for e in entries] == [
        ("start", "m1", None),
        ("mute", "m1", "m2"),
        ("remove", "m3", "m2"),
    ]
    assert [e["facilitator"] for e in entries] == ["Olive", "Olive", None]
    assert {e["occurrence_id"] for e in entries} == {occurrence}
    assert set(entries[0]) == {
        "at", "occurrence_id", "action", "actor_member", "target_member", "facilitator",
    }  # fmt: skip
    async with haven.server.app.state.sessionmaker() as db:
        row = await db.get(Occurrence, occurrence)
    assert row is not None
    assert (row.ended_at, row.peak_members) == (at + timedelta(hours=1), 4)


async def test_a_long_audit_shows_its_newest_entries(haven: Haven) -> None:
    owner = await haven.add_facilitator("owner")
    meeting_id = await haven.add_meeting(owner)
    at = haven.clock.now
    async with haven.server.app.state.sessionmaker() as db:
        occurrence = await start_occurrence(db, meeting_id, at)
        for i in range(5):
            stamp = at + timedelta(seconds=i)
            await audit.record(db, meeting_id, occurrence, owner, f"m{i}", "mute", None, stamp)
        await db.commit()
        shown = await audit.entries(db, meeting_id, limit=3)
    assert [e.actor_member for e in shown] == ["m2", "m3", "m4"]  # the newest, oldest first


@pytest.mark.parametrize(
    ("action", "actor", "target"),
    [
        ("Mute", "m1", None),  # not a lower-case code
        ("said something", "m1", None),  # text
        ("mute", "Ana from Leeds", None),  # a pseudonym, not a member id
        ("mute", "m1", "x" * 33),
        ("mute", "", None),
    ],
)
async def test_audit_refuses_anything_but_codes_and_member_ids(
    haven: Haven, action: str, actor: str, target: str | None
) -> None:
    owner = await haven.add_facilitator("owner")
    meeting_id = await haven.add_meeting(owner)
    async with haven.server.app.state.sessionmaker() as db:
        with pytest.raises(ValueError, match="audit action|member id"):
            await audit.record(db, meeting_id, None, owner, actor, action, target, haven.clock.now)
        assert (await db.execute(select(func.count()).select_from(AuditEntry))).scalar_one() == 0


async def test_purge_removes_what_is_past_retention_and_keeps_the_rest(
    haven: Haven, settings: Settings
) -> None:
    owner = await haven.add_facilitator("owner")
    meeting_id = await haven.add_meeting(owner)
    now = haven.clock.now
    days = timedelta(days=1)
    maker = haven.server.app.state.sessionmaker
    async with maker() as db:
        old = await start_occurrence(db, meeting_id, now - 40 * days)
        await end_occurrence(db, old, now - 40 * days + timedelta(hours=1), peak=3)
        crashed = await start_occurrence(db, meeting_id, now - 31 * days)  # never ended
        recent = await start_occurrence(db, meeting_id, now - 29 * days)
        await end_occurrence(db, recent, now - 29 * days + timedelta(hours=1), peak=5)
        running = await start_occurrence(db, meeting_id, now - timedelta(minutes=5))
        await audit.record(db, meeting_id, old, owner, "m1", "mute", "m2", now - 40 * days)
        await audit.record(db, meeting_id, recent, owner, "m1", "mute", "m9", now - 29 * days)
        expired = await issue(db, owner, now - 2 * days, 3600)
        valid = await issue(db, owner, now, 3600)
        # Expired unused, used, and valid: only the last one stays.
        for index, (created, used) in enumerate(
            ((now - 4 * days, None), (now - days, now), (now, None))
        ):
            db.add(
                Invite(
                    token_hash=token_digest(f"invite-{index}"),
                    created_by=owner,
                    created_at=created,
                    expires_at=created + timedelta(hours=72),
                    used_at=used,
                )
            )
        await db.commit()

    report = await purge(maker, now, settings.retention_days)

    assert (report.audit, report.occurrences, report.sessions, report.invites) == (1, 2, 1, 2)
    async with maker() as db:
        occurrences = set((await db.execute(select(Occurrence.id))).scalars())
        targets = list((await db.execute(select(AuditEntry.target_member))).scalars())
        sessions = list((await db.execute(select(FacilitatorSession.expires_at))).scalars())
        invites = list((await db.execute(select(Invite.created_at))).scalars())
    assert occurrences == {recent, running}
    assert crashed not in occurrences
    assert targets == ["m9"]
    assert sessions == [valid.expires_at]
    assert expired.expires_at not in sessions
    assert invites == [now]
    # SQLite: the WAL was checkpointed and truncated, so deleted rows do not linger there.
    assert report.checkpoint is not None
    busy, _log_pages, _moved = report.checkpoint
    assert busy == 0
    assert _file_size(Path(f"{settings.data_dir / 'haven.db'}-wal")) == 0

    # A year on, with nothing new, the rest goes too; purging is idempotent.
    again = await purge(maker, now + 365 * days, settings.retention_days)
    assert (again.audit, again.occurrences, again.sessions) == (1, 2, 1)
    assert (await purge(maker, now + 365 * days, settings.retention_days)).occurrences == 0


async def test_purges_at_the_same_time_both_checkpoint_the_wal(
    haven: Haven, settings: Settings
) -> None:
    """A checkpoint running elsewhere makes SQLite answer busy at once (the hourly purge and
    `haven purge`, or two workers): the purge tries again instead of leaving the WAL."""
    owner = await haven.add_facilitator("owner")
    meeting_id = await haven.add_meeting(owner)
    now = haven.clock.now
    maker = haven.server.app.state.sessionmaker
    async with maker() as db:
        for day in range(40, 60):
            at = now - timedelta(days=day)
            await audit.record(db, meeting_id, None, owner, "m1", "mute", "m2", at)
        await db.commit()

    reports = await asyncio.gather(*(purge(maker, now, settings.retention_days) for _ in range(4)))

    assert sum(r.audit for r in reports) == 20
    assert [r.checkpoint[0] for r in reports if r.checkpoint is not None] == [0, 0, 0, 0]
    assert _file_size(Path(f"{settings.data_dir / 'haven.db'}-wal")) == 0


async def test_the_server_runs_the_purge_in_the_background(haven: Haven) -> None:
    names = {task.get_name() for task in asyncio.all_tasks()}
    assert "retention-purge" in names


def test_haven_purge_command(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    from app.cli import app as cli
    from tests.support.server import migrate_database

    asyncio.run(migrate_database(settings))
    monkeypatch.setenv("HAVEN_DATA_DIR", str(settings.data_dir))

    result = CliRunner().invoke(cli, ["purge"])

    assert result.exit_code == 0, result.output
    assert result.output.startswith("removed 0 audit entries, 0 occurrences")


async def test_audit_rows_go_with_their_meeting(haven: Haven) -> None:
    owner = await haven.add_facilitator("owner")
    meeting_id = await haven.add_meeting(owner)
    async with haven.server.app.state.sessionmaker() as db:
        occurrence = await start_occurrence(db, meeting_id, haven.clock.now)
        await audit.record(db, meeting_id, occurrence, owner, "m1", "start", None, haven.clock.now)
        await db.commit()
    async with haven.logged_in("owner") as client:
        assert (await client.delete(f"/api/meetings/{meeting_id}")).status_code == 204
    async with haven.server.app.state.sessionmaker() as db:
        assert (await db.execute(select(func.count()).select_from(AuditEntry))).scalar_one() == 0
        assert (await db.execute(select(func.count()).select_from(Occurrence))).scalar_one() == 0
