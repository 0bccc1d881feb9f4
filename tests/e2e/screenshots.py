"""Take the README's screenshots: `python -m tests.e2e.screenshots` (writes docs/screenshots/).

A staged server (tests/e2e/stage.py), Debian's Chromium: the directory on a phone, a live room
on a phone, and the facilitator console on a desktop while it runs that room.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from playwright.async_api import async_playwright, expect

from tests.e2e.conftest import ARGS, CHROMIUM, DESKTOP, PHONE, console_sign_in
from tests.e2e.stage import fill_room, staged, talk

OUT = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


async def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    async with staged() as stage, async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        base = stage.server.url
        phone_ctx = await browser.new_context(base_url=base, **PHONE)
        phone = await phone_ctx.new_page()
        await phone.goto("/")
        await expect(phone.locator("#list li")).to_have_count(4)
        await phone.screenshot(path=OUT / "directory.png")

        desk_ctx = await browser.new_context(base_url=base, **DESKTOP)
        desk = await desk_ctx.new_page()
        await console_sign_in(desk)
        await (
            desk.locator("#meetings li", has_text="Morning open share")
            .get_by_role("button", name="Run meeting")
            .click()
        )
        await desk.get_by_role("button", name="Start meeting").click()
        await desk.get_by_label("Pinned reading").select_option(label="Preamble")

        await fill_room(stage, host=False)
        lobby = desk.get_by_role("region", name="Waiting room (2)")
        await lobby.get_by_role("button", name="Admit everyone").click()
        await phone.goto(f"/m/{stage.room.id}")
        await phone.get_by_label("Name to use in this meeting").fill("Sam")
        await phone.get_by_role("button", name="Join the meeting").click()
        await (
            desk.get_by_role("region", name="Waiting room (1)")
            .get_by_role("button", name="Admit")
            .click()
        )
        await expect(phone.get_by_text("You are in. Welcome.")).to_be_visible()
        await talk(stage)
        await desk.get_by_label("Your message").fill("Welcome Sam. Ben, you're up first.")
        await desk.get_by_label("Your message").press("Enter")
        await (
            desk.get_by_role("region", name="Hands raised (1)")
            .get_by_role("button", name="Next hand")
            .click()
        )
        await phone.get_by_role("button", name="Raise hand").click()
        await phone.get_by_label("Your message").fill("Thank you. I'll just listen for a bit.")
        await phone.get_by_label("Your message").press("Enter")
        ann = stage.members[-2]
        await ann.say("Some nights I think about ending it all. Today is better.")
        await expect(desk.get_by_role("region", name="Crisis alerts (1)")).to_be_visible()
        await expect(phone.get_by_text("I'll just listen for a bit.")).to_be_visible()
        await expect(phone.get_by_text("Some nights I think")).to_be_visible()
        await phone.get_by_role("list", name="Messages").evaluate("el => el.scrollTop = 1e6")
        await phone.get_by_text("Reading: Preamble").click()  # folded, as a member would
        await phone.evaluate("document.activeElement.blur(); window.scrollTo(0, 0)")
        await phone.screenshot(path=OUT / "room-phone.png")
        await expect(desk.get_by_text("Some nights I think")).to_be_visible()
        await desk.get_by_role("list", name="Messages").evaluate("el => el.scrollTop = 1e6")
        await desk.get_by_text("Reading: Preamble").click()
        await desk.evaluate("document.activeElement.blur(); window.scrollTo(0, 0)")
        await desk.screenshot(path=OUT / "console.png")
        await browser.close()
    for name in ("directory", "room-phone", "console"):
        print(OUT / f"{name}.png")


if __name__ == "__main__":
    asyncio.run(main())
