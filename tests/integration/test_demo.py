"""First run with ``--demo``: an account with a one-time password and a live demo meeting."""

import re

import pytest

from app.config import Settings
from app.meetings.demo import DEMO_TITLE, DEMO_USERNAME
from tests.support.accounts import haven_server


async def test_demo_on_an_empty_database(
    settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    demo_settings = settings.model_copy(update={"demo": True})
    async with haven_server(demo_settings) as haven:
        printed = capsys.readouterr().out
        meeting_id = haven.server.app.state.demo_meeting_id
        password = re.search(r"password: (\S+)", printed)
        assert password is not None
        base = f"http://{settings.host}:{settings.port}"
        assert f"{base}/console" in printed
        assert f"username: {DEMO_USERNAME}" in printed
        assert f"{base}/m/{meeting_id}" in printed

        async with haven.client() as client:
            login = await client.post(
                "/api/auth/login",
                json={"username": DEMO_USERNAME, "password": password.group(1)},
            )
            assert login.status_code == 200
            assert login.json()["facilitator"]["is_admin"] is True
            live = (await client.get("/api/meetings", params={"live": "true"})).json()
            detail = (await client.get(f"/api/meetings/{meeting_id}")).json()

    assert [m["id"] for m in live["meetings"]] == [meeting_id]
    assert detail["title"] == DEMO_TITLE
    assert detail["format"] == "open-share"
    assert detail["lobby"] is False
    assert detail["has_passcode"] is False
    assert detail["readings"][0]["title"] == "Preamble"

    # A restart finds the same meeting and never shows the password again.
    async with haven_server(demo_settings) as again:
        assert again.server.app.state.demo_meeting_id == meeting_id
    assert password.group(1) not in capsys.readouterr().out


async def test_demo_never_adds_an_account_to_a_real_installation(
    settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    async with haven_server(settings) as haven:
        assert haven.server.app.state.demo_meeting_id is None  # not asked for
        await haven.add_facilitator("ana")
    async with haven_server(settings.model_copy(update={"demo": True})) as haven:
        assert haven.server.app.state.demo_meeting_id is None
        async with haven.client() as client:
            assert (await client.get("/api/meetings")).json()["meetings"] == []
    assert "password" not in capsys.readouterr().out
