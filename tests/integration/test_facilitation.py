"""Facilitators run a whole meeting on a real server; every control is checked by role."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import httpx

from app.auth import service as auth_service
from app.rooms import protocol as p
from tests.support.rooms import (
    PASSWORD,
    UNIT_S,
    Meeting,
    Member,
    SchemaValidator,
    create_meeting,
    live_with_cole,
)
from tests.support.server import LiveServer

PREAMBLE = {"title": "Preamble", "text": "We are a fellowship of people who share..."}


async def login(http: httpx.AsyncClient, username: str) -> str:
    response = await http.post("/api/auth/login", json={"username": username, "password": PASSWORD})
    assert response.status_code == 200, response.text
    return str(response.json()["token"])


async def test_a_whole_12_step_meeting(live_server: LiveServer, http: httpx.AsyncClient) -> None:
    async with live_server.app.state.sessionmaker() as db:
        await auth_service.create_facilitator(db, "chair", "Chair", PASSWORD, datetime.now(UTC))
        await db.commit()
    token = await login(http, "chair")
    auth = {"authorization": f"Bearer {token}"}
    created = await http.post(
        "/api/meetings",
        headers=auth,
        json={
            "title": "Tuesday night 12-step",
            "format": "12-step",
            "weekdays": [1],
            "start_time": "19:30",
            "timezone": "America/Chicago",
            "lobby": True,
            "passcode": "serenity now",
            "readings": [PREAMBLE],
            "share_limit_s": 60,
            "policy": {"newcomer_cooldown": 0},
        },
    )
    assert created.status_code == 201, created.text
    # Participants use their own client: the chair's client holds the session cookie.
    anon = httpx.AsyncClient(base_url=live_server.url)
    meeting = Meeting(live_server, created.json()["id"], token, anon)
    meeting.validator = SchemaValidator((await http.get("/api/protocol.json")).json())

    chair = await meeting.host()
    assert chair.welcome["role"] == "host"
    await chair.send({"t": "start"})
    await chair.event("phase", p="live")

    wrong = await anon.post(
        f"/api/meetings/{meeting.id}/tickets", json={"name": "Sam", "passcode": "nope"}
    )
    assert wrong.status_code == 403
    sam = await meeting.join("Sam", passcode="serenity now", device="device-sam-0001")
    kim = await meeting.join("Kim", passcode="serenity now", device="device-kim-0001")
    assert sam.welcome["room"] == {
        "id": meeting.id,
        "title": "Tuesday night 12-step",
        "phase": "live",
        "count": 1,
    }
    await chair.event("join", m=sam.me, lob=True)
    await chair.event("join", m=kim.me, lob=True)
    await sam.send({"t": "say", "cid": "early", "x": "hello?"})
    assert (await sam.event("error"))["code"] == "in_lobby"

    await chair.send({"t": "admit", "m": sam.me})
    await chair.send({"t": "admit", "m": kim.me})
    admitted = await sam.event("admit", m=sam.me)
    assert admitted["n"] == "Sam"
    view = await sam.event("room")
    assert view["seq"] == admitted["s"] and view["room"]["members"]
    await kim.event("admit", m=kim.me)

    await chair.send({"t": "pin", "i": 0})
    assert (await sam.event("pin"))["i"] == 0

    await kim.send({"t": "hand", "up": True})
    await sam.send({"t": "hand", "up": True})
    await chair.event("hand", m=sam.me, up=True)
    rooms = live_server.app.state.rooms
    room = rooms.hub.get(meeting.id)
    assert room.state.hands == (kim.me, sam.me)

    start = rooms.hub.clock()
    await chair.send({"t": "floor"})
    floor = await sam.event("floor")
    assert floor["m"] == kim.me and floor["n"] == "Kim"
    assert floor["until"] - floor["at"] == 60_000
    # Skip ahead rather than wait: the room's timer reads the hub's clock every second.
    rooms.hub.clock = lambda: start + 31_000
    await sam.event("floor_warn", m=kim.me, timeout=3 * UNIT_S)
    rooms.hub.clock = lambda: start + 61_000
    await sam.event("floor_time", m=kim.me, timeout=3 * UNIT_S)
    await chair.send({"t": "floor"})
    assert (await sam.event("floor", m=sam.me))["n"] == "Sam"
    await sam.send({"t": "yield"})
    await kim.event("floor", m=None)

    await kim.say("kim shares", cid="k1")
    await sam.event("msg", cid="k1")
    await chair.send({"t": "mute", "m": kim.me, "on": True})
    await kim.event("mute", m=kim.me, on=True)
    await kim.say("am I muted?", cid="k2")
    assert (await kim.event("error"))["code"] == "muted"

    await chair.send({"t": "remove", "m": kim.me, "ban": True})
    assert (await sam.event("leave", m=kim.me))["why"] == "banned"
    assert await kim.closed() == 4011
    again = await anon.post(
        f"/api/meetings/{meeting.id}/tickets",
        json={"name": "Kimberly", "passcode": "serenity now", "device": "device-kim-0001"},
    )
    assert again.status_code == 403

    await chair.send({"t": "end"})
    assert await sam.closed() == 4004
    assert await chair.closed() == 4004

    await rooms.sink.drain()
    audit = await http.get(f"/api/meetings/{meeting.id}/audit", headers=auth)
    assert audit.status_code == 200, audit.text
    actions = [entry["action"] for entry in audit.json()]
    assert actions == [
        "start",
        "admit",
        "admit",
        "pin",
        "grant_floor",
        "grant_floor",
        "mute.on",
        "remove.ban",
        "end",
    ]
    text = json.dumps(audit.json())
    for secret in ("Sam", "Kim", "kim shares", "serenity", "hello?"):
        assert secret not in text
    meetings = (await http.get("/api/facilitator/meetings", headers=auth)).json()
    assert any(m["id"] == meeting.id for m in meetings)
    await anon.aclose()


PARTICIPANT_REFUSED: list[dict[str, object]] = [
    {"t": "start"},
    {"t": "end"},
    {"t": "admit", "m": "TARGET"},
    {"t": "deny", "m": "TARGET"},
    {"t": "admit_all"},
    {"t": "mute", "m": "TARGET", "on": True},
    {"t": "mute_all", "on": True},
    {"t": "remove", "m": "TARGET", "ban": True},
    {"t": "to_lobby", "m": "TARGET"},
    {"t": "lobby_say", "x": "hi"},
    {"t": "lock", "on": True},
    {"t": "slow", "secs": 10},
    {"t": "floor"},
    {"t": "floor_end"},
    {"t": "pin", "i": 0},
    {"t": "role", "m": "TARGET", "r": "cofac"},
    {"t": "host", "m": "TARGET"},
    {"t": "review", "h": "nothing", "ok": True},
    {"t": "trust", "m": "TARGET"},
]


def test_the_matrix_lists_every_facilitator_command() -> None:
    assert {c["t"] for c in PARTICIPANT_REFUSED} == set(p.FACILITATOR_COMMAND_TYPES)


async def members_of(meeting: Meeting) -> tuple[Member, Member, Member]:
    host = await meeting.host()
    await host.send({"t": "start"})
    await host.event("phase", p="live")
    ann = await meeting.join("Ann")
    bob = await meeting.join("Bob")
    return host, ann, bob


async def test_participants_are_refused_every_control(
    live_server: LiveServer, http: httpx.AsyncClient
) -> None:
    meeting = await create_meeting(live_server, http, readings=[PREAMBLE])
    host, ann, bob = await members_of(meeting)
    room = live_server.app.state.rooms.hub.get(meeting.id)
    before = room.state
    for command in PARTICIPANT_REFUSED:
        frame = {k: (bob.me if v == "TARGET" else v) for k, v in command.items()}
        await ann.send(frame)
        error = await ann.event("error")
        assert error["code"] == "not_allowed", (frame, error)
    assert room.state.members == before.members
    assert (room.state.phase, room.state.locked, room.state.pinned) == ("live", False, None)


async def test_a_cofacilitator_runs_the_meeting_but_cannot_touch_the_host(
    live_server: LiveServer, http: httpx.AsyncClient
) -> None:
    meeting = await create_meeting(live_server, http, readings=[PREAMBLE])
    host, ann, bob = await members_of(meeting)
    await host.send({"t": "role", "m": ann.me, "r": "cofac"})
    await ann.event("role", m=ann.me, r="cofac")
    for frame in (
        {"t": "mute", "m": bob.me, "on": True},
        {"t": "lock", "on": True},
        {"t": "pin", "i": 0},
        {"t": "slow", "secs": 5},
    ):
        await ann.send(frame)
    await bob.event("slow", secs=5)
    for frame in (
        {"t": "mute", "m": host.me, "on": True},
        {"t": "remove", "m": host.me},
        {"t": "host", "m": bob.me},
        {"t": "role", "m": bob.me, "r": "member"},
    ):
        await ann.send(frame)
        assert (await ann.event("error"))["code"] == "not_allowed", frame
    await host.send({"t": "role", "m": ann.me, "r": "member"})
    await ann.event("role", m=ann.me, r="member")
    await ann.send({"t": "lock", "on": False})
    assert (await ann.event("error"))["code"] == "not_allowed"


async def test_a_facilitator_of_another_meeting_cannot_control_this_one(
    live_server: LiveServer, http: httpx.AsyncClient
) -> None:
    ours = await create_meeting(live_server, http, username="ours")
    theirs = await create_meeting(live_server, http, username="theirs")
    host, ann, bob = await members_of(ours)
    # Their session asks for a ticket to our meeting: they join as a plain member.
    intruder_meeting = Meeting(live_server, ours.id, theirs.token, http)
    intruder = await intruder_meeting.join(facilitator=True, name="Visitor")
    assert intruder.welcome["role"] == "member"
    await intruder.send({"t": "end"})
    assert (await intruder.event("error"))["code"] == "not_allowed"
    audit = await http.get(
        f"/api/meetings/{ours.id}/audit", headers={"authorization": f"Bearer {theirs.token}"}
    )
    assert audit.status_code in (403, 404)


async def test_a_co_facilitator_taken_off_the_team_stops_being_one_in_the_running_meeting(
    live_server: LiveServer, http: httpx.AsyncClient
) -> None:
    ours, cole_account, _host = await live_with_cole(live_server, http)
    cole = await Meeting(live_server, ours.id, cole_account.token, http).join(facilitator=True)
    assert cole.welcome["role"] == "cofac"
    ann = await ours.join("Ann")
    edited = await http.patch(
        f"/api/meetings/{ours.id}",
        json={"co_facilitators": []},
        headers={"authorization": f"Bearer {ours.token}"},
    )
    assert edited.status_code == 200, edited.text
    await cole.event("role", m=cole.me, r="member")
    await cole.send({"t": "mute", "m": ann.me, "on": True})
    assert (await cole.event("error"))["code"] == "not_allowed"


async def test_a_banned_co_facilitator_gets_no_ticket_back_from_any_browser(
    live_server: LiveServer, http: httpx.AsyncClient
) -> None:
    ours, cole_account, host = await live_with_cole(live_server, http)
    coles = Meeting(live_server, ours.id, cole_account.token, http)
    cole = await coles.join(facilitator=True, device="browser-one")
    assert cole.welcome["role"] == "cofac"
    await host.send({"t": "remove", "m": cole.me, "ban": True})
    await cole.closed()
    for body in ({"device": "browser-two"}, {}):
        again = await http.post(
            f"/api/meetings/{ours.id}/tickets",
            json=body,
            headers={"authorization": f"Bearer {cole_account.token}"},
        )
        assert again.status_code == 403 and again.json()["detail"]["code"] == "removed"


async def test_with_the_list_hidden_each_raised_hand_is_told_its_place_in_the_queue(
    live_server: LiveServer, http: httpx.AsyncClient
) -> None:
    meeting = await create_meeting(live_server, http, members_visible=False)
    host = await meeting.host()
    await host.send({"t": "start"})
    await host.event("phase", p="live")
    ann, bob, cy = [await meeting.join(name) for name in ("Ann", "Bob", "Cy")]
    for member, place in ((ann, 1), (bob, 2), (cy, 3)):
        await member.send({"t": "hand", "up": True})
        assert (await member.event("queue"))["pos"] == place
    await host.send({"t": "floor", "m": ann.me})
    assert (await bob.event("queue", pos=1))["pos"] == 1
    assert (await cy.event("queue", pos=2))["pos"] == 2
    await bob.send({"t": "hand", "up": False})
    assert (await cy.event("queue", pos=1))["pos"] == 1
    # Ann's own place is not sent again: her hand went down with the floor.
    assert [f["pos"] for f in ann.frames if f.get("t") == "queue"] == [1]
