"""Bad links: a slow 3G phone joining, and a phone whose link drops while the room talks.

CDP throttling slows page loads and the WebSocket handshake but not WebSocket messages, and
Playwright's offline mode leaves open WebSockets alone, so the dropped link goes through the
TCP proxy in tests/support/proxy.py.
"""

from __future__ import annotations

import asyncio
import re
import time

import pytest
from playwright.async_api import Page, expect

from tests.e2e.conftest import MS, MeetingFactory, Pages, join
from tests.support.proxy import serve_proxy
from tests.support.rooms import Meeting, Member
from tests.support.server import LiveServer

pytestmark = pytest.mark.e2e

SLOW_3G = {
    "offline": False,
    "latency": 400,  # ms, added to every request's round trip
    "downloadThroughput": 400 * 1000 / 8,  # bytes/s: ~400 kbit/s
    "uploadThroughput": 400 * 1000 / 8,
    "connectionType": "cellular3g",
}
CUT_S = 20


def messages(page: Page):  # noqa: ANN201 - a Playwright locator
    return page.get_by_role("list", name="Messages").locator("li[data-s] .x")


async def live_meeting(meeting_factory: MeetingFactory) -> tuple[Meeting, Member]:
    """A meeting without a waiting room, started by its host (a WebSocket client)."""
    meeting = await meeting_factory(title="Rural check-in", lobby=False)
    host = await meeting.host()
    await host.send({"t": "start"})
    await host.event("phase", p="live")
    return meeting, host


async def dee_through(pages: Pages, origin: str, meeting: Meeting) -> Page:
    """Dee's phone, in the meeting through ``origin`` (the proxy that breaks the link)."""
    dee = await pages.phone(origin=origin)
    await join(dee, meeting.id, "Dee")
    await expect(dee.get_by_text("You joined the meeting.")).to_be_visible()
    return dee


async def test_a_phone_on_slow_3g_joins_within_10_seconds(
    pages: Pages, meeting_factory: MeetingFactory
) -> None:
    meeting, _host = await live_meeting(meeting_factory)
    page = await pages.phone()
    cdp = await page.context.new_cdp_session(page)
    await cdp.send("Network.enable")
    await cdp.send("Network.emulateNetworkConditions", SLOW_3G)
    started = time.monotonic()
    await join(page, meeting.id, "Rae")
    await expect(page.get_by_text("You joined the meeting.")).to_be_visible(timeout=10 * MS)
    elapsed = time.monotonic() - started
    assert elapsed < 10, f"joining took {elapsed:.1f} s on slow 3G"
    # The throttle really applied: the page and the API took several round trips of 400 ms.
    assert elapsed > 1.6, f"{elapsed:.2f} s is too fast for 400 ms round trips"


async def test_a_dropped_link_misses_nothing_and_sends_its_queued_message_once(
    pages: Pages, meeting_factory: MeetingFactory, live_server: LiveServer
) -> None:
    meeting, _host = await live_meeting(meeting_factory)
    eve = await meeting.join("Eve")
    async with serve_proxy(live_server.host, live_server.port) as proxy:
        dee = await dee_through(pages, proxy.url, meeting)
        await eve.say("before the cut")
        await expect(messages(dee)).to_have_text(["before the cut"])

        proxy.mode = "blackhole"  # a dead zone: nothing flows, nothing is closed
        cut_at = time.monotonic()
        missed = [f"missed {i}" for i in range(1, 6)]
        for i, text in enumerate(missed):
            await eve.say(text)
            if i == 1:
                await dee.get_by_label("Your message").fill("typed in the dead zone")
                await dee.get_by_label("Your message").press("Enter")
            await asyncio.sleep(3)  # the room keeps talking through the outage
        # The phone noticed on its own (no pong) and holds the message in its outbox.
        await expect(dee.get_by_text("Connection lost")).to_be_visible(timeout=8 * MS)
        await expect(dee.get_by_role("list", name="Waiting to be sent")).to_contain_text(
            "typed in the dead zone"
        )
        await asyncio.sleep(max(0.0, CUT_S - (time.monotonic() - cut_at)))

        proxy.mode = "pass"  # the link returns; the old connections are gone
        expected = ["before the cut", *missed, "typed in the dead zone"]
        await expect(messages(dee)).to_have_text(expected, timeout=20 * MS)
        await expect(dee.get_by_role("list", name="Waiting to be sent")).to_be_hidden()
        await expect(dee.get_by_text("Back online")).to_be_visible()

        await dee.get_by_label("Your message").fill("and I am back")
        await dee.get_by_label("Your message").press("Enter")
        await eve.event("msg", x="and I am back", timeout=10)
        seen = [f["x"] for f in eve.frames if f.get("t") == "msg"]
        assert seen.count("typed in the dead zone") == 1, seen
        await expect(messages(dee)).to_have_text([*expected, "and I am back"])


async def test_a_reset_link_reconnects_at_once_and_resumes(
    pages: Pages, meeting_factory: MeetingFactory, live_server: LiveServer
) -> None:
    meeting, _host = await live_meeting(meeting_factory)
    eve = await meeting.join("Eve")
    async with serve_proxy(live_server.host, live_server.port) as proxy:
        dee = await dee_through(pages, proxy.url, meeting)
        accepted = proxy.accepted
        proxy.mode = "reset"
        await eve.say("said while the link was reset")
        proxy.mode = "pass"
        await expect(messages(dee)).to_have_text(["said while the link was reset"])
        await expect(dee.get_by_text("Back online")).to_be_visible()
        assert proxy.accepted > accepted  # it really came back on a new connection


async def test_messages_refused_when_the_queue_is_resent_all_come_back_to_the_box(
    pages: Pages, meeting_factory: MeetingFactory, live_server: LiveServer
) -> None:
    """Two messages typed in a dead zone, and a facilitator mutes their writer meanwhile:
    both are refused when the link returns, and both are back in the message box."""
    meeting, host = await live_meeting(meeting_factory)
    async with serve_proxy(live_server.host, live_server.port) as proxy:
        dee = await dee_through(pages, proxy.url, meeting)
        dee_id = (await host.event("join", n="Dee"))["m"]
        proxy.mode = "blackhole"
        for text in ("first while away", "second while away"):
            await dee.get_by_label("Your message").fill(text)
            await dee.get_by_label("Your message").press("Enter")
        await expect(dee.get_by_role("list", name="Waiting to be sent")).to_contain_text(
            "second while away", timeout=5 * MS
        )
        await host.send({"t": "mute", "m": dee_id, "on": True})
        await host.event("mute", m=dee_id, on=True)
        await expect(dee.get_by_text("Connection lost")).to_be_visible(timeout=25 * MS)
        proxy.mode = "pass"
        box = dee.get_by_label("Your message")
        await expect(box).to_have_value(re.compile("first while away"), timeout=25 * MS)
        await expect(box).to_have_value(re.compile("second while away"), timeout=10 * MS)
    assert not [f for f in host.frames if f.get("t") == "msg" and "while away" in f.get("x", "")]


async def test_a_private_message_written_in_a_dead_zone_goes_once_and_an_answer_is_not_lost(
    pages: Pages, meeting_factory: MeetingFactory, live_server: LiveServer
) -> None:
    meeting, host = await live_meeting(meeting_factory)
    async with serve_proxy(live_server.host, live_server.port) as proxy:
        dee = await dee_through(pages, proxy.url, meeting)
        dee_id = (await host.event("join"))["m"]
        thread = dee.locator("details.priv")
        await thread.locator("summary").click()

        proxy.mode = "blackhole"
        cut_at = time.monotonic()
        await dee.get_by_label("Private message to the facilitators").fill("I'm struggling today")
        await dee.get_by_role("button", name="Send privately").click()
        await asyncio.sleep(2)
        # The facilitator checks in while the phone is out of reach.
        await host.send({"t": "dm", "cid": "h1", "m": dee_id, "x": "We're here. How are you?"})
        await host.event("dm", cid="h1")
        await expect(dee.get_by_text("Connection lost")).to_be_visible(timeout=20 * MS)
        await expect(dee.get_by_role("list", name="Waiting to be sent")).to_contain_text(
            "I'm struggling today"
        )
        await asyncio.sleep(max(0.0, CUT_S - (time.monotonic() - cut_at)))

        proxy.mode = "pass"
        await expect(thread.locator("li .x")).to_have_text(
            ["We're here. How are you?", "I'm struggling today"], timeout=20 * MS
        )
        await host.event("dm", x="I'm struggling today", timeout=10)
        await expect(dee.get_by_role("list", name="Waiting to be sent")).to_be_hidden()
        await dee.get_by_label("Private message to the facilitators").fill("Thanks.")
        await dee.get_by_role("button", name="Send privately").click()
        await host.event("dm", x="Thanks.", timeout=10)
        seen = [f["x"] for f in host.frames if f.get("t") == "dm"]
        assert seen.count("I'm struggling today") == 1, seen
        await expect(thread.locator("li .x")).to_have_count(3)


async def test_a_long_queue_resent_at_once_after_a_drop_is_paced_and_the_link_stays(
    pages: Pages, meeting_factory: MeetingFactory, live_server: LiveServer
) -> None:
    """Four messages, then eight typed in a short dead zone: when the link comes back a
    moment later, the server's window (5 messages in 5 s) is nearly full. The page paces the
    queue by the limit the `welcome` gave it: every message arrives once and in order, none is
    refused, and the link is not closed for flooding (each refusal would count towards it)."""
    meeting, _host = await live_meeting(meeting_factory)
    eve = await meeting.join("Eve")
    async with serve_proxy(live_server.host, live_server.port) as proxy:
        dee = await pages.phone(origin=proxy.url)
        received: list[str] = []
        cdp = await dee.context.new_cdp_session(dee)
        await cdp.send("Network.enable")
        cdp.on(
            "Network.webSocketFrameReceived",
            lambda e: received.append(e["response"]["payloadData"]),
        )
        await join(dee, meeting.id, "Dee")
        await expect(dee.get_by_text("You joined the meeting.")).to_be_visible()
        box = dee.get_by_label("Your message")
        texts = [f"line {i}" for i in range(1, 13)]
        for text in texts[:4]:
            await box.fill(text)
            await box.press("Enter")
            await eve.event("msg", x=text)
        proxy.mode = "blackhole"
        for text in texts[4:]:
            await box.fill(text)
            await box.press("Enter")
        await expect(
            dee.get_by_role("list", name="Waiting to be sent").locator("li")
        ).to_have_count(8)
        proxy.mode = "pass"  # back a moment later: the old connection is reset
        await eve.event("msg", x=texts[-1], timeout=30)
        seen = [f["x"] for f in eve.frames if f.get("t") == "msg"]
        assert seen == texts
        await expect(dee.get_by_role("list", name="Waiting to be sent")).to_be_hidden()
        await expect(dee.get_by_role("heading", name="You are not in the meeting")).to_have_count(0)
        assert not [f for f in received if '"rate_limited"' in f], received
        await box.fill("still here")
        await box.press("Enter")
        await eve.event("msg", x="still here", timeout=10)


async def test_the_phone_saying_it_is_offline_shows_at_once_and_the_queue_waits(
    pages: Pages, meeting_factory: MeetingFactory
) -> None:
    """The browser's `offline` event gives the link up at once: no wait for an unanswered ping
    (about ten seconds) before the member sees why nothing moves."""
    meeting, _host = await live_meeting(meeting_factory)
    eve = await meeting.join("Eve")
    dee = await pages.phone()
    await join(dee, meeting.id, "Dee")
    await expect(dee.get_by_text("You joined the meeting.")).to_be_visible()
    await dee.context.set_offline(True)
    await expect(dee.get_by_text(re.compile("^You are offline"))).to_be_visible(timeout=2 * MS)
    await dee.get_by_label("Your message").fill("written offline")
    await dee.get_by_label("Your message").press("Enter")
    await expect(dee.get_by_role("list", name="Waiting to be sent")).to_contain_text(
        "written offline"
    )
    await dee.context.set_offline(False)
    await eve.event("msg", x="written offline", timeout=15)
    await expect(dee.get_by_role("list", name="Waiting to be sent")).to_be_hidden()


async def test_a_hand_raised_on_a_link_that_was_already_dead_goes_up_after_the_resume(
    pages: Pages, meeting_factory: MeetingFactory, live_server: LiveServer
) -> None:
    """The socket looked open, so "Raise hand" was written into it and lost. The resume's
    replay does not show the hand going up, so the page sends it once more."""
    meeting, host = await live_meeting(meeting_factory)
    async with serve_proxy(live_server.host, live_server.port) as proxy:
        dee = await dee_through(pages, proxy.url, meeting)
        dee_id = (await host.event("join", n="Dee"))["m"]
        proxy.mode = "blackhole"
        await dee.get_by_role("button", name="Raise hand").click()
        await asyncio.sleep(1)
        proxy.mode = "pass"  # the dead connection is reset; the page resumes on a new one
        await host.event("hand", m=dee_id, up=True, timeout=15)
        await expect(dee.get_by_role("button", name="Lower hand")).to_be_visible()
        await expect(dee.get_by_text("Your hand is up")).to_be_visible()
        assert len([f for f in host.frames if f.get("t") == "hand" and f.get("m") == dee_id]) == 1
