"""Proof of attendance in the browser: a member asks for a slip in the room, and a probation
officer checks it on the server's /verify page."""

from __future__ import annotations

import pytest
from playwright.async_api import expect

from tests.e2e.conftest import MeetingFactory, Pages, join, run_axe

pytestmark = pytest.mark.e2e


async def test_a_member_gets_a_slip_and_someone_else_checks_it(
    pages: Pages, meeting_factory: MeetingFactory
) -> None:
    meeting = await meeting_factory(title="Wednesday open share")
    host = await meeting.started()
    ann = await pages.phone()
    await join(ann, meeting.id, "Ann")
    await expect(ann.get_by_label("Your message")).to_be_enabled()
    await ann.get_by_role("button", name="Proof of attendance").click()
    dialog = ann.get_by_role("dialog", name="Proof of attendance")
    await dialog.get_by_label("Name to print on the slip").fill("Jane Q. Public")
    await dialog.get_by_role("button", name="Get my slip").click()
    await expect(dialog.get_by_text("Attendance slip")).to_be_visible()
    await expect(dialog.locator("dd").first).to_have_text("Jane Q. Public")
    code = await dialog.locator("dd.code").text_content()
    assert code is not None and len(code) == 47
    await dialog.get_by_role("button", name="Close").click()

    # The meeting ends at once: the slip stays on the page for Ann until she clears it.
    await host.send({"t": "end"})
    await expect(ann.get_by_role("heading", name="Meeting ended")).to_be_visible()
    await ann.get_by_role("button", name="Show my proof of attendance").click()
    await expect(dialog.locator("dd.code")).to_have_text(code)
    await dialog.get_by_role("button", name="Close").click()
    await ann.get_by_role("button", name="Clear it from this phone").click()
    await expect(ann.locator("dialog.slip")).to_have_count(0)
    assert "Jane Q. Public" not in await ann.content()

    officer = await pages.desktop()
    await officer.goto("/verify")
    assert await run_axe(officer) == []
    await officer.get_by_label("Code").fill(code.lower())
    await officer.get_by_label("Name on the slip").fill("Jane Q. Public")
    await officer.get_by_role("button", name="Check").click()
    result = officer.get_by_role("status")
    await expect(result).to_contain_text("Valid slip")
    await expect(result).to_contain_text("Wednesday open share")
    await officer.get_by_label("Name on the slip").fill("John Q. Public")
    await officer.get_by_role("button", name="Check").click()
    await expect(officer.get_by_role("alert")).to_contain_text("do not match a slip")
