"""``haven facilitator add|invite``, ``haven meeting create``: passwords never on argv or output."""

import asyncio
from datetime import UTC, datetime

import pytest
from typer.testing import CliRunner

from app.auth import service, sessions
from app.auth.passwords import verify_password
from app.cli import app as cli
from app.config import Settings
from app.store.engine import create_engine, create_sessionmaker
from tests.support.server import migrate_database

PASSWORD = "a long enough password"


@pytest.fixture
def runner(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    asyncio.run(migrate_database(settings))
    monkeypatch.setenv("HAVEN_DATA_DIR", str(settings.data_dir))
    return CliRunner()


def test_add_invite_and_create_a_meeting(runner: CliRunner) -> None:
    # stdin is not a terminal here, so the password is read from its first line.
    first = runner.invoke(cli, ["facilitator", "add", "Ana", "--display-name", "Ana M"],
                          input=f"{PASSWORD}\n")  # fmt: skip
    assert first.exit_code == 0, first.output
    assert "created administrator ana" in first.output  # the first account administers
    second = runner.invoke(cli, ["facilitator", "add", "ben"], input=f"{PASSWORD}\n")
    assert "created facilitator ben" in second.output
    for result in (first, second):
        assert PASSWORD not in result.output

    taken = runner.invoke(cli, ["facilitator", "add", "ANA"], input=f"{PASSWORD}\n")
    weak = runner.invoke(cli, ["facilitator", "add", "cleo"], input="short\n")
    assert (taken.exit_code, weak.exit_code) == (2, 2)
    assert "taken" in taken.output
    assert "at least 12" in weak.output

    invite = runner.invoke(cli, ["facilitator", "invite"])
    assert invite.exit_code == 0, invite.output
    assert invite.output.startswith("http://127.0.0.1:8000/console/invite#")
    not_admin = runner.invoke(cli, ["facilitator", "invite", "--by", "ben"])
    assert not_admin.exit_code == 1

    args = ["meeting", "create", "Peer chat", "--format", "peer-mentoring", "--owner", "ben"]
    meeting = runner.invoke(cli, [*args, "--days", "0,3", "--tz", "Europe/Paris"])
    assert meeting.exit_code == 0, meeting.output
    meeting_id, url = meeting.output.split()
    assert len(meeting_id) == 12
    assert url == f"http://127.0.0.1:8000/m/{meeting_id}"
    bad = runner.invoke(cli, ["meeting", "create", "x", "--tz", "Mars/Base"])
    assert bad.exit_code == 2
    assert "time zone" in bad.output


def test_recover_an_account_from_the_shell(runner: CliRunner, settings: Settings) -> None:
    """A stolen session, a lost second factor, a facilitator who left: the operator's tools."""
    runner.invoke(cli, ["facilitator", "add", "ana"], input=f"{PASSWORD}\n")
    runner.invoke(cli, ["facilitator", "add", "ben"], input=f"{PASSWORD}\n")

    async def session_and_totp(name: str) -> str:
        engine = create_engine(settings)
        try:
            async with create_sessionmaker(engine)() as db:
                account = await service.find_by_username(db, name)
                assert account is not None
                account.totp_secret = "JBSWY3DPEHPK3PXP"  # turned on by whoever held a session
                issued = await sessions.issue(db, account.id, datetime.now(UTC), 3600)
                await db.commit()
                return issued.token
        finally:
            await engine.dispose()

    async def state(name: str, token: str) -> tuple[bool, bool, bool, bool]:
        engine = create_engine(settings)
        try:
            async with create_sessionmaker(engine)() as db:
                account = await service.find_by_username(db, name)
                assert account is not None
                alive = await sessions.resolve(db, token, datetime.now(UTC)) is not None
                new = verify_password(account.password_hash, "a brand new passphrase").ok
                return alive, account.totp_secret is not None, new, account.disabled
        finally:
            await engine.dispose()

    token = asyncio.run(session_and_totp("ana"))
    reset = runner.invoke(
        cli, ["facilitator", "passwd", "ana", "--reset-totp"], input="a brand new passphrase\n"
    )
    assert reset.exit_code == 0, reset.output
    assert "a brand new passphrase" not in reset.output
    assert asyncio.run(state("ana", token)) == (False, False, True, False)

    token = asyncio.run(session_and_totp("ben"))
    assert runner.invoke(cli, ["facilitator", "disable", "ben"]).exit_code == 0
    alive, _, _, disabled = asyncio.run(state("ben", token))
    assert (alive, disabled) == (False, True)
    assert runner.invoke(cli, ["facilitator", "enable", "ben"]).exit_code == 0
    assert asyncio.run(state("ben", token))[3] is False

    assert runner.invoke(cli, ["facilitator", "disable", "nobody"]).exit_code == 2
    weak = runner.invoke(cli, ["facilitator", "passwd", "ana"], input="short\n")
    assert weak.exit_code == 2 and "at least 12" in weak.output
