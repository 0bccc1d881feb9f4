"""Proof of attendance on a real server: a member asks in the room, someone else checks it
over HTTP with the code and the name, and nothing of it is kept."""

from __future__ import annotations

from datetime import datetime

import httpx

from tests.support.rooms import create_meeting
from tests.support.server import LiveServer


async def test_a_member_gets_a_slip_that_a_probation_officer_can_check(
    live_server: LiveServer, http: httpx.AsyncClient
) -> None:
    meeting = await create_meeting(live_server, http, title="Tuesday night 12-step")
    host = await meeting.started()
    ann = await meeting.join("Ann")

    await ann.send({"t": "slip", "name": "  Jane   Q. Public "})
    slip = await ann.event("slip")
    assert slip["name"] == "Jane Q. Public"
    assert slip["title"] == "Tuesday night 12-step"
    assert slip["until"] - slip["entered"] == slip["minutes"] * 60_000
    # Nothing in the room's log: nobody else learns a slip was asked for.
    marker = await host.say("Let's begin.")
    while (frame := await host.recv()).get("cid") != marker:
        assert frame.get("t") != "slip" and "Jane" not in str(frame), frame

    checked = await http.post(
        "/api/attendance/verify", json={"code": slip["code"].lower(), "name": "jane q. public"}
    )
    assert checked.status_code == 200, checked.text
    body = checked.json()
    assert body["title"] == "Tuesday night 12-step"
    assert meeting.id not in checked.text  # the way into the meeting stays off the paper
    assert body["minutes"] == slip["minutes"]
    entered = datetime.fromisoformat(body["entered"].replace("Z", "+00:00"))
    assert int(entered.timestamp() * 1000) == slip["entered"]

    wrong = await http.post(
        "/api/attendance/verify", json={"code": slip["code"], "name": "John Q. Public"}
    )
    assert wrong.status_code == 404 and wrong.json()["detail"]["code"] == "slip_not_valid"
    # Checking the right name again and again uses nothing up; only failures count per code.
    for _ in range(12):
        again = await http.post(
            "/api/attendance/verify", json={"code": slip["code"], "name": "Jane Q. Public"}
        )
        assert again.status_code == 200

    # Without a name of its own the slip carries the one used in the meeting.
    await ann.send({"t": "slip"})
    assert (await ann.event("slip"))["name"] == "Ann"


async def test_no_slip_from_the_waiting_room_nor_for_a_name_that_cannot_be_printed(
    live_server: LiveServer, http: httpx.AsyncClient
) -> None:
    meeting = await create_meeting(live_server, http, lobby=True)
    host = await meeting.started()
    lee = await meeting.join("Lee")
    await lee.send({"t": "slip", "name": "Lee Smith"})
    assert (await lee.event("error"))["code"] == "in_lobby"
    await host.send({"t": "admit", "m": lee.me})
    await lee.event("admit", m=lee.me)
    await lee.send({"t": "slip", "name": "Lee\u202eSmith"})
    assert (await lee.event("error"))["code"] == "invalid"
    await lee.send({"t": "slip", "name": "x" * 81})
    assert (await lee.event("error"))["code"] == "bad_frame"


async def test_checking_slips_is_throttled_per_address_and_per_code(
    live_server: LiveServer, http: httpx.AsyncClient
) -> None:
    # One code, many names (someone guessing the name behind a photo of a slip): 10 a day.
    code = "-".join(["AAAAA"] * 8)
    statuses = [
        (await http.post("/api/attendance/verify", json={"code": code.lower(), "name": f"n{i}"}))
        for i in range(11)
    ]
    assert [r.status_code for r in statuses[:10]] == [404] * 10
    assert statuses[10].status_code == 429 and int(statuses[10].headers["retry-after"]) >= 1
    # Many codes from one address: 30 a minute.
    statuses = [
        (await http.post("/api/attendance/verify", json={"code": f"{i:040d}", "name": "n"}))
        for i in range(20)
    ]
    assert [r.status_code for r in statuses[:19]] == [404] * 19
    assert statuses[19].status_code == 429
