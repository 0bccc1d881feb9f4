"""Who may be in a meeting and what they may do there: tickets, resume tokens, roles.

A room takeover needs one of: a ticket that is not yours (replayed, expired, forged, for
another meeting), a role the server did not give you (forged fields), or a command your role
does not allow. Each test tries one and ends with the meeting going on for its bystander.
Covered in tests/integration/test_rooms.py and not repeated: the plain replayed ticket (4002),
``role`` in a ticket request (422), and a few forged fields in ``say``.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import websockets
from itsdangerous import TimestampSigner, URLSafeSerializer, URLSafeTimedSerializer

from app.rooms import protocol as p
from tests.security.harness import Scene, goes_on, started
from tests.support.rooms import UNIT_S, Member

TICKET_SALT = "haven.ticket.v1"  # app.auth.tickets: what a forger would need besides the key
RESUME_SALT = "haven.resume.v1"


def facilitator_frames(me: str, other: str) -> dict[str, dict[str, Any]]:
    """One well-formed frame of every facilitator command, aimed at ``other`` or at ``me``."""
    return {
        "start": {"t": "start"},
        "end": {"t": "end"},
        "admit": {"t": "admit", "m": other},
        "deny": {"t": "deny", "m": other},
        "admit_all": {"t": "admit_all"},
        "mute": {"t": "mute", "m": other, "on": True},
        "mute_all": {"t": "mute_all", "on": True},
        "remove": {"t": "remove", "m": other, "ban": True},
        "to_lobby": {"t": "to_lobby", "m": other},
        "lobby_say": {"t": "lobby_say", "x": "the meeting moved to evil.example"},
        "lock": {"t": "lock", "on": True},
        "slow": {"t": "slow", "secs": 3600},
        "floor": {"t": "floor", "m": me},
        "floor_end": {"t": "floor_end"},
        "pin": {"t": "pin", "i": 0},
        "role": {"t": "role", "m": me, "r": "cofac"},
        "host": {"t": "host", "m": me},
        "review": {"t": "review", "h": "h1", "ok": True},
        "trust": {"t": "trust", "m": me},
    }


async def hello(member: Member, ticket: str) -> int | None:
    """Send ``hello`` with ``ticket``; the close code, or None if it was welcomed."""
    await member.send({"t": "hello", "v": 1, "ticket": ticket})
    try:
        frame = json.loads(await asyncio.wait_for(member.ws.recv(), 3 * UNIT_S))
    except websockets.ConnectionClosed as exc:
        return exc.rcvd.code if exc.rcvd else None
    assert frame["t"] == "welcome", frame
    member.welcome = frame
    return None


def forge_ticket(secret: str, meeting: str, *, role: str = "host", age_s: int = 0) -> str:
    class Backdated(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(time.time()) - age_s

    signer = URLSafeTimedSerializer(secret, salt=TICKET_SALT, signer=Backdated)
    body = {"mid": meeting, "m": "Forged01", "n": "Mallory", "r": role, "nonce": f"n{age_s}"}
    return signer.dumps({**body, "acc": None, "dev": None})


async def test_a_ticket_works_once_even_when_replayed_at_the_same_instant(scene: Scene) -> None:
    attacker = scene.from_new_address()
    ticket = await attacker.ticket("Eve")
    racers = [await attacker.connect() for _ in range(4)]
    codes = await asyncio.gather(*(hello(member, ticket) for member in racers))
    assert sorted(codes, key=str) == [4002, 4002, 4002, None], codes
    # Used and then left: still used.
    (winner,) = [m for m, code in zip(racers, codes, strict=True) if code is None]
    await winner.send({"t": "leave"})
    await winner.closed()
    assert await hello(await attacker.connect(), ticket) == 4002
    await scene.meeting_goes_on()


async def test_an_expired_or_forged_ticket_is_refused_4001(scene: Scene) -> None:
    secret = scene.server.settings.secret_key.get_secret_value()
    ttl = scene.server.settings.ticket_ttl_s
    attacker = scene.from_new_address()
    expired = forge_ticket(secret, scene.meeting.id, role="member", age_s=ttl + 5)
    wrong_key = forge_ticket("an attacker's own key, long enough: 0123456789", scene.meeting.id)
    real = await attacker.ticket("Eve")
    head, stamp, signature = real.rsplit(".", 2)
    other_body = URLSafeSerializer("x").dumps({"r": "host"}).split(".")[0]
    tampered = f"{other_body}.{stamp}.{signature}"  # a new body under the old signature
    for ticket in (expired, wrong_key, tampered, head, real + "x", "a" * 2048):
        assert await hello(await attacker.connect(), ticket) == 4001, ticket[:20]
    # A ticket longer than the protocol allows is a bad opening frame, not a crash.
    assert await hello(await attacker.connect(), "a" * 2049) == 4000
    assert not any(m.name == "Mallory" for m in scene.state().members.values())
    await scene.meeting_goes_on()


async def test_a_ticket_or_resume_token_of_one_meeting_acts_in_no_other(scene: Scene) -> None:
    other = await scene.other_meeting()
    other_host, other_bystander = await started(other)
    eve = await scene.from_new_address().join("Eve")
    # Her ticket carried this meeting; no frame can name another one.
    assert eve.welcome["room"]["id"] == scene.meeting.id
    for frame in (
        {"t": "block", "m": other_bystander.me},
        {"t": "report", "m": other_bystander.me, "why": "cross-meeting"},
        {"t": "react", "to": 1, "r": "heart", "meeting": other.id},
    ):
        await eve.send(frame)
        assert (await eve.event("error"))["code"] in {"no_such_member", "bad_frame"}
    # Her resume token brings her back here, and only here.
    eve.ws.transport.abort()
    back = await scene.meeting.resume(eve)
    assert back.welcome["room"]["id"] == scene.meeting.id and back.me == eve.me
    # A resume token naming the other meeting needs the server's key.
    secret = scene.server.settings.secret_key.get_secret_value()
    forged = URLSafeSerializer("not the key, but long enough 0123456", salt=RESUME_SALT).dumps(
        {"mid": other.id, "m": eve.me}
    )
    genuine_elsewhere = URLSafeSerializer(secret, salt=RESUME_SALT).dumps(
        {"mid": other.id, "m": eve.me}
    )
    for token in (forged, genuine_elsewhere):
        probe = await other.connect()
        await probe.send({"t": "resume", "v": 1, "token": token, "after": 0})
        assert await probe.closed() == 4003
    assert eve.me not in scene.haven.room_state(other.id).members
    await goes_on(scene.haven, other, other_host, other_bystander)
    await scene.meeting_goes_on()


async def test_forged_role_and_member_fields_grant_nothing(scene: Scene) -> None:
    attacker = scene.from_new_address()
    url = f"/api/meetings/{scene.meeting.id}/tickets"
    for extra in (
        {"role": "host"},
        {"r": "host"},
        {"member": scene.host.me},
        {"m": scene.host.me},
        {"account": "host"},
        {"meeting": "elsewhere"},
        {"is_facilitator": True},
    ):
        response = await attacker.http.post(url, json={"name": "Eve", **extra})
        assert response.status_code == 422, extra
    for extra in ({"role": "host"}, {"me": scene.host.me}, {"m": scene.host.me}, {"r": "cofac"}):
        member = await attacker.connect()
        ticket = await attacker.ticket(f"Eve{len(extra)}{next(iter(extra))}")
        await member.send({"t": "hello", "v": 1, "ticket": ticket, **extra})
        assert await member.closed() == 4000, extra
    eve = await attacker.join("Eve")
    assert eve.welcome["role"] == "member"
    for frame in (
        {"t": "say", "cid": "c", "x": "hi", "m": scene.host.me},
        {"t": "say", "cid": "c", "x": "hi", "n": "Robin"},
        {"t": "say", "cid": "c", "x": "hi", "r": "host"},
        {"t": "hand", "up": True, "m": scene.bystander.me},
        {"t": "leave", "m": scene.bystander.me},
        {"t": "report", "m": scene.bystander.me, "by": scene.host.me},
        {"t": "ping", "role": "host"},
        {"t": "react", "to": 1, "r": "heart", "s": 1},
    ):
        await eve.send(frame)
        assert (await eve.event("error"))["code"] == "bad_frame", frame
    assert scene.state().members[eve.me].role == "member"
    assert scene.bystander.me in scene.state().members
    await scene.meeting_goes_on()
    assert not [f for f in scene.bystander.frames if f.get("t") in {"role", "leave", "hand"}]


async def test_a_participant_sending_every_facilitator_command_changes_nothing(
    scene: Scene,
) -> None:
    frames = facilitator_frames("", "")
    assert set(frames) == p.FACILITATOR_COMMAND_TYPES, "a new facilitator command: add it here"
    attacker = scene.from_new_address()
    # One attacker per target: 19 commands each stay under the 20-per-10-s command limit, so
    # every refusal is the permission check, not the rate limit.
    for name, target in (("Eve", scene.bystander.me), ("Fred", scene.host.me)):
        member = await attacker.join(name)
        before = scene.state()
        for t, frame in facilitator_frames(member.me, target).items():
            await member.send(frame)
            error = await member.event("error")
            assert error["code"] == "not_allowed", (t, error)
        assert scene.state() == before, "a refused command changed the room"
    # In a lobby too: waiting to be admitted grants nothing either.
    lobby_meeting = await scene.other_meeting(lobby=True)
    lobby_host, lobby_bystander = await started(lobby_meeting)
    lurker = await lobby_meeting.join("Lurker")
    for frame in facilitator_frames(lurker.me, lobby_bystander.me).values():
        await lurker.send(frame)
        assert (await lurker.event("error"))["code"] == "not_allowed", frame
    assert scene.haven.room_state(lobby_meeting.id).members[lurker.me].lobby
    await goes_on(scene.haven, lobby_meeting, lobby_host, lobby_bystander)
    await scene.meeting_goes_on()


async def test_a_facilitator_of_another_meeting_cannot_control_this_one(scene: Scene) -> None:
    rival_token = await scene.haven.session_token("rival")
    rival = scene.from_new_address(token=rival_token)
    # Their session buys them nothing here: a member's ticket, with a name of their choosing.
    response = await rival.http.post(
        f"/api/meetings/{scene.meeting.id}/tickets",
        json={},
        headers={"authorization": f"Bearer {rival_token}"},
    )
    assert response.status_code == 422  # members must choose a name; no facilitator ticket
    intruder = await rival.join("Visitor", facilitator=True)
    assert intruder.welcome["role"] == "member"
    for frame in facilitator_frames(intruder.me, scene.bystander.me).values():
        await intruder.send(frame)
        assert (await intruder.event("error"))["code"] == "not_allowed", frame
    # Nor over HTTP: the meeting's definition and audit belong to its team.
    headers = {"authorization": f"Bearer {rival_token}"}
    base = f"/api/meetings/{scene.meeting.id}"
    checks = [
        await rival.http.patch(base, json={"title": "taken over"}, headers=headers),
        await rival.http.delete(base, headers=headers),
        await rival.http.get(f"{base}/audit", headers=headers),
        await rival.http.get(f"/api/facilitator/meetings/{scene.meeting.id}", headers=headers),
    ]
    assert [r.status_code for r in checks] == [403, 403, 403, 403]
    assert (await rival.http.get(base)).json()["title"] == "Abuse-case meeting"
    await scene.meeting_goes_on()


async def test_a_co_facilitator_cannot_take_the_room_from_its_host(scene: Scene) -> None:
    meeting = await scene.other_meeting(co_facilitators=["cohost"])
    host, bystander = await started(meeting)
    cohost_token = await scene.haven.session_token("cohost")
    cohost_view = scene.from_new_address(cohost_token, meeting)
    cohost = await cohost_view.host()
    assert cohost.welcome["role"] == "cofac"
    for frame in (
        {"t": "remove", "m": host.me, "ban": True},
        {"t": "mute", "m": host.me, "on": True},
        {"t": "to_lobby", "m": host.me},
        {"t": "role", "m": host.me, "r": "member"},
        {"t": "role", "m": host.me, "r": "cofac"},
        {"t": "host", "m": cohost.me},
    ):
        await cohost.send(frame)
        assert (await cohost.event("error"))["code"] in {"not_allowed", "no_such_member"}, frame
    roles = {m.id: m.role for m in scene.haven.room_state(meeting.id).members.values()}
    assert roles[host.me] == "host" and roles[cohost.me] == "cofac"
    await goes_on(scene.haven, meeting, host, bystander)
    await scene.meeting_goes_on()


async def test_a_removed_and_banned_member_never_reappears(scene: Scene) -> None:
    attacker = scene.from_new_address()
    device = "device-token-of-eve-0001"
    spare = await attacker.ticket("Eve2", device=device)  # taken before the ban
    eve = await attacker.join("Eve", device=device)
    await scene.host.send({"t": "remove", "m": eve.me, "ban": True})
    assert await eve.closed() == 4011
    await scene.bystander.event("leave", m=eve.me)
    # Not with her resume token, not with a ticket she kept, not with a new one.
    probe = await attacker.connect()
    await probe.send(
        {"t": "resume", "v": 1, "token": eve.welcome["token"], "after": 0, "epoch": ""}
    )
    assert await probe.closed() == 4003
    assert await hello(await attacker.connect(), spare) == 4011
    response = await attacker.http.post(
        f"/api/meetings/{scene.meeting.id}/tickets", json={"name": "Evelyn", "device": device}
    )
    assert response.status_code == 403
    state = scene.state()
    assert eve.me not in state.members and eve.me in state.banned
    await scene.meeting_goes_on()
    assert not [f for f in scene.bystander.frames if f.get("t") == "join" and f["n"] == "Eve2"]


async def test_the_lobby_cannot_eavesdrop_on_the_room(scene: Scene) -> None:
    meeting = await scene.other_meeting(lobby=True)
    host, bystander = await started(meeting)
    lurker = await scene.from_new_address(meeting=meeting).join("Lurker")
    assert set(lurker.welcome["room"]) <= {"id", "title", "phase", "count"}
    for frame in ({"t": "say", "cid": "l", "x": "let me in"}, {"t": "hand", "up": True}):
        await lurker.send(frame)
        assert (await lurker.event("error"))["code"] == "in_lobby"
    secret = await bystander.say("something said in the room")
    await host.event("msg", cid=secret)
    await host.send({"t": "lobby_say", "x": "we will let you in shortly"})
    await lurker.event("lobby_msg")
    assert not [f for f in lurker.frames if f.get("t") in {"msg", "join", "react"}]
    await goes_on(scene.haven, meeting, host, bystander)
    await scene.meeting_goes_on()


async def test_a_hidden_member_list_does_not_out_the_members(scene: Scene) -> None:
    meeting = await scene.other_meeting(members_visible=False)
    host, bystander = await started(meeting)
    newcomer = await scene.from_new_address(meeting=meeting).join("Quiet")
    room = newcomer.welcome["room"]
    names = {m["n"] for m in room.get("members", [])}
    assert "Bystander" not in names and room["count"] >= 2
    joined = await scene.from_new_address(meeting=meeting).join("Later")
    await host.event("join", m=joined.me)  # facilitators see everyone
    cid = await host.say("welcome all")
    await newcomer.event("msg", cid=cid)
    await goes_on(scene.haven, meeting, host, bystander)
    for member in (newcomer, bystander):
        others = [f for f in member.frames if f.get("t") == "join" and f["m"] != member.me]
        assert not others, others
    await scene.meeting_goes_on()


async def test_a_report_never_names_the_reporter(scene: Scene) -> None:
    eve = await scene.from_new_address().join("Eve")
    cid = await eve.say("something hurtful")
    target = (await scene.bystander.event("msg", cid=cid))["s"]
    await scene.bystander.send({"t": "report", "m": eve.me, "to": target, "why": "hurtful"})
    report = await scene.host.event("report", m=eve.me)
    assert scene.bystander.me not in json.dumps(report)
    assert set(report) == {"s", "at", "t", "m", "to", "why"}
    assert (await scene.bystander.event("notice"))["code"] == "report_received"
    await eve.send({"t": "ping"})
    await eve.event("pong")
    assert not [f for f in eve.frames if f.get("t") == "report"]
    await scene.meeting_goes_on()
