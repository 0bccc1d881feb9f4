"""A whole meeting in the browser: a facilitator at a desktop, two members on phones."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from playwright.async_api import Page, expect

from app.auth import service as auth_service
from tests.e2e.conftest import MS, MeetingFactory, Pages, console_sign_in, join
from tests.support.rooms import PASSWORD
from tests.support.server import LiveServer

pytestmark = pytest.mark.e2e

PREAMBLE = "We are a fellowship of people who share our experience, strength and hope."


async def console_run(page: Page, title: str) -> None:
    """Sign in through the console and open the meeting's room."""
    await console_sign_in(page)
    card = page.locator("#meetings li", has_text=title)
    await card.get_by_role("button", name="Run meeting").click()
    await expect(page.get_by_role("heading", name="Meeting", exact=True)).to_be_visible()


def stream(page: Page):  # noqa: ANN201 - a Playwright locator
    return page.get_by_role("list", name="Messages")


async def say(page: Page, text: str) -> None:
    await page.get_by_label("Your message").fill(text)
    await page.get_by_role("button", name="Send", exact=True).click()


async def test_facilitator_and_two_phones_run_a_meeting(
    pages: Pages, meeting_factory: MeetingFactory
) -> None:
    meeting = await meeting_factory(
        title="Thursday night open share",
        lobby=True,
        share_limit_s=120,
        readings=[{"title": "Preamble", "text": PREAMBLE}],
    )
    host = await pages.desktop()
    await console_run(host, "Thursday night open share")
    await host.get_by_role("button", name="Start meeting").click()
    await expect(host.get_by_text("The meeting is live.")).to_be_visible()

    ann, ben = await pages.phone(), await pages.phone()
    await join(ann, meeting.id, "Ann")
    await join(ben, meeting.id, "Ben")
    for phone in (ann, ben):
        await expect(phone.get_by_role("heading", name="Waiting room")).to_be_visible()
        await expect(phone.get_by_text("Who you see here, what you hear here")).to_be_hidden()

    # Lobby: admit both from the facilitator's waiting-room list.
    lobby = host.get_by_role("region", name=re.compile("^Waiting room"))
    await expect(lobby.get_by_role("heading")).to_have_text("Waiting room (2)")
    await lobby.locator("li", has_text="Ann").get_by_role("button", name="Admit").click()
    await expect(ann.get_by_text("You are in. Welcome.")).to_be_visible()
    await lobby.locator("li", has_text="Ben").get_by_role("button", name="Admit").click()
    await expect(ben.get_by_label("Your message")).to_be_enabled()
    # The host, Ann and Ben (an `admit` event does not carry the name: see docs/protocol.md).
    await expect(ann.get_by_text("People here (3)")).to_be_visible()

    # Chat: everyone sees every message once, in order.
    await say(ann, "Hi everyone, Ann here.")
    await say(ben, "Hi Ann.")
    await say(host, "Welcome both of you.")
    expected = ["Hi everyone, Ann here.", "Hi Ann.", "Welcome both of you."]
    for page in (host, ann, ben):
        await expect(stream(page).locator("li[data-s] .x")).to_have_text(expected)

    # From a message's actions: a reaction, then a report to the facilitators.
    actions = ben.get_by_role("button", name="Actions for the message from Ann")
    await actions.click()
    await ben.get_by_role("button", name="React: Heart").click()
    first = stream(ann).locator("li[data-s]").first
    await expect(first.locator(".rx")).to_have_text("❤️Heart 1")
    await actions.click()
    await ben.get_by_role("button", name="Report", exact=True).click()
    await ben.get_by_role("button", name="Report", exact=True).click()  # confirm
    await expect(ben.get_by_text("The facilitators have your report")).to_be_visible()
    await expect(host.get_by_role("region", name="Reports (1)")).to_contain_text("About Ann")

    # Hands and the floor: a queue, then the facilitator calls the next hand.
    await ann.get_by_role("button", name="Raise hand").click()
    await expect(ann.get_by_text("Your hand is up: 1st in line.")).to_be_visible()
    await ben.get_by_role("button", name="Raise hand").click()
    await expect(ben.get_by_text("Your hand is up: 2nd in line.")).to_be_visible()
    hands = host.get_by_role("region", name="Hands raised (2)")
    await expect(hands.locator("ol li")).to_have_count(2)
    await hands.get_by_role("button", name="Next hand").click()
    await expect(ann.get_by_text("You have the floor. Take your time.")).to_be_visible()
    await expect(ann.get_by_role("timer")).to_have_text(re.compile(r"^[12]:\d\d left$"))
    await expect(ben.get_by_role("region", name="Who is sharing")).to_contain_text(
        "Ann has the floor."
    )
    await expect(ben.get_by_text("Your hand is up: 1st in line.")).to_be_visible()
    await ann.get_by_role("button", name="End my share").click()
    await expect(ben.get_by_text("Nobody is sharing right now.")).to_be_visible()

    # A pinned reading reaches every phone.
    await host.get_by_label("Pinned reading").select_option(label="Preamble")
    for phone in (ann, ben):
        await expect(phone.get_by_text("Reading: Preamble")).to_be_visible()
        await expect(phone.get_by_text(PREAMBLE)).to_be_visible()

    # Mute, then remove.
    await host.get_by_text("People here").click()
    ben_row = host.locator(".people li", has_text="Ben")
    await ben_row.get_by_text("Manage Ben").click()
    # A slow tap: a chat line arrives between the finger going down and up. The people list
    # is not built again under it, so the tap still lands.
    await ben_row.get_by_role("button", name="Mute", exact=True).scroll_into_view_if_needed()
    spot = await ben_row.get_by_role("button", name="Mute", exact=True).bounding_box()
    assert spot is not None
    await host.mouse.move(spot["x"] + spot["width"] / 2, spot["y"] + spot["height"] / 2)
    await host.mouse.down()
    await say(ann, "a line while the host taps")
    await expect(host.get_by_text("a line while the host taps")).to_be_visible()
    await host.mouse.up()
    await expect(ben.get_by_label("Your message")).to_be_disabled()
    await expect(ben.get_by_text("A facilitator muted you for now.").first).to_be_visible()
    await ben_row.get_by_role("button", name="Remove", exact=True).click()
    await expect(ben.get_by_text("A facilitator removed you from this meeting.")).to_be_visible()
    await expect(ann.get_by_text("People here (2)")).to_be_visible()


async def test_markup_in_messages_and_names_is_shown_as_text(
    pages: Pages, meeting_factory: MeetingFactory
) -> None:
    meeting = await meeting_factory(title="Evening group", lobby=False)
    host = await pages.desktop()
    await console_run(host, "Evening group")
    await host.get_by_role("button", name="Start meeting").click()

    name = '<img src=x onerror="xss=1">'
    message = "<script>window.xss=2</script><b>bold?</b><img src=x onerror=xss=3>"
    mallory = await pages.phone()
    await join(mallory, meeting.id, name)
    await expect(mallory.get_by_text("You joined the meeting.")).to_be_visible()
    await say(mallory, message)
    # Moderation may hold markup for review: then the facilitator sees it as text and approves.
    review = host.get_by_role("region", name="Messages to review (1)")
    shown = stream(host).locator("li[data-s] .x", has_text="bold?")
    await expect(review.or_(shown)).to_be_visible(timeout=5 * MS)
    if await review.is_visible():
        await expect(review.locator(".x")).to_have_text(message)
        await review.get_by_role("button", name="Approve").click()
    for page in (host, mallory):
        await expect(stream(page).locator("li[data-s] .x")).to_have_text([message])
        assert await stream(page).locator("img, script, b").count() == 0
        assert await page.evaluate("typeof window.xss") == "undefined"
    await expect(stream(host).locator("li[data-s] .who")).to_contain_text(name)
    await host.get_by_text("People here").click()
    await expect(host.locator(".people .n", has_text=name)).to_have_text(name)
    assert await host.locator(".people img").count() == 0


async def test_private_notices_warn_before_sending_and_offer_help(
    pages: Pages, meeting_factory: MeetingFactory
) -> None:
    meeting = await meeting_factory(title="Noon group", lobby=False)
    host = await meeting.host()
    await host.send({"t": "start"})
    await host.event("phase", p="live")
    page = await pages.phone()
    await join(page, meeting.id, "Pat")
    await expect(page.get_by_text("You joined the meeting.")).to_be_visible()

    # A phone number: not sent; the member edits it out, then sends another one anyway.
    await say(page, "Call me on 555-201-4567 after the meeting")
    warning = page.get_by_role("alert").filter(has_text="Not sent yet")
    await expect(warning.locator("mark")).to_have_text("555-201-4567")
    # What was typed meanwhile stays: the warned text comes back before it.
    await page.get_by_label("Your message").fill("and one more thing")
    await warning.get_by_role("button", name="Edit").click()
    await expect(page.get_by_label("Your message")).to_have_value(
        "Call me on 555-201-4567 after the meeting\n\nand one more thing"
    )
    await say(page, "Find me after the meeting")
    await say(page, "My sponsor's number is 555-201-9999")
    await warning.get_by_role("button", name="Send anyway").click()
    await expect(stream(page).locator("li[data-s] .x")).to_have_text(
        ["Find me after the meeting", "My sponsor's number is 555-201-9999"]
    )
    await host.event("msg", x="My sponsor's number is 555-201-9999")

    # Words of crisis: the message goes out, and only this member gets the care card.
    await say(page, "Some nights I think about ending it all.")
    care = page.get_by_role("alert").filter(has_text="Only you can see this")
    await expect(care).to_be_visible()
    await care.get_by_role("button", name="See who you can call").click()
    await expect(page.get_by_role("dialog", name="Get help now")).to_contain_text("988")
    alert = await host.event("alert", n="Pat")
    assert alert["hint"]  # the facilitators get a suggested response
    await page.get_by_role("dialog").get_by_role("button", name="Close").click()
    await page.get_by_role("button", name="Leave").click()
    await expect(page.get_by_text("You left the meeting.")).to_be_visible()
    await host.event("leave", why="left")

    # What a shared phone keeps afterwards: the care card, and nothing said, no name, no
    # meeting id, no title.
    await expect(care).to_be_visible()
    assert await stream(page).locator("li").count() == 0
    kept = await page.evaluate(
        "JSON.stringify([Object.keys(localStorage), Object.keys(sessionStorage)])"
    )
    assert kept == '[["haven.dev"],[]]', kept
    assert meeting.id not in kept and "Noon" not in await page.title()
    assert await page.locator("#name").get_attribute("autocomplete") == "off"


async def test_a_facilitator_schedules_and_edits_a_meeting_in_the_console(
    pages: Pages, meeting_factory: MeetingFactory
) -> None:
    await meeting_factory(title="Existing group")  # the account, with one meeting
    page = await pages.desktop()
    await console_sign_in(page)
    await page.get_by_role("button", name="New meeting").click()
    await page.get_by_label("Title", exact=True).fill("Tuesday SMART check-in")
    await page.get_by_label("Format").select_option(label="SMART Recovery")
    await page.get_by_label("Tuesday").check()
    await page.get_by_label("Start time (local)").fill("18:30")
    await page.get_by_label("Time zone").fill("America/Chicago")
    await page.get_by_label("Passcode (optional)").fill("serenity")
    await page.get_by_role("button", name="Add a reading").click()
    await page.get_by_label("Reading 1 title").fill("Opening")
    await page.get_by_label("Reading 1 text").fill("We meet to learn tools for change.")
    await page.get_by_role("button", name="Create meeting").click()
    card = page.locator("#meetings li", has_text="Tuesday SMART check-in")
    await expect(card).to_contain_text("SMART Recovery · Tue at 18:30 (America/Chicago)")
    await expect(card).to_contain_text("passcode")

    await card.get_by_role("button", name="Edit").click()
    await expect(page.get_by_label("Reading 1 text")).to_have_value(
        "We meet to learn tools for change."
    )
    await page.get_by_label("Title", exact=True).fill("Tuesday SMART Recovery")
    await page.get_by_label("Remove the passcode").check()
    await page.get_by_role("button", name="Save changes").click()
    card = page.locator("#meetings li", has_text="Tuesday SMART Recovery")
    await expect(card).to_be_visible()
    await expect(card).not_to_contain_text("passcode")


async def test_a_new_facilitator_accepts_an_invite_link_in_the_console(
    pages: Pages, live_server: LiveServer
) -> None:
    async with live_server.app.state.sessionmaker() as db:
        root = await auth_service.create_facilitator(
            db, "root", "Root", PASSWORD, datetime.now(UTC), is_admin=True
        )
        invite = await auth_service.create_invite(db, root.id, datetime.now(UTC))
        await db.commit()
    page = await pages.desktop()
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    await page.goto(f"/console/invite#{invite.token}")
    await page.get_by_label("Choose a username").fill("cleo")
    await page.get_by_label("Display name (what members see)").fill("Cleo")
    await page.get_by_label("Choose a password").fill("a long enough password")
    await page.get_by_role("button", name="Create account").click()
    await expect(page.get_by_text("Account created.")).to_be_visible()
    # The token went in the request's body: no URL the browser asked for carries it.
    assert requests and not [url for url in requests if invite.token in url]


async def test_the_waiting_room_message_box_keeps_its_text_until_the_message_is_out(
    pages: Pages, meeting_factory: MeetingFactory
) -> None:
    meeting = await meeting_factory(title="Saturday open share", lobby=True)
    host = await pages.desktop()
    await console_run(host, "Saturday open share")
    await host.get_by_role("button", name="Start meeting").click()
    box = host.get_by_label("Message to the waiting room")
    await box.fill("Welcome, we start in five")
    # Someone arrives while the facilitator types: the list changes, the text and focus stay.
    ann = await pages.phone()
    await join(ann, meeting.id, "Ann")
    lobby = host.get_by_role("region", name=re.compile("^Waiting room"))
    await expect(lobby.get_by_role("heading")).to_have_text("Waiting room (1)")
    await expect(box).to_have_value("Welcome, we start in five")
    await expect(box).to_be_focused()
    # Refused by the pipeline: the text stays for its writer to change.
    await box.fill("you're a worthless junkie")
    await host.get_by_role("button", name="Send to waiting room").click()
    await expect(host.get_by_text("This message was not sent.")).to_be_visible()
    await expect(box).to_have_value("you're a worthless junkie")
    # Sent: the box is cleared, and the waiting room reads it.
    await box.fill("Welcome, we start in five minutes.")
    await host.get_by_role("button", name="Send to waiting room").click()
    await expect(ann.get_by_text("Host: Welcome, we start in five minutes.")).to_be_visible()
    await expect(box).to_have_value("")


async def test_a_newcomers_held_message_is_approved_and_the_newcomer_trusted(
    pages: Pages, meeting_factory: MeetingFactory
) -> None:
    """A new member's first messages wait for review. The facilitator approves one and trusts
    its writer in one tap: the next one goes straight to the room."""
    meeting = await meeting_factory(
        title="Friday open share", lobby=False, policy={"newcomer_cooldown": 2}
    )
    host = await pages.desktop()
    await console_run(host, "Friday open share")
    await host.get_by_role("button", name="Start meeting").click()
    await expect(host.get_by_text("The meeting is live.")).to_be_visible()
    pat = await pages.phone()
    await join(pat, meeting.id, "Pat")
    await expect(pat.get_by_text("You joined the meeting.")).to_be_visible()

    await say(pat, "Hi, first time here.")
    await expect(pat.get_by_text("Your message is waiting for a facilitator")).to_be_visible()
    review = host.locator("li", has_text="Hi, first time here.")
    await review.get_by_role("button", name="Approve and trust Pat").click()
    await expect(stream(pat).get_by_text("Hi, first time here.")).to_be_visible()
    await say(pat, "Thanks for having me.")
    await expect(stream(host).get_by_text("Thanks for having me.")).to_be_visible()
    await expect(host.get_by_text("Nothing to review.")).to_be_visible()
