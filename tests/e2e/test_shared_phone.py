"""A phone passed from hand to hand, and a dead zone longer than the resume window."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from playwright.async_api import expect

from app.config import Settings
from tests.e2e.conftest import MS, MeetingFactory, Pages, join
from tests.e2e.test_network import live_meeting, messages
from tests.support.proxy import serve_proxy
from tests.support.server import LiveServer

pytestmark = pytest.mark.e2e

WINDOW_S = 4


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        data_dir=tmp_path / "data", join_rate_per_ip="1000/minute", resume_window_s=WINDOW_S
    )


async def test_the_next_person_on_a_shared_phone_is_asked_before_the_meeting_comes_back(
    pages: Pages, meeting_factory: MeetingFactory
) -> None:
    meeting, _host = await live_meeting(meeting_factory)
    eve = await meeting.join("Eve")
    dee = await pages.phone()
    await join(dee, meeting.id, "Dee")
    await expect(dee.get_by_text("You joined the meeting.")).to_be_visible()
    await eve.say("my name is really Evelyn")
    await expect(messages(dee)).to_have_text(["my name is really Evelyn"])
    # A reload is the same person: straight back in.
    await dee.reload()
    await expect(messages(dee)).to_have_text(["my name is really Evelyn"], timeout=10 * MS)
    # Away without pressing Leave; the next person presses Back.
    await dee.goto("/")
    await dee.go_back()
    await expect(dee.get_by_text("Were you just in this meeting?")).to_be_visible()
    await expect(dee.get_by_text("my name is really Evelyn")).to_have_count(0)
    await dee.get_by_role("button", name="Start fresh").click()
    await expect(dee.get_by_label("Name to use in this meeting")).to_be_focused()
    assert await dee.evaluate("sessionStorage.length") == 0
    await asyncio.sleep(1)
    await expect(dee.get_by_text("my name is really Evelyn")).to_have_count(0)


async def test_what_was_typed_in_a_dead_zone_longer_than_the_window_comes_back_to_the_box(
    pages: Pages, meeting_factory: MeetingFactory, live_server: LiveServer
) -> None:
    meeting, host = await live_meeting(meeting_factory)
    async with serve_proxy(live_server.host, live_server.port) as proxy:
        rae = await pages.phone(origin=proxy.url)
        await join(rae, meeting.id, "Rae")
        await expect(rae.get_by_text("You joined the meeting.")).to_be_visible()
        proxy.mode = "reset"  # the server sees the drop; every new attempt is refused
        await rae.get_by_label("Your message").fill("typed in the dead zone")
        await rae.get_by_label("Your message").press("Enter")
        await expect(rae.get_by_text("Connection lost")).to_be_visible(timeout=10 * MS)
        await asyncio.sleep(WINDOW_S + 4)  # the window ends: the member is gone
        proxy.mode = "pass"
        await expect(rae.locator("#join-err")).to_contain_text(
            "it will be back in the message box", timeout=25 * MS
        )
        await rae.get_by_label("Name to use in this meeting").fill("Rae")
        await rae.get_by_role("button", name="Join the meeting").click()
        await expect(rae.get_by_label("Your message")).to_have_value(
            "typed in the dead zone", timeout=10 * MS
        )
        await expect(rae.get_by_text("was not sent")).to_be_visible()
    assert not [f for f in host.frames if f.get("x") == "typed in the dead zone"]
