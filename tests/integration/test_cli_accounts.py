"""``haven facilitator add|invite``, ``haven meeting create``: passwords never on argv or output."""

import asyncio

import pytest
from typer.testing import CliRunner

from app.cli import app as cli
from app.config import Settings
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
