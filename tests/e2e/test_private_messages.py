"""Private messages in the browser: a newcomer asks from the waiting room, the facilitator
answers and checks in on another member; the other members never see a word of it."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Page, expect

from tests.e2e.conftest import MS, MeetingFactory, Pages, console_sign_in, join, run_axe
from tests.e2e.test_meeting import console_run, say, stream

pytestmark = pytest.mark.e2e


def panel(page: Page):  # noqa: ANN201 - a Playwright locator
    """A member's private messages with the facilitators."""
    return page.locator("details.priv")


async def write_privately(page: Page, text: str) -> None:
    await page.get_by_label("Private message to the facilitators").fill(text)
    await page.get_by_role("button", name="Send privately").click()


async def test_a_newcomer_asks_privately_and_the_facilitator_answers(
    pages: Pages, meeting_factory: MeetingFactory
) -> None:
    meeting = await meeting_factory(title="Monday SMART Recovery", lobby=True)
    host = await pages.desktop()
    await console_run(host, "Monday SMART Recovery")
    await host.get_by_role("button", name="Start meeting").click()
    await expect(host.get_by_text("The meeting is live.")).to_be_visible()

    lee, ann = await pages.phone(), await pages.phone()
    await join(lee, meeting.id, "Lee")
    await expect(lee.get_by_role("heading", name="Waiting room")).to_be_visible()

    # From the waiting room: the question goes to the facilitators only.
    await panel(lee).locator("summary").click()
    # Personal data: the warning shows in the waiting room too, and nothing goes unasked.
    await write_privately(lee, "my number is 07700 900123 if that helps")
    await expect(lee.get_by_text("Your private message is not sent yet")).to_be_visible()
    await lee.get_by_role("button", name="Edit").click()
    await expect(lee.get_by_label("Private message to the facilitators")).to_have_value(
        "my number is 07700 900123 if that helps"
    )
    await write_privately(lee, "First time here. Do I have to talk?")
    await expect(panel(lee).locator("li .x")).to_have_text(["First time here. Do I have to talk?"])
    threads = host.get_by_role("region", name=re.compile("^Private messages"))
    await expect(threads.get_by_role("heading")).to_have_text("Private messages (1)")
    await expect(host.get_by_text("Lee wrote to the facilitators privately.")).to_be_visible()
    lee_thread = threads.locator("details", has_text="Lee")
    await lee_thread.locator("summary").click()
    await expect(lee_thread.locator("li .x")).to_have_text(["First time here. Do I have to talk?"])
    await lee_thread.get_by_label("Private message").fill("No, you can just listen. Welcome.")
    await lee_thread.get_by_role("button", name="Send privately").click()
    await expect(panel(lee).locator("li .x")).to_have_text(
        ["First time here. Do I have to talk?", "No, you can just listen. Welcome."]
    )
    await expect(lee.get_by_text("Host (facilitator) wrote to you privately.")).to_be_visible()

    # Admitted, Lee keeps the thread; Ann, admitted too, never sees it.
    lobby = host.get_by_role("region", name=re.compile("^Waiting room"))
    await lobby.locator("li", has_text="Lee").get_by_role("button", name="Admit").click()
    await expect(lee.get_by_text("You are in. Welcome.")).to_be_visible()
    await expect(panel(lee).locator("li .x")).to_have_count(2)
    await join(ann, meeting.id, "Ann")
    await lobby.locator("li", has_text="Ann").get_by_role("button", name="Admit").click()
    await expect(ann.get_by_label("Your message")).to_be_enabled()

    # The facilitator checks in on Ann from the member list; her panel opens by itself.
    await host.get_by_text("People here").click()
    ann_row = host.locator(".people li", has_text="Ann")
    await ann_row.get_by_text("Manage Ann").click()
    await ann_row.get_by_role("button", name="Message privately").click()
    ann_thread = threads.locator("details", has_text="Ann")
    await expect(ann_thread.get_by_label("Private message")).to_be_focused()
    await ann_thread.get_by_label("Private message").fill("Checking in: how is your week?")
    await ann_thread.get_by_role("button", name="Send privately").click()
    await expect(panel(ann)).to_have_attribute("open", "")
    await expect(panel(ann).locator("li .x")).to_have_text(["Checking in: how is your week?"])

    # Crisis language in a private message: the card for Ann, the alert for the facilitator,
    # who can answer privately from the alert itself.
    await write_privately(ann, "Honestly I want to die tonight")
    await expect(
        ann.get_by_role("heading", name="You matter. Help is available right now.")
    ).to_be_visible()
    alerts = host.get_by_role("region", name=re.compile("^Crisis alerts"))
    await expect(alerts).to_contain_text("Ann may be in crisis")
    await alerts.get_by_role("button", name="Write to Ann privately").click()
    await expect(ann_thread.get_by_label("Private message")).to_be_focused()

    # What the room saw: none of it.
    await say(host, "Let's begin with a check-in.")
    for page in (ann, lee):
        await expect(stream(page).locator("li[data-s] .x")).to_have_text(
            ["Let's begin with a check-in."]
        )
    await expect(panel(lee).locator("li .x")).to_have_count(2, timeout=2 * MS)
    assert "how is your week" not in await lee.content()
    assert "First time here" not in await ann.content()


async def test_a_demoted_co_facilitator_keeps_nothing_of_the_private_threads(
    pages: Pages, meeting_factory: MeetingFactory
) -> None:
    meeting = await meeting_factory(title="Friday open share")
    host = await meeting.started()
    ann = await pages.phone()
    await join(ann, meeting.id, "Ann")
    ann_id = (await host.event("join"))["m"]
    bob = await meeting.join("Bob")
    await host.send({"t": "role", "m": ann_id, "r": "cofac"})
    threads = ann.get_by_role("region", name=re.compile("^Private messages"))
    await expect(threads).to_be_visible()

    await bob.send({"t": "dm", "cid": "b1", "x": "I relapsed on Tuesday"})
    await expect(threads.locator("details", has_text="Bob")).to_be_visible()
    await host.send({"t": "role", "m": ann_id, "r": "member"})
    await expect(ann.get_by_label("Private message to the facilitators")).to_be_attached()
    await expect(threads).to_be_hidden()
    assert "I relapsed on Tuesday" not in await ann.content()


async def test_the_console_shows_the_teams_activity_without_words_or_names(
    pages: Pages, meeting_factory: MeetingFactory
) -> None:
    meeting = await meeting_factory(title="Sunday family group")
    host = await meeting.started()
    ann = await meeting.join("Annika")
    await host.send({"t": "dm", "cid": "h1", "m": ann.me, "x": "Checking in after your share"})
    await ann.event("dm", cid="h1")
    await host.send({"t": "mute", "m": ann.me, "on": True})
    await ann.event("mute", m=ann.me, on=True)

    page = await pages.desktop()
    await console_sign_in(page)
    await page.get_by_role("button", name="Activity of Sunday family group").click()
    entries = page.locator("#activity li")
    # Written by the server's queue a moment after each action.
    await expect(entries).to_have_count(3, timeout=5 * MS)
    await expect(entries).to_contain_text(
        ["muted a member", "wrote privately to a member", "started the meeting"]
    )
    await expect(entries.first).to_contain_text(f"member {ann.me[:4]}")
    assert await run_axe(page) == []
    text = await page.locator("#activity").inner_text()
    assert "Checking in" not in text and "Annika" not in text
