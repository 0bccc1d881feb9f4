"""Browser fixtures: Debian's Chromium driven by Python Playwright against the live server.

- ``browser``: headless Chromium at /usr/bin/chromium (``make system-packages`` installs it;
  ``playwright install`` is never used).
- ``pages``: opens contexts (``await pages.phone()``, ``await pages.desktop()``) that record
  every request; at teardown the test fails if any went to another origin than the server's
  (or the proxy's, when a test passes ``origin=``).
- ``meeting_factory``: a facilitator account ("host") and a meeting through the services.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, BrowserContext, Page, async_playwright

from app.config import Settings
from tests.support.rooms import PASSWORD, Meeting, create_meeting
from tests.support.server import LiveServer

CHROMIUM = os.environ.get("HAVEN_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--disable-background-networking"]
PHONE: dict[str, Any] = {
    "viewport": {"width": 360, "height": 740},
    "is_mobile": True,
    "has_touch": True,
    "device_scale_factor": 2,
}
DESKTOP: dict[str, Any] = {"viewport": {"width": 1280, "height": 860}}
ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
MS = 1000  # Playwright timeouts are in ms; one unit of patience on a loaded 2-core machine.


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    # Every browser comes from 127.0.0.1: lift the per-address join limit for the tests.
    return Settings(data_dir=tmp_path / "data", join_rate_per_ip="1000/minute")


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    if not os.path.exists(CHROMIUM):  # noqa: ASYNC240 - one stat before the browser starts
        pytest.fail(f"{CHROMIUM} is missing: run `make system-packages` (apt-get install chromium)")
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield browser
        await browser.close()


class Pages:
    """Browser contexts for one test, each recording where its requests went and whether the
    Content Security Policy refused anything (the client must need no inline script or style).
    """

    def __init__(self, browser: Browser, origin: str) -> None:
        self.browser = browser
        self.origin = origin
        self.contexts: list[BrowserContext] = []
        self.requests: list[str] = []
        self.foreign: list[str] = []
        self.csp: list[str] = []
        self.errors: list[str] = []

    async def context(self, origin: str | None = None, **options: Any) -> BrowserContext:
        origin = origin or self.origin
        host = origin.split("://", 1)[1]
        context = await self.browser.new_context(base_url=origin, **options)
        context.set_default_timeout(10 * MS)

        def record(url: str) -> None:
            self.requests.append(url)
            if not url.startswith((f"http://{host}/", f"ws://{host}/", "data:", "blob:")):
                self.foreign.append(url)

        def watch(page: Page) -> None:
            page.on("websocket", lambda ws: record(ws.url))
            page.on("pageerror", lambda exc: self.errors.append(str(exc)))
            page.on(
                "console",
                lambda m: self.csp.append(m.text) if "Content Security Policy" in m.text else None,
            )

        context.on("request", lambda r: record(r.url))
        context.on("page", watch)
        self.contexts.append(context)
        return context

    async def phone(self, origin: str | None = None, **options: Any) -> Page:
        context = await self.context(origin, **PHONE, **options)
        return await context.new_page()

    async def desktop(self, origin: str | None = None, **options: Any) -> Page:
        context = await self.context(origin, **DESKTOP, **options)
        return await context.new_page()

    async def close(self) -> None:
        for context in self.contexts:
            await context.close()


@pytest.fixture
async def pages(browser: Browser, live_server: LiveServer) -> AsyncIterator[Pages]:
    pages = Pages(browser, live_server.url)
    yield pages
    await pages.close()
    assert pages.requests, "no request was recorded"
    assert not pages.foreign, f"requests left the server's origin: {pages.foreign}"
    assert not pages.csp, f"the Content Security Policy refused something: {pages.csp}"
    assert not pages.errors, f"uncaught errors in the page: {pages.errors}"


MeetingFactory = Callable[..., Awaitable[Meeting]]


@pytest.fixture
def meeting_factory(live_server: LiveServer, http: httpx.AsyncClient) -> MeetingFactory:
    async def make(**fields: Any) -> Meeting:
        return await create_meeting(live_server, http, **fields)

    return make


async def join(page: Page, meeting_id: str, name: str, path: str | None = None) -> None:
    """Open the meeting link, fill in a name and join (lands in the room or the lobby)."""
    await page.goto(path or f"/m/{meeting_id}")
    await page.get_by_label("Name to use in this meeting").fill(name)
    await page.get_by_role("button", name="Join the meeting").click()


async def console_sign_in(page: Page) -> None:
    """Open the facilitator console and sign in as the test account ``host``."""
    await page.goto("/console")
    await page.get_by_label("Username", exact=True).fill("host")
    await page.get_by_label("Password", exact=True).fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()


async def run_axe(page: Page) -> list[dict[str, Any]]:
    """axe-core's serious and critical violations on the page as it is now."""
    if not AXE.exists():
        pytest.fail(f"{AXE} is missing: run `npm ci` (make test does)")
    # Evaluated through the DevTools protocol rather than added as a <script> tag: the page
    # keeps its real Content Security Policy (no inline script) while axe runs.
    await page.evaluate(AXE.read_text(encoding="utf-8"))
    result = await page.evaluate(
        """async () => {
          const r = await axe.run(document, {resultTypes: ['violations']});
          return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
            nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))}));
        }"""
    )
    return [v for v in result if v["impact"] in ("serious", "critical")]
