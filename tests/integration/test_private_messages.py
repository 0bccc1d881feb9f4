"""Private messages between a member and the facilitators, on a real server.

A member writes to the facilitators (every facilitator reads it); a facilitator writes to one
member (the other facilitators read it too); nobody else receives either, live or in a resume's
replay. Each is screened as a chat message is, crisis care included.
"""

from __future__ import annotations

import asyncio

import httpx

from tests.support.rooms import UNIT_S, Meeting, Member, create_meeting
from tests.support.server import LiveServer


async def team_and_members(meeting: Meeting) -> tuple[Member, Member, Member, Member]:
    """A live meeting: the host, co-facilitator Cat, members Ann and Bob."""
    host = await meeting.started()
    cat = await meeting.join("Cat")
    ann = await meeting.join("Ann")
    bob = await meeting.join("Bob")
    await host.send({"t": "role", "m": cat.me, "r": "cofac"})
    await cat.event("role", m=cat.me, r="cofac")
    return host, cat, ann, bob


async def no_dm_before_marker(member: Member, marker_cid: str) -> None:
    """Read ``member``'s frames up to the room message ``marker_cid``: no ``dm`` among them."""
    while True:
        frame = await member.recv()
        assert frame.get("t") != "dm", frame
        if frame.get("t") == "msg" and frame.get("cid") == marker_cid:
            return


async def test_a_member_and_the_team_talk_privately_and_nobody_else_hears_it(
    live_server: LiveServer, http: httpx.AsyncClient
) -> None:
    meeting = await create_meeting(live_server, http)
    host, cat, ann, bob = await team_and_members(meeting)

    await ann.send({"t": "dm", "cid": "a1", "x": "Is it ok if I just listen tonight?"})
    for reader in (host, cat, ann):  # the writer sees it back: that is the acknowledgement
        got = await reader.event("dm", cid="a1")
        assert (got["m"], got["w"], got["n"]) == (ann.me, ann.me, "Ann")
        assert got["x"] == "Is it ok if I just listen tonight?"

    await host.send({"t": "dm", "cid": "h1", "m": ann.me, "x": "Of course. Welcome."})
    for reader in (ann, cat):
        got = await reader.event("dm", cid="h1")
        assert (got["m"], got["w"]) == (ann.me, host.me)

    marker = await host.say("Welcome, everyone.")
    await no_dm_before_marker(bob, marker)

    # Members cannot write to each other privately, and a co-facilitator is on the team.
    await ann.send({"t": "dm", "cid": "a2", "m": bob.me, "x": "hey"})
    refused = await ann.event("error", cid="a2")
    assert refused["code"] == "not_allowed"
    await host.send({"t": "dm", "cid": "h2", "m": cat.me, "x": "hey"})
    assert (await host.event("error", cid="h2"))["code"] == "invalid"

    # Sent twice (a client that lost the echo): once.
    await ann.send({"t": "dm", "cid": "a1", "x": "Is it ok if I just listen tonight?"})
    assert (await ann.event("dup"))["cid"] == "a1"


async def test_someone_in_the_lobby_can_ask_before_coming_in(
    live_server: LiveServer, http: httpx.AsyncClient
) -> None:
    meeting = await create_meeting(live_server, http, lobby=True)
    host = await meeting.started()
    lee = await meeting.join("Lee")
    await host.event("join", m=lee.me)
    await lee.send({"t": "dm", "cid": "l1", "x": "First time. Do I have to talk?"})
    assert (await host.event("dm", cid="l1"))["m"] == lee.me
    await host.send({"t": "dm", "cid": "h1", "m": lee.me, "x": "No, you can just listen."})
    assert (await lee.event("dm", cid="h1"))["x"] == "No, you can just listen."


async def test_a_private_message_is_screened_like_a_chat_message(
    live_server: LiveServer, http: httpx.AsyncClient
) -> None:
    meeting = await create_meeting(live_server, http)
    host, cat, ann, bob = await team_and_members(meeting)

    # Crisis language: delivered, the card to its writer, the alert to the team.
    await ann.send({"t": "dm", "cid": "c1", "x": "I want to die tonight"})
    await host.event("dm", cid="c1")
    await ann.event("care")
    alert = await cat.event("alert", m=ann.me)
    assert alert["cid"] == "c1"

    # Personal data: warned first, sent when the writer confirms.
    await ann.send({"t": "dm", "cid": "p1", "x": "can you call me? 555-123-4567"})
    assert (await ann.event("warn", cid="p1"))["code"] == "pii"
    await ann.send({"t": "dm", "cid": "p1", "x": "can you call me? 555-123-4567", "ok": True})
    await host.event("dm", cid="p1")

    # What the room would hold for review goes to the team as it is (they are its readers);
    # a facilitator's that would be held is refused, as it would be in the lobby.
    await bob.send({"t": "dm", "cid": "b1", "x": "you're a worthless junkie"})
    assert (await host.event("dm", cid="b1"))["w"] == bob.me
    await cat.send({"t": "dm", "cid": "k1", "m": bob.me, "x": "you're a worthless junkie"})
    blocked = await cat.event("error", cid="k1")
    assert blocked["code"] == "blocked" and "abuse.insult" in blocked["why"]


async def test_a_resume_replays_a_private_message_to_its_reader_only(
    live_server: LiveServer, http: httpx.AsyncClient
) -> None:
    meeting = await create_meeting(live_server, http)
    host, cat, ann, bob = await team_and_members(meeting)
    await ann.close()
    await bob.close()
    await host.event("away", m=ann.me)
    await host.send({"t": "dm", "cid": "h1", "m": ann.me, "x": "Checking in: are you ok?"})
    await host.event("dm", cid="h1")
    marker = await host.say("Back in five minutes.")
    ann_back = await meeting.resume(ann)
    assert ann_back.welcome["replay"]
    assert (await ann_back.event("dm", cid="h1"))["x"] == "Checking in: are you ok?"
    bob_back = await meeting.resume(bob)
    await no_dm_before_marker(bob_back, marker)


async def test_a_facilitators_private_message_is_audited_without_its_text(
    live_server: LiveServer, http: httpx.AsyncClient
) -> None:
    meeting = await create_meeting(live_server, http)
    host, cat, ann, bob = await team_and_members(meeting)
    await host.send({"t": "dm", "cid": "h1", "m": ann.me, "x": "Checking in quietly."})
    await ann.event("dm", cid="h1")
    await ann.send({"t": "dm", "cid": "a1", "x": "Thanks, I'm ok."})
    await host.event("dm", cid="a1")
    auth = {"authorization": f"Bearer {meeting.token}"}
    for _ in range(50):
        response = await http.get(f"/api/meetings/{meeting.id}/audit", headers=auth)
        assert response.status_code == 200, response.text
        entries = [e for e in response.json() if e["action"] == "private_message"]
        if entries:
            break
        await asyncio.sleep(0.1 * UNIT_S)
    # The facilitator's message, not the member's: members' private messages are not audited.
    assert [(e["actor_member"], e["target_member"]) for e in entries] == [(host.me, ann.me)]
    assert "Checking in" not in response.text


async def test_with_no_facilitator_here_a_member_is_told_so(
    live_server: LiveServer, http: httpx.AsyncClient
) -> None:
    meeting = await create_meeting(live_server, http)
    host = await meeting.started()
    ann = await meeting.join("Ann")
    await host.send({"t": "leave"})
    await ann.event("leave", m=host.me)
    await ann.send({"t": "dm", "cid": "a1", "x": "anyone there?"})
    assert (await ann.event("error", cid="a1"))["code"] == "no_facilitator"


async def test_a_newcomers_private_message_is_not_held_but_personal_data_is_still_warned(
    live_server: LiveServer, http: httpx.AsyncClient
) -> None:
    # The newcomer cooldown holds a new member's first messages to the room for review; to
    # the facilitators, who would review them, they go at once, and the privacy warning that
    # the hold would outrank still comes first.
    meeting = await create_meeting(live_server, http, policy={"newcomer_cooldown": 3})
    host = await meeting.started()
    ann = await meeting.join("Ann")
    await ann.send({"t": "dm", "cid": "n1", "x": "my number is 07700 900123, text me"})
    assert (await ann.event("warn", cid="n1"))["code"] == "pii"
    await ann.send({"t": "dm", "cid": "n2", "x": "Hello, first time here."})
    assert (await host.event("dm", cid="n2"))["x"] == "Hello, first time here."
    await ann.say("Hello everyone.", cid="r1")
    assert (await host.event("held", m=ann.me))["x"] == "Hello everyone."
