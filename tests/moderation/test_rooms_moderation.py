"""Moderation in a live room: real uvicorn, real WebSocket clients (tests/support/rooms.py).

What issue 5 asks to see end to end: a crisis message reaches the room while only the sender
gets the care card and only facilitators get the alert; a phone number triggers the private
warning and, under a redact policy, others receive it redacted; a held message reaches the
room only after a facilitator approves it.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.config import Settings
from app.moderation import crisis_hint
from tests.support.rooms import Frame, Meeting, Member, create_meeting
from tests.support.server import LiveServer


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data")


async def started(
    live_server: LiveServer, http: httpx.AsyncClient, **fields: Any
) -> tuple[Meeting, Member]:
    """A meeting (``fields`` of its definition) that its host has started: both."""
    meeting = await create_meeting(live_server, http, **fields)
    host = await meeting.host()
    await host.send({"t": "start"})
    await host.event("phase", p="live")
    return meeting, host


async def live(
    live_server: LiveServer, http: httpx.AsyncClient, **policy: Any
) -> tuple[Member, Member, Member]:
    """A live meeting (newcomer cooldown off, ``policy`` over it): its host, Ann and Bob."""
    meeting, host = await started(live_server, http, policy={"newcomer_cooldown": 0, **policy})
    return host, await meeting.join("Ann"), await meeting.join("Bob")


async def synced(member: Member, by: Member) -> None:
    """Wait until ``member`` has everything sent before now (a marker message from ``by``)."""
    cid = await by.say("marker")
    await member.event("msg", cid=cid)


async def test_crisis_reaches_the_room_card_to_sender_alert_to_facilitators(
    live_server: LiveServer, http: httpx.AsyncClient
) -> None:
    host, ann, bob = await live(live_server, http)
    cid = await ann.say("I want to die tonight")
    assert (await bob.event("msg", cid=cid))["x"] == "I want to die tonight"
    card = await ann.event("care")
    assert "988" in str(card)
    alert = await host.event("alert")
    assert alert["kind"] == "suicide" and alert["m"] == ann.me
    assert alert["hint"] == crisis_hint("suicide")  # a fixed line, never the message
    await synced(bob, host)
    assert not [f for f in bob.frames if f.get("t") in ("care", "alert")]
    assert not [f for f in ann.frames if f.get("t") == "alert"]


async def test_phone_number_warns_the_sender_privately(
    live_server: LiveServer, http: httpx.AsyncClient
) -> None:
    host, ann, bob = await live(live_server, http)
    text = "call me at 555-123-4567"
    cid = await ann.say(text)
    warn = await ann.event("warn", cid=cid)
    assert warn["code"] == "pii" and warn["spans"]
    await synced(bob, host)
    assert not [f for f in bob.frames if f.get("cid") == cid]
    await ann.say(text, cid=cid, ok=True)  # send anyway
    assert (await bob.event("msg", cid=cid))["x"] == text


async def test_redact_policy_hides_the_number_from_everyone(
    live_server: LiveServer, http: httpx.AsyncClient
) -> None:
    _, ann, bob = await live(live_server, http, redact_pii=True)
    cid = await ann.say("call me at 555-123-4567 tonight")
    frame = await bob.event("msg", cid=cid)
    assert frame["x"] == "call me at [hidden] tonight"
    # The number in any form; not "555" alone, which a random id or a timestamp may contain.
    seen = str(bob.frames)
    assert "123-4567" not in seen and "1234567" not in seen


async def test_held_message_reaches_the_room_only_after_approval(
    live_server: LiveServer, http: httpx.AsyncClient
) -> None:
    host, ann, bob = await live(live_server, http)
    cid = await ann.say("you're a worthless junkie")
    held = await host.event("held")
    assert held["m"] == ann.me
    await synced(bob, host)
    assert not [f for f in bob.frames if f.get("cid") == cid]
    await host.send({"t": "review", "h": held["h"], "ok": True})
    assert (await bob.event("msg", cid=cid))["x"] == "you're a worthless junkie"


async def test_a_message_to_hold_is_blocked_with_its_reasons_when_no_facilitator_is_there(
    live_server: LiveServer, http: httpx.AsyncClient
) -> None:
    host, ann, bob = await live(live_server, http)
    await host.close()
    await bob.event("away", m=host.me)
    cid = await ann.say("you're a worthless junkie")
    refused = await ann.event("error", cid=cid)
    assert refused["code"] == "blocked"
    assert refused["why"] == ["abuse.insult", "review.no_facilitator"]
    await synced(bob, ann)
    assert not [f for f in bob.frames if f.get("cid") == cid]


async def test_crisis_language_gets_care_even_when_the_message_is_not_delivered(
    live_server: LiveServer, http: httpx.AsyncClient
) -> None:
    host, ann, bob = await live(live_server, http)
    # Blocked by the link policy: the sender is told, and still gets the card.
    cid = await ann.say("I want to die tonight, read https://example.com/goodbye")
    assert (await ann.event("error", cid=cid))["code"] == "blocked"
    assert "988" in str(await ann.event("care"))
    assert (await host.event("alert", cid=cid))["kind"] == "suicide"
    # Answered with a privacy warning: the same.
    cid = await ann.say("I want to die tonight, call me on 555-123-4567")
    assert (await ann.event("warn", cid=cid))["code"] == "pii"
    await ann.event("care")
    await host.event("alert", cid=cid)
    # Refused because a facilitator muted the sender: the same.
    await host.send({"t": "mute", "m": ann.me, "on": True})
    await ann.event("mute", m=ann.me)
    cid = await ann.say("I want to die tonight")
    assert (await ann.event("error", cid=cid))["code"] == "muted"
    await ann.event("care")
    alert = await host.event("alert", cid=cid)
    assert alert["hint"] == crisis_hint("suicide")  # a fixed line, never the message
    # None of it reached the room, nor the care or the alerts.
    await synced(bob, host)
    assert not [
        f for f in bob.frames if f.get("t") in ("msg", "care", "alert") and f.get("m") == ann.me
    ]


CRY = "I want to die tonight"


async def cry_past_the_rate_limit(member: Member) -> tuple[str, Frame]:
    """``member`` sends five messages, then ``CRY``, which the rate limit refuses: its cid and
    the refusal (with ``retry``)."""
    for i in range(5):
        await member.say(f"filler {i}")
    cid = await member.say(CRY)
    refused = await member.event("error", cid=cid)
    assert refused["code"] == "rate_limited"
    return cid, refused


async def test_crisis_in_a_message_sent_too_fast_gets_care_once(
    live_server: LiveServer, http: httpx.AsyncClient
) -> None:
    """Past the rate limit a message is refused before it is screened; crisis language in it
    brings the card and the alert all the same, and once: not again when it is sent again."""
    host, ann, _ = await live(live_server, http)
    cid, refused = await cry_past_the_rate_limit(ann)
    await ann.event("care")
    alert = await host.event("alert")
    assert alert["m"] == ann.me and alert["cid"] == cid
    await asyncio.sleep(refused["retry"] + 0.2)
    await ann.say(CRY, cid=cid)
    await host.event("msg", cid=cid)
    await synced(ann, host)
    assert len([f for f in ann.frames if f.get("t") == "care"]) == 1
    assert len([f for f in host.frames if f.get("t") == "alert"]) == 1


async def test_crisis_in_a_message_too_long_to_send_gets_care(
    live_server: LiveServer, http: httpx.AsyncClient
) -> None:
    host, ann, _ = await live(live_server, http)
    await ann.send({"t": "say", "x": f"{CRY}. " + "so tired of all of it " * 100, "cid": "long"})
    refused = await ann.event("error", cid="long")
    assert refused["code"] == "too_long"
    await ann.event("care")
    assert (await host.event("alert"))["m"] == ann.me


async def test_crisis_in_a_report_reason_gets_care(
    live_server: LiveServer, http: httpx.AsyncClient
) -> None:
    host, ann, bob = await live(live_server, http)
    why = "he keeps calling me worthless and honestly i want to kill myself"
    await ann.send({"t": "report", "m": bob.me, "why": why})
    await ann.event("care")
    report = await host.event("report")
    assert report["m"] == bob.me and report["why"] == why


async def test_a_name_that_is_a_cry_for_help_gets_care_when_its_member_joins(
    live_server: LiveServer, http: httpx.AsyncClient
) -> None:
    meeting, host = await started(live_server, http)
    member = await meeting.join("WantToDieTonight")
    await member.event("care")
    alert = await host.event("alert")
    assert alert["m"] == member.me and alert["n"] == "WantToDieTonight"
    ordinary = await meeting.join("Hope4Today")
    marker = await host.say("marker")
    await ordinary.event("msg", cid=marker)
    assert not [f for f in ordinary.frames if f.get("t") == "care"]
    assert len([f for f in host.frames if f.get("t") == "alert"]) == 1


async def test_a_message_of_control_characters_only_gets_a_typed_error_not_an_empty_bubble(
    live_server: LiveServer, http: httpx.AsyncClient
) -> None:
    meeting, host = await started(live_server, http)
    ann = await meeting.join("Ann")
    cid = await ann.say("\x19\u200b\x86")
    refused = await ann.event("error", cid=cid)
    assert refused["code"] == "invalid"
    marker = await ann.say("still here")
    await host.event("msg", cid=marker)
    assert not [f for f in host.frames if f.get("t") == "msg" and f.get("cid") == cid]


async def test_a_facilitators_message_to_the_lobby_is_screened(
    live_server: LiveServer, http: httpx.AsyncClient
) -> None:
    meeting, host = await started(live_server, http, lobby=True)
    waiting = await meeting.join("Ann")
    await host.send({"t": "lobby_say", "x": "shut up you worthless junkie"})
    refused = await host.event("error")
    assert refused["code"] == "blocked" and refused["why"]
    # Control characters only (found by the live fuzzer): empty once displayed, a typed error.
    await host.send({"t": "lobby_say", "x": "\x19\x86"})
    assert (await host.event("error", code="invalid"))["code"] == "invalid"
    await host.send({"t": "lobby_say", "x": "we will let you in shortly"})
    got = await waiting.event("lobby_msg")
    assert got["n"] == "Host"  # the lobby never saw the room's list: the name comes with it
    assert got["x"] == "we will let you in shortly"
    assert len([f for f in waiting.frames if f.get("t") == "lobby_msg"]) == 1


async def test_crisis_in_a_report_reason_does_not_name_the_reporter(
    live_server: LiveServer, http: httpx.AsyncClient
) -> None:
    """Reports are anonymous: a reason in crisis language brings its sender the card, and
    the facilitators, who read the reason with the report, no alert naming them."""
    host, ann, bob = await live(live_server, http)
    await ann.send({"t": "report", "m": bob.me, "why": "i want to kill myself, he is so cruel"})
    await ann.event("care")
    report = await host.event("report")
    assert report["m"] == bob.me and "by" not in report
    await synced(host, bob)
    assert not [f for f in host.frames if f.get("t") == "alert"]
    assert ann.me not in str([f for f in host.frames if f.get("t") in ("report", "alert")])


async def test_a_message_cared_for_before_a_resume_gets_no_second_care_after_it(
    live_server: LiveServer, http: httpx.AsyncClient
) -> None:
    meeting, host = await started(live_server, http)
    ann = await meeting.join("Ann")
    cid, refused = await cry_past_the_rate_limit(ann)
    await host.event("alert")
    ann.ws.transport.abort()  # the link drops; the client resumes and sends its outbox again
    await host.event("away", m=ann.me)
    back = await meeting.resume(ann)
    await asyncio.sleep(refused["retry"] + 0.2)
    await back.say(CRY, cid=cid)
    await host.event("msg", cid=cid)
    await synced(back, host)
    assert len([f for f in host.frames if f.get("t") == "alert"]) == 1
    # The care frame of the first attempt may come again in the resume's replay: one event.
    assert len({f["s"] for f in [*ann.frames, *back.frames] if f.get("t") == "care"}) == 1
