"""The semantic crisis screen in a live room: a crisis the rules miss still gets care.

The message goes to the room like any other; shortly after, the sender privately gets the
care card and the facilitators the alert (the same events as when the rules find a crisis),
and nobody else sees either.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

from app.config import Settings
from app.moderation import crisis_hint
from app.moderation.context import ScreenContext
from app.moderation.pipeline import default_pipeline
from tests.support.rooms import Meeting, Member, create_meeting
from tests.support.server import LiveServer

# Written for this test: in neither the seeds nor the evaluation sets.
MISSED_BY_RULES = (
    "I've written a letter to each of my kids and tonight I'm finally going to be free of it all"
)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", semantic_crisis=True)


async def live(live_server: LiveServer, http: httpx.AsyncClient) -> tuple[Meeting, Member]:
    meeting = await create_meeting(live_server, http, policy={"newcomer_cooldown": 0})
    host = await meeting.host()
    await host.send({"t": "start"})
    await host.event("phase", p="live")
    return meeting, host


async def model_ready(live_server: LiveServer) -> None:
    screen = live_server.app.state.rooms.semantic
    assert screen is not None
    # Loading takes a few seconds of CPU once per process; wait for it, never sleep.
    assert await asyncio.to_thread(screen.ready.wait, 60)
    assert not screen.off


def test_the_rules_alone_miss_this_message() -> None:
    assert not default_pipeline().screen(MISSED_BY_RULES, ScreenContext()).crisis


async def test_crisis_found_after_delivery_card_to_sender_alert_to_facilitators(
    live_server: LiveServer, http: httpx.AsyncClient
) -> None:
    await model_ready(live_server)
    meeting, host = await live(live_server, http)
    ann = await meeting.join("Ann")
    bob = await meeting.join("Bob")
    cid = await ann.say(MISSED_BY_RULES)
    assert (await bob.event("msg", cid=cid))["x"] == MISSED_BY_RULES
    card = await ann.event("care")
    assert "988" in str(card)
    alert = await host.event("alert")
    assert alert["kind"] == "suicide" and alert["m"] == ann.me and alert["cid"] == cid
    assert alert["hint"] == crisis_hint("suicide")  # a fixed line, never the message
    cid2 = await host.say("marker")  # bob has everything sent before this
    await bob.event("msg", cid=cid2)
    assert not [f for f in bob.frames if f.get("t") in ("care", "alert")]
    assert not [f for f in ann.frames if f.get("t") == "alert"]
    assert len([f for f in ann.frames if f.get("t") == "care"]) == 1


async def test_ordinary_share_gets_no_card(
    live_server: LiveServer, http: httpx.AsyncClient
) -> None:
    await model_ready(live_server)
    meeting, host = await live(live_server, http)
    ann = await meeting.join("Ann")
    await ann.say("Last year I wanted to die. Today I got my one year chip.")
    cid = await ann.say("I'm sitting on the edge of the roof")  # a crisis after the share
    await ann.event("care")
    alert = await host.event("alert")
    assert alert["cid"] == cid  # the alert is for the second message, not the share
    marker = await host.say("marker")
    await ann.event("msg", cid=marker)
    assert len([f for f in ann.frames if f.get("t") == "care"]) == 1
    assert len([f for f in host.frames if f.get("t") == "alert"]) == 1


async def test_a_held_message_the_rules_miss_still_gets_care_at_once(
    live_server: LiveServer, http: httpx.AsyncClient
) -> None:
    """A newcomer's first message is held for review (the cooldown), and with no facilitator
    to review it the default fallback blocks it: the semantic screen reads it all the same."""
    await model_ready(live_server)
    meeting = await create_meeting(live_server, http, policy={"newcomer_cooldown": 2})
    host = await meeting.host()
    await host.send({"t": "start"})
    await host.event("phase", p="live")
    ann = await meeting.join("Ann")
    cid = await ann.say(MISSED_BY_RULES)
    held = await host.event("held")
    assert held["m"] == ann.me and held["x"] == MISSED_BY_RULES
    await ann.event("care")
    alert = await host.event("alert")
    assert alert["m"] == ann.me and alert["cid"] == cid


async def test_the_alert_goes_out_even_when_the_sender_left_right_after(
    live_server: LiveServer, http: httpx.AsyncClient
) -> None:
    await model_ready(live_server)
    meeting, host = await live(live_server, http)
    ann = await meeting.join("Ann")
    cid = await ann.say(MISSED_BY_RULES)
    await ann.send({"t": "leave"})
    await host.event("leave", m=ann.me)
    alert = await host.event("alert")
    assert alert["m"] == ann.me and alert["cid"] == cid and alert["n"] == "Ann"
