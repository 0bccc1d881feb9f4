"""Accessibility (axe-core), page weight, same-origin loading and the offline shell."""

from __future__ import annotations

import contextlib
from typing import Any

import pytest
from playwright.async_api import BrowserContext, Page, expect
from playwright.async_api import Error as PlaywrightError

from tests.e2e.conftest import MeetingFactory, Pages, join, run_axe
from tests.e2e.test_meeting import console_run, say
from tests.support.rooms import Meeting

pytestmark = pytest.mark.e2e

BUDGET_BYTES = 60 * 1024
PREAMBLE = "We are a fellowship of people who share our experience, strength and hope."


async def live_room(meeting_factory: MeetingFactory, **fields: Any) -> Meeting:
    """A started meeting with a pinned reading; its host is a WebSocket client (``.host``)."""
    meeting = await meeting_factory(
        title="Morning open share",
        lobby=False,
        readings=[{"title": "Preamble", "text": PREAMBLE}],
        **fields,
    )
    host = await meeting.host()
    await host.send({"t": "start"})
    await host.event("phase", p="live")
    await host.send({"t": "pin", "i": 0})
    await host.say("Welcome, everyone. Raise your hand when you would like to share.")
    meeting.host_member = host  # type: ignore[attr-defined]
    return meeting


class Transfer:
    """Bytes on the wire for one browser context: headers plus encoded (compressed) bodies,
    service-worker fetches included. WebSocket frames are not HTTP transfers."""

    def __init__(self, context: BrowserContext) -> None:
        self.finished: list[Any] = []
        context.on("requestfinished", lambda request: self.finished.append(request))

    async def total(self) -> tuple[int, list[tuple[str, int]]]:
        rows = []
        for request in self.finished:
            sizes = await request.sizes()
            rows.append((request.url, sizes["responseBodySize"] + sizes["responseHeadersSize"]))
        return sum(n for _, n in rows), rows


async def sw_ready(page: Page) -> None:
    """Wait until the service worker has installed (its shell fetches are done)."""
    await page.evaluate("navigator.serviceWorker.ready.then(() => true)")


@pytest.mark.parametrize("scheme", ["light", "dark"])
async def test_no_serious_accessibility_violations(
    pages: Pages, meeting_factory: MeetingFactory, scheme: str
) -> None:
    meeting = await live_room(meeting_factory)
    phone = await pages.phone(color_scheme=scheme)
    await phone.goto("/")
    await expect(phone.locator("#list li")).to_have_count(1)
    assert await run_axe(phone) == [], "directory"

    await phone.goto(f"/m/{meeting.id}")
    await expect(phone.get_by_role("button", name="Join the meeting")).to_be_enabled()
    assert await run_axe(phone) == [], "join page"
    await join(phone, meeting.id, "Kit")
    await expect(phone.get_by_text("Reading: Preamble")).to_be_visible()
    await say(phone, "Glad to be here.")
    await phone.get_by_role("button", name="Raise hand").click()
    await phone.get_by_role("button", name="Actions for the message from Kit").click()
    await phone.get_by_text("People here").click()
    assert await run_axe(phone) == [], "room"

    # The facilitator moves from the script to the console (one seat per account).
    await meeting.host_member.send({"t": "leave"})  # type: ignore[attr-defined]
    desk = await pages.desktop(color_scheme=scheme)
    await desk.goto("/console")
    await expect(desk.get_by_role("heading", name="Facilitator sign-in")).to_be_visible()
    assert await run_axe(desk) == [], "console sign-in"
    await console_run(desk, "Morning open share")
    await desk.get_by_text("People here").click()
    await desk.locator(".people details").first.click()
    assert await run_axe(desk) == [], "console room"


async def test_first_visits_stay_within_the_page_weight_budget(
    pages: Pages, meeting_factory: MeetingFactory
) -> None:
    meeting = await live_room(meeting_factory)
    directory = await pages.phone()
    spent = Transfer(directory.context)
    await directory.goto("/")
    await expect(directory.locator("#list li")).to_have_count(1)
    await sw_ready(directory)
    total, rows = await spent.total()
    print(f"\ndirectory first visit: {total} bytes in {len(rows)} responses")
    assert total <= BUDGET_BYTES, rows

    room = await pages.phone()
    spent = Transfer(room.context)
    await join(room, meeting.id, "Lou")
    await expect(room.get_by_text("You joined the meeting.")).to_be_visible()
    await sw_ready(room)
    total, rows = await spent.total()
    print(f"room first visit: {total} bytes in {len(rows)} responses")
    assert total <= BUDGET_BYTES, rows
    assert any("/sw.js" in url for url, _ in rows) and any("/api/meetings/" in u for u, _ in rows)


async def test_a_second_visit_opens_offline_from_the_service_worker(
    pages: Pages, meeting_factory: MeetingFactory
) -> None:
    meeting = await live_room(meeting_factory)
    page = await pages.phone()
    await page.goto(f"/m/{meeting.id}")
    await expect(page.get_by_role("button", name="Join the meeting")).to_be_enabled()
    await sw_ready(page)
    await page.goto("/")  # the directory's own files come into the cache on this visit
    await expect(page.locator("#list li")).to_have_count(1)
    await page.context.set_offline(True)
    await page.reload()
    await expect(page.get_by_role("heading", name="Peer-support meetings")).to_be_visible()
    await expect(page.get_by_text("You are offline.")).to_be_visible()
    await page.goto(f"/m/{meeting.id}")
    await expect(page.get_by_text("Code of conduct")).to_be_visible()
    await expect(page.get_by_text("You are offline.")).to_be_visible()


async def test_pages_load_nothing_from_other_origins(
    pages: Pages, meeting_factory: MeetingFactory
) -> None:
    meeting = await live_room(meeting_factory)
    phone = await pages.phone()
    for path in ("/", f"/m/{meeting.id}", "/console"):
        await phone.goto(path)
        await phone.wait_for_load_state("networkidle")
    await join(phone, meeting.id, "Mo")
    await expect(phone.get_by_text("You joined the meeting.")).to_be_visible()
    await phone.get_by_role("button", name="Get help now").click()
    await expect(phone.get_by_role("dialog", name="Get help now")).to_contain_text("988")
    assert pages.requests and not pages.foreign  # checked again for every test at teardown
    assert any(url.startswith("ws://") for url in pages.requests)


async def test_a_new_release_waits_for_the_open_meeting_page_then_replaces_the_old_one(
    pages: Pages, meeting_factory: MeetingFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A release is a new service worker with a cache of its own. While a meeting page of the
    old release is open (it loads the facilitators' tools later, from its own release), the new
    one waits, and the old cache stays. Once no page of the old release is open, the next visit
    opens the new one, and the old cache goes."""
    from app.api import pages as served

    meeting = await live_room(meeting_factory)
    directory = await pages.phone()
    await directory.goto("/")
    await expect(directory.locator("#list li")).to_have_count(1)
    await sw_ready(directory)
    old = await directory.evaluate("caches.keys()")
    assert len(old) == 1 and old[0].startswith("haven-shell-")
    room = await directory.context.new_page()
    await room.goto(f"/m/{meeting.id}")
    await expect(room.get_by_role("button", name="Join the meeting")).to_be_enabled()

    monkeypatch.setattr(served, "shell_version", lambda _web: "release2")
    waiting = """navigator.serviceWorker.getRegistration()
        .then((r) => r.update().then(() => new Promise((done) => {
            const w = r.installing || r.waiting;
            if (!w || w.state === 'installed') return done(!!r.waiting);
            w.addEventListener('statechange', () => {
                if (w.state === 'installed' || w.state === 'redundant') done(!!r.waiting);
            });
        })))"""
    assert await directory.evaluate(waiting)
    await directory.wait_for_timeout(500)  # the directory asked; two pages are open
    keys = await directory.evaluate("caches.keys()")
    assert sorted(keys) == sorted([*old, "haven-shell-release2"])
    assert await room.evaluate("navigator.serviceWorker.getRegistration().then((r) => !!r.waiting)")

    # Every page of the old release closed: the next visit opens the new one.
    context = directory.context
    await room.close()
    await directory.close()
    page = await context.new_page()
    keys: list[str] = []
    for _ in range(100):
        with contextlib.suppress(PlaywrightError):  # a reload into the new release
            await page.goto("/")
            keys = await page.evaluate("caches.keys()")
        if keys == ["haven-shell-release2"]:
            break
        await page.wait_for_timeout(100)
    assert keys == ["haven-shell-release2"]
